// Command qgbench is the quic-go HTTP/3 side of the qfaas paper-figure benchmarks: the stack the
// QFaaS paper measured (quic-go), as a server and as a client that times one request at a time.
//
// Built from Debian's packages only (golang-go, golang-github-lucas-clemente-quic-go-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o qgbench .
//
// Usage:
//
//	qgbench server -listen ADDR -cert F -key F -ca F [-stdin-eof=false]
//	qgbench client -addr HOST:PORT -server-name NAME -ca F -cert F -key F [-token-store]
//
// The server prints "LISTENING <port>" once bound and serves until SIGTERM/SIGINT or, unless
// -stdin-eof=false, EOF on stdin. It answers every request with the header qgbench-early: 1 when
// the request stream's first bytes arrived in a 0-RTT packet, else 0.
//
// The client reads one command per line on stdin (get-0rtt, post, get-warm, get-1mib-0rtt,
// get-cold) and prints one line per command, "<elapsed µs> <used0rtt 0|1> <server early 0|1|->"
// or "error <message>", and exits 0 at EOF.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lucas-clemente/quic-go"
	"github.com/lucas-clemente/quic-go/http3"
	"github.com/lucas-clemente/quic-go/logging"
)

const usage = `usage:
  qgbench server -listen ADDR -cert FILE -key FILE -ca FILE [-stdin-eof=false]
  qgbench client -addr HOST:PORT -server-name NAME -ca FILE -cert FILE -key FILE [-token-store] [-timeout D]`

const (
	smallBody   = 100
	largeBody   = 1 << 20
	earlyHeader = "Qgbench-Early"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Println(usage)
		return
	default:
		err = usageError(fmt.Sprintf("unknown mode %q", os.Args[1]))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "qgbench: %v\n", err)
		if _, ok := err.(usageError); ok {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError string

func (e usageError) Error() string { return string(e) }

func loadPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no PEM certificate in %s", file)
	}
	return pool, nil
}

// ---------------------------------------------------------------- server

// earlyStreams records, per connection, the client streams whose first bytes came in 0-RTT
// packets. The HTTP/3 handler cannot see the QUIC connection or stream, so a tracer (which sees
// every packet's type before its frames are handled) fills this in and a stream wrapper hands it
// to the handler through the request context.
type earlyStreams struct {
	mu    sync.Mutex
	early map[quic.StreamID]bool
}

func (e *earlyStreams) was0RTT(id quic.StreamID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.early[id]
}

type earlyTracer struct {
	logging.NullTracer
	mu    sync.Mutex
	conns map[uint64]*earlyStreams
}

func (t *earlyTracer) TracerForConnection(ctx context.Context, p logging.Perspective, _ logging.ConnectionID) logging.ConnectionTracer {
	id, ok := ctx.Value(quic.ConnectionTracingKey).(uint64)
	if !ok || p != logging.PerspectiveServer {
		return nil
	}
	streams := &earlyStreams{early: map[quic.StreamID]bool{}}
	t.mu.Lock()
	t.conns[id] = streams
	t.mu.Unlock()
	return &earlyConnTracer{streams: streams, forget: func() {
		t.mu.Lock()
		delete(t.conns, id)
		t.mu.Unlock()
	}}
}

func (t *earlyTracer) lookup(conn quic.Connection) *earlyStreams {
	id, ok := conn.Context().Value(quic.ConnectionTracingKey).(uint64)
	if !ok {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[id]
}

type earlyConnTracer struct {
	logging.NullConnectionTracer
	streams *earlyStreams
	forget  func()
}

func (c *earlyConnTracer) ReceivedPacket(hdr *logging.ExtendedHeader, _ logging.ByteCount, frames []logging.Frame) {
	if logging.PacketTypeFromHeader(&hdr.Header) != logging.PacketType0RTT {
		return
	}
	for _, f := range frames {
		// Client-initiated bidirectional streams carry requests (IDs 0, 4, 8, ...).
		if sf, ok := f.(*logging.StreamFrame); ok && sf.Offset == 0 && sf.StreamID%4 == 0 {
			c.streams.mu.Lock()
			c.streams.early[sf.StreamID] = true
			c.streams.mu.Unlock()
		}
	}
}

func (c *earlyConnTracer) Close() { c.forget() }

type earlyKey struct{}

// earlyInfo travels in the request context: quic-go's http3 builds it from the stream's Context().
type earlyInfo struct {
	streams *earlyStreams
	id      quic.StreamID
}

type trackingListener struct {
	quic.EarlyListener
	tracer *earlyTracer
}

func (l trackingListener) Accept(ctx context.Context) (quic.EarlyConnection, error) {
	conn, err := l.EarlyListener.Accept(ctx)
	if err != nil {
		return nil, err
	}
	return trackingConn{EarlyConnection: conn, streams: l.tracer.lookup(conn)}, nil
}

type trackingConn struct {
	quic.EarlyConnection
	streams *earlyStreams
}

func (c trackingConn) AcceptStream(ctx context.Context) (quic.Stream, error) {
	str, err := c.EarlyConnection.AcceptStream(ctx)
	if err != nil || c.streams == nil {
		return str, err
	}
	return trackingStream{Stream: str, ctx: context.WithValue(str.Context(), earlyKey{}, earlyInfo{c.streams, str.StreamID()})}, nil
}

type trackingStream struct {
	quic.Stream
	ctx context.Context
}

func (s trackingStream) Context() context.Context { return s.ctx }

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "UDP address")
	certFile := fs.String("cert", "", "PEM certificate")
	keyFile := fs.String("key", "", "PEM private key (PKCS#8)")
	caFile := fs.String("ca", "", "PEM CA that client certificates must chain to")
	stdinEOF := fs.Bool("stdin-eof", true, "exit at EOF on stdin (false when stdin is /dev/null)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *certFile == "" || *keyFile == "" || *caFile == "" {
		return usageError("server needs -cert, -key and -ca")
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("load certificate: %w", err)
	}
	pool, err := loadPool(*caFile)
	if err != nil {
		return err
	}
	tlsConf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
	tracer := &earlyTracer{conns: map[uint64]*earlyStreams{}}
	quicConf := &quic.Config{
		Versions:           []quic.VersionNumber{quic.Version1},
		MaxIdleTimeout:     10 * time.Minute,
		MaxIncomingStreams: 1000,
		Tracer:             tracer,
	}

	addr, err := net.ResolveUDPAddr("udp", *listen)
	if err != nil {
		return err
	}
	udp, err := net.ListenUDP("udp", addr)
	if err != nil {
		return err
	}
	defer udp.Close()
	// ListenEarly is what accepts 0-RTT in quic-go 0.29 (there is no Allow0RTT option yet).
	ln, err := quic.ListenEarly(udp, http3.ConfigureTLSConfig(tlsConf), quicConf)
	if err != nil {
		return err
	}
	server := &http3.Server{Handler: http.HandlerFunc(handle), QuicConfig: quicConf}
	served := make(chan error, 1)
	go func() { served <- server.ServeListener(trackingListener{EarlyListener: ln, tracer: tracer}) }()
	fmt.Printf("LISTENING %d\n", udp.LocalAddr().(*net.UDPAddr).Port)

	stop := make(chan struct{}, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sigs; stop <- struct{}{} }()
	if *stdinEOF {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop <- struct{}{} }()
	}
	select {
	case <-stop:
		_ = server.Close()
		return nil
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
}

var (
	smallPayload = bytes.Repeat([]byte{'a'}, smallBody)
	largePayload = bytes.Repeat([]byte{'a'}, largeBody)
)

func handle(w http.ResponseWriter, r *http.Request) {
	early := "0"
	if info, ok := r.Context().Value(earlyKey{}).(earlyInfo); ok && info.streams.was0RTT(info.id) {
		early = "1"
	}
	w.Header().Set(earlyHeader, early)
	var body []byte
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		body = smallPayload
	case r.Method == http.MethodGet && r.URL.Path == "/1mib":
		body = largePayload
	case r.Method == http.MethodPost && r.URL.Path == "/":
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body = smallPayload
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// ---------------------------------------------------------------- client

// notifyingCache signals every ticket stored, so a connection can be kept open until its
// replacement ticket arrived (qtls deletes a ticket once it was used for 0-RTT).
type notifyingCache struct {
	tls.ClientSessionCache
	stored chan struct{}
}

func (c *notifyingCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	if cs != nil {
		select {
		case c.stored <- struct{}{}:
		default:
		}
	}
}

func (c *notifyingCache) drain() {
	select {
	case <-c.stored:
	default:
	}
}

type client struct {
	url      string
	resumed  *tls.Config // shares one session cache
	cold     *tls.Config // no session cache: always a full handshake
	cache    *notifyingCache
	quicConf *quic.Config
	coldQuic *quic.Config
	timeout  time.Duration
	warm     *http3.RoundTripper
	warmConn quic.EarlyConnection
	postBody []byte
}

type result struct {
	elapsed     time.Duration
	used0RTT    bool
	serverEarly string
}

func runClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	addr := fs.String("addr", "", "server HOST:PORT")
	serverName := fs.String("server-name", "", "TLS server name")
	caFile := fs.String("ca", "", "PEM CA that the server certificate must chain to")
	certFile := fs.String("cert", "", "PEM client certificate")
	keyFile := fs.String("key", "", "PEM client key (PKCS#8)")
	tokenStore := fs.Bool("token-store", false, "keep NEW_TOKEN tokens (skips the server's amplification limit on resumed connections)")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline per command")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *addr == "" || *serverName == "" || *caFile == "" || *certFile == "" || *keyFile == "" {
		return usageError("client needs -addr, -server-name, -ca, -cert and -key")
	}
	pool, err := loadPool(*caFile)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("load certificate: %w", err)
	}
	cache := &notifyingCache{ClientSessionCache: tls.NewLRUClientSessionCache(16), stored: make(chan struct{}, 1)}
	cold := &tls.Config{RootCAs: pool, ServerName: *serverName, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	resumed := cold.Clone()
	resumed.ClientSessionCache = cache
	coldQuic := &quic.Config{
		Versions:             []quic.VersionNumber{quic.Version1},
		HandshakeIdleTimeout: 10 * time.Second,
		MaxIdleTimeout:       10 * time.Minute,
		KeepAlivePeriod:      10 * time.Second,
	}
	quicConf := coldQuic.Clone()
	if *tokenStore {
		quicConf.TokenStore = quic.NewLRUTokenStore(4, 4)
	}
	c := &client{
		url:      "https://" + *addr + "/",
		resumed:  resumed,
		cold:     cold,
		cache:    cache,
		quicConf: quicConf,
		coldQuic: coldQuic,
		timeout:  *timeout,
		postBody: bytes.Repeat([]byte{'b'}, smallBody),
	}
	defer c.closeWarm()

	out := bufio.NewWriter(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd := strings.TrimSpace(in.Text())
		if cmd == "" {
			continue
		}
		res, err := c.run(cmd)
		if err != nil {
			fmt.Fprintf(out, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintf(out, "%d %s %s\n", res.elapsed.Microseconds(), flag01(res.used0RTT), res.serverEarly)
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return in.Err()
}

func flag01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (c *client) run(cmd string) (result, error) {
	switch cmd {
	case "get-0rtt":
		return c.fresh(http3.MethodGet0RTT, "", smallBody, true)
	case "get-1mib-0rtt":
		return c.fresh(http3.MethodGet0RTT, "1mib", largeBody, true)
	case "post":
		return c.fresh(http.MethodPost, "", smallBody, true)
	case "get-cold":
		return c.fresh(http.MethodGet, "", smallBody, false)
	case "get-warm":
		return c.warmGet()
	default:
		return result{}, fmt.Errorf("unknown command %q", cmd)
	}
}

// dialer returns a RoundTripper Dial hook that keeps the connection it made. Only 0-RTT requests
// dial early: otherwise quic-go would still send its SETTINGS in 0-RTT and Used0RTT would be set.
func dialer(early bool, keep *quic.EarlyConnection) func(context.Context, string, *tls.Config, *quic.Config) (quic.EarlyConnection, error) {
	return func(ctx context.Context, addr string, tlsConf *tls.Config, conf *quic.Config) (quic.EarlyConnection, error) {
		if early {
			conn, err := quic.DialAddrEarlyContext(ctx, addr, tlsConf, conf)
			*keep = conn
			return conn, err
		}
		conn, err := quic.DialAddrContext(ctx, addr, tlsConf, conf)
		if err != nil {
			return nil, err
		}
		ec, ok := conn.(quic.EarlyConnection)
		if !ok {
			conn.CloseWithError(0, "")
			return nil, errors.New("quic-go connection does not implement EarlyConnection")
		}
		*keep = ec
		return ec, nil
	}
}

// request sends one request on rt and reads the whole body; the time covers dial to last byte.
func (c *client) request(rt *http3.RoundTripper, method, path string, want int) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader(c.postBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, body)
	if err != nil {
		return 0, "", err
	}
	start := time.Now()
	res, err := rt.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	n, err := io.Copy(io.Discard, res.Body)
	elapsed := time.Since(start)
	res.Body.Close()
	if err != nil {
		return 0, "", fmt.Errorf("read body: %w", err)
	}
	if res.StatusCode != http.StatusOK || n != int64(want) {
		return 0, "", fmt.Errorf("status %d, %d bytes (want 200, %d bytes)", res.StatusCode, n, want)
	}
	early := res.Header.Get(earlyHeader)
	if early != "0" && early != "1" {
		early = "-"
	}
	return elapsed, early, nil
}

// fresh runs one request on a new connection and closes it.
func (c *client) fresh(method, path string, want int, resume bool) (result, error) {
	tlsConf, quicConf := c.resumed, c.quicConf
	if !resume {
		tlsConf, quicConf = c.cold, c.coldQuic
	}
	var conn quic.EarlyConnection
	rt := &http3.RoundTripper{
		TLSClientConfig:    tlsConf,
		QuicConfig:         quicConf,
		DisableCompression: true,
		Dial:               dialer(method == http3.MethodGet0RTT, &conn),
	}
	defer rt.Close()
	if resume {
		c.cache.drain()
	}
	elapsed, early, err := c.request(rt, method, path, want)
	if errors.Is(err, quic.Err0RTTRejected) && method == http3.MethodGet0RTT {
		// Rejected early data is lost: repeat in 1-RTT, timed as one request, reported as not 0-RTT.
		rt.Close()
		retry := &http3.RoundTripper{TLSClientConfig: tlsConf, QuicConfig: quicConf, DisableCompression: true, Dial: dialer(false, &conn)}
		defer retry.Close()
		var more time.Duration
		more, early, err = c.request(retry, http.MethodGet, path, want)
		elapsed += more
	}
	if err != nil {
		return result{}, err
	}
	state := conn.ConnectionState().TLS // after the handshake (it waits for it)
	if !resume && state.DidResume {
		return result{}, errors.New("a cold connection resumed a session")
	}
	if resume {
		// Keep the connection until the server's new ticket is in, so the next one can resume.
		select {
		case <-c.cache.stored:
		case <-time.After(2 * time.Second):
		}
	}
	return result{elapsed: elapsed, used0RTT: state.Used0RTT, serverEarly: early}, nil
}

func (c *client) warmGet() (result, error) {
	if c.warm == nil {
		// Its own config: the long-lived connection does not touch the resumed commands' tickets.
		c.warm = &http3.RoundTripper{TLSClientConfig: c.cold, QuicConfig: c.coldQuic, DisableCompression: true, Dial: dialer(false, &c.warmConn)}
	}
	elapsed, early, err := c.request(c.warm, http.MethodGet, "", smallBody)
	if err != nil {
		// quic-go's http3 client never redials a dead connection: start over next time.
		c.closeWarm()
		return result{}, err
	}
	return result{elapsed: elapsed, used0RTT: c.warmConn.ConnectionState().TLS.Used0RTT, serverEarly: early}, nil
}

func (c *client) closeWarm() {
	if c.warm != nil {
		_ = c.warm.Close()
		c.warm = nil
		c.warmConn = nil
	}
}
