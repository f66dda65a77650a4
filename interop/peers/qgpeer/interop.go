// What the interop matrix (interop/, npm run interop) needs from qgpeer beyond
// the HTTP/3 tests' routes: a server that serves files and can send Retry,
// restrict itself to ChaCha20-Poly1305, initiate key updates and log its TLS
// secrets; a client that downloads a list of paths, resumes a session on a
// second connection (in 0-RTT if asked) and reports what each connection did.

package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "unsafe" // go:linkname

	"github.com/lucas-clemente/quic-go"
	"github.com/lucas-clemente/quic-go/http3"
	"github.com/lucas-clemente/quic-go/logging"
)

// keyUpdateInterval is quic-go's own knob for key updates: an endpoint
// initiates one after sending or receiving this many packets with the current
// keys. quic-go 0.29 has no public option for it; its interop client sets the
// same variable (handshake.KeyUpdateInterval = 100) through the internal package,
// which a program outside the quic-go tree cannot import, hence the linkname.
//
//go:linkname keyUpdateInterval github.com/lucas-clemente/quic-go/internal/handshake.KeyUpdateInterval
var keyUpdateInterval uint64

// ---------------------------------------------------------------- server

type interopServerFlags struct {
	www              string
	retry            bool
	chacha20         bool
	keyUpdatePackets uint64
	keyLog           string
	maxStreams       int64
	idleTimeout      time.Duration
	trace            bool
}

func (f *interopServerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.www, "www", "", "serve GET /<name> from the file <name> in this directory")
	fs.BoolVar(&f.retry, "retry", false, "send a Retry to every new connection (RequireAddressValidation)")
	fs.BoolVar(&f.chacha20, "chacha20", false, "offer TLS_CHACHA20_POLY1305_SHA256 only")
	fs.Uint64Var(&f.keyUpdatePackets, "key-update-packets", 0, "initiate a key update every N packets (0: quic-go's default, 100000)")
	fs.StringVar(&f.keyLog, "keylog", "", "append TLS secrets to this file (NSS key log format)")
	fs.Int64Var(&f.maxStreams, "max-streams", 0, "bidirectional streams a client may open at once (0: 1000)")
	fs.DurationVar(&f.idleTimeout, "idle-timeout", 0, "QUIC idle timeout (0: 30s)")
	fs.BoolVar(&f.trace, "trace", false, "print connection closes and key updates to stderr")
}

// apply sets the flags' effect on the TLS and QUIC configs; the returned func closes the key log.
func (f *interopServerFlags) apply(tlsConf *tls.Config, quicConf *quic.Config) (func(), error) {
	if f.retry {
		quicConf.RequireAddressValidation = func(net.Addr) bool { return true }
	}
	if f.maxStreams > 0 {
		quicConf.MaxIncomingStreams = f.maxStreams
	}
	if f.idleTimeout > 0 {
		quicConf.MaxIdleTimeout = f.idleTimeout
	}
	if f.trace {
		quicConf.Tracer = stderrTracer{perspective: "server"}
	}
	return applyCommon(tlsConf, f.chacha20, f.keyUpdatePackets, f.keyLog)
}

func applyCommon(tlsConf *tls.Config, chacha20 bool, keyUpdatePackets uint64, keyLog string) (func(), error) {
	if chacha20 {
		// qtls (quic-go's TLS) honours CipherSuites for TLS 1.3, unlike crypto/tls.
		tlsConf.CipherSuites = []uint16{tls.TLS_CHACHA20_POLY1305_SHA256}
	}
	if keyUpdatePackets > 0 {
		keyUpdateInterval = keyUpdatePackets
	}
	if keyLog == "" {
		return func() {}, nil
	}
	file, err := os.OpenFile(keyLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open key log: %w", err)
	}
	tlsConf.KeyLogWriter = file
	return func() { _ = file.Close() }, nil
}

var fileName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)

// serveFile answers GET /<name> with the file <name> from dir (no subdirectories).
func serveFile(w http.ResponseWriter, dir, urlPath string) {
	name := strings.TrimPrefix(urlPath, "/")
	if !fileName.MatchString(name) {
		writeText(w, http.StatusNotFound, "not found")
		return
	}
	file, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		writeText(w, http.StatusNotFound, "not found")
		return
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeText(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("content-type", "application/octet-stream")
	w.Header().Set("content-length", strconv.FormatInt(info.Size(), 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, file)
}

// ---------------------------------------------------------------- client

type downloadFlags struct {
	dir              string
	resumption       string
	chacha20         bool
	keyUpdatePackets uint64
	keyLog           string
	concurrency      int
	trace            bool
}

func (f *downloadFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "download", "", "download: write each body to DIR/<basename of its path>")
	fs.StringVar(&f.resumption, "resumption", "none", "download: none; resume (a second connection resumes the session); early-data (and sends its requests in 0-RTT)")
	fs.BoolVar(&f.chacha20, "chacha20", false, "download: offer TLS_CHACHA20_POLY1305_SHA256 only")
	fs.Uint64Var(&f.keyUpdatePackets, "key-update-packets", 0, "download: initiate a key update every N packets (0: quic-go's default, 100000)")
	fs.StringVar(&f.keyLog, "keylog", "", "download: append TLS secrets to this file (NSS key log format)")
	fs.IntVar(&f.concurrency, "concurrency", 100, "download: requests in flight at most (streams beyond the server's limit wait for it)")
	fs.BoolVar(&f.trace, "trace", false, "download: print connection closes and key updates to stderr")
}

// connectionReport is what the download test prints per connection.
type connectionReport struct {
	Resumed           bool  `json:"resumed"`
	EarlyDataAccepted bool  `json:"early_data_accepted"`
	Requests          int   `json:"requests"`
	Bytes             int64 `json:"bytes"`
}

type downloadResult struct {
	Connections []connectionReport `json:"connections"`
}

func runDownload(cf clientFlags, dl downloadFlags, paths []string, tlsConf *tls.Config) error {
	if dl.dir == "" || len(paths) == 0 {
		return usageError{"-test download needs -download DIR and at least one PATH"}
	}
	if dl.concurrency < 1 {
		return usageError{"-concurrency must be >= 1"}
	}
	runs := 1
	switch dl.resumption {
	case "none":
	case "resume", "early-data":
		runs = 2
	default:
		return usageError{fmt.Sprintf("unknown -resumption %q", dl.resumption)}
	}
	closeKeyLog, err := applyCommon(tlsConf, dl.chacha20, dl.keyUpdatePackets, dl.keyLog)
	if err != nil {
		return err
	}
	defer closeKeyLog()
	var ticket <-chan struct{}
	if runs == 2 {
		tlsConf.ClientSessionCache, ticket = newNotifyingSessionCache(tls.NewLRUClientSessionCache(4))
	}
	// quic-go gives a handshake twice HandshakeIdleTimeout: let it use the whole -timeout.
	quicConf := &quic.Config{
		Versions:             []quic.VersionNumber{quic.Version1},
		HandshakeIdleTimeout: cf.timeout / 2,
		MaxIdleTimeout:       30 * time.Second,
	}
	if dl.trace {
		quicConf.Tracer = stderrTracer{perspective: "client"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cf.timeout)
	defer cancel()
	base := strings.TrimRight(cf.url, "/")
	var result downloadResult
	for run := 0; run < runs; run++ {
		report, err := downloadOnce(ctx, base, tlsConf, quicConf, paths, dl, run == 1 && dl.resumption == "early-data")
		if err != nil {
			return fmt.Errorf("connection %d of %d: %w", run+1, runs, err)
		}
		result.Connections = append(result.Connections, report)
		if run == 0 && runs == 2 {
			select {
			case <-ticket:
			case <-ctx.Done():
				return errors.New("no session ticket arrived on the first connection")
			}
		}
	}
	line, err := json.Marshal(result)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", line)
	return err
}

// downloadOnce fetches every path on one new connection (in 0-RTT when early) and closes it.
func downloadOnce(ctx context.Context, base string, tlsConf *tls.Config, quicConf *quic.Config, paths []string, dl downloadFlags, early bool) (connectionReport, error) {
	var mu sync.Mutex
	var conns []quic.EarlyConnection
	rt := &http3.RoundTripper{
		TLSClientConfig:    tlsConf,
		QuicConfig:         quicConf,
		DisableCompression: true,
		Dial: func(ctx context.Context, addr string, tlsCfg *tls.Config, cfg *quic.Config) (quic.EarlyConnection, error) {
			conn, err := quic.DialAddrEarlyContext(ctx, addr, tlsCfg, cfg)
			if err == nil {
				mu.Lock()
				conns = append(conns, conn)
				mu.Unlock()
			}
			return conn, err
		},
	}
	defer rt.Close()
	method := http.MethodGet
	if early {
		method = http3.MethodGet0RTT
	}
	var total int64
	errs := make(chan error, len(paths))
	slots := make(chan struct{}, dl.concurrency)
	var wg sync.WaitGroup
	for _, p := range paths {
		p := p
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			n, err := downloadPath(ctx, rt, method, base+p, filepath.Join(dl.dir, path.Base(p)))
			if err != nil {
				errs <- fmt.Errorf("GET %s: %w", p, err)
				return
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
		failed++
	}
	if first != nil {
		return connectionReport{}, fmt.Errorf("%d of %d requests failed; first: %w", failed, len(paths), first)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 {
		return connectionReport{}, fmt.Errorf("expected one connection, dialed %d", len(conns))
	}
	state := conns[0].ConnectionState().TLS
	return connectionReport{Resumed: state.DidResume, EarlyDataAccepted: state.Used0RTT, Requests: len(paths), Bytes: total}, nil
}

func downloadPath(ctx context.Context, rt *http3.RoundTripper, method, url, file string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	res, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", res.StatusCode)
	}
	out, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, res.Body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// notifyingSessionCache signals each session ticket it stores.
type notifyingSessionCache struct {
	tls.ClientSessionCache
	put chan<- struct{}
}

func newNotifyingSessionCache(c tls.ClientSessionCache) (tls.ClientSessionCache, <-chan struct{}) {
	put := make(chan struct{}, 16)
	return &notifyingSessionCache{ClientSessionCache: c, put: put}, put
}

func (c *notifyingSessionCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	select {
	case c.put <- struct{}{}:
	default:
	}
}

// ---------------------------------------------------------------- tracing

// stderrTracer prints what a failure's reason needs: how connections end and key updates.
type stderrTracer struct {
	logging.NullTracer
	perspective string
}

func (t stderrTracer) TracerForConnection(context.Context, logging.Perspective, logging.ConnectionID) logging.ConnectionTracer {
	return &stderrConnectionTracer{perspective: t.perspective}
}

type stderrConnectionTracer struct {
	logging.NullConnectionTracer
	perspective string
}

func (t *stderrConnectionTracer) ClosedConnection(err error) {
	fmt.Fprintf(os.Stderr, "qgpeer %s trace: connection closed: %v\n", t.perspective, err)
}

func (t *stderrConnectionTracer) UpdatedKey(generation logging.KeyPhase, remote bool) {
	by := "us"
	if remote {
		by = "the peer"
	}
	fmt.Fprintf(os.Stderr, "qgpeer %s trace: 1-RTT keys updated to generation %d (initiated by %s)\n", t.perspective, generation, by)
}

func (t *stderrConnectionTracer) ReceivedRetry(*logging.Header) {
	fmt.Fprintf(os.Stderr, "qgpeer %s trace: received a Retry\n", t.perspective)
}
