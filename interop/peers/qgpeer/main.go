// Command qgpeer is a small HTTP/3 peer built on quic-go. The interop tests of
// qfaas run it as a server (to be reached by the project's HTTP/3 client) or as
// a client (to reach the project's HTTP/3 server).
//
// It is built from Debian's packages only, without Go modules:
//
//	apt-get install golang-go golang-github-lucas-clemente-quic-go-dev
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o qgpeer .
//
// Usage:
//
//	qgpeer server -listen 127.0.0.1:0 -cert server.pem -key server.key [-ca ca.pem -client-auth]
//	              [-www DIR] [-retry] [-chacha20] [-key-update-packets N] [-keylog FILE] [-max-streams N] [-idle-timeout D] [-trace]
//	qgpeer client -url https://127.0.0.1:PORT -ca ca.pem -server-name NAME [-cert c.pem -key c.key] -test NAME [...]
//	qgpeer client -url ... -test download -download DIR [-resumption resume|early-data] [-chacha20] [-key-update-packets N] [-keylog FILE] PATH...
//
// The server prints one line "LISTENING <port>" once its UDP socket is bound,
// then serves until stdin reaches EOF or it gets SIGTERM/SIGINT, and exits 0.
// The client runs one scenario and prints one JSON object line.
//
// The options after -client-auth and the download test serve the interop matrix
// (interop/, npm run interop); see interop.go.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
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
)

const usage = `usage:
  qgpeer server -listen ADDR -cert FILE -key FILE [-ca FILE] [-client-auth]
                [-www DIR] [-retry] [-chacha20] [-key-update-packets N] [-keylog FILE]
                [-max-streams N] [-idle-timeout D] [-trace]
  qgpeer client -url https://HOST:PORT -ca FILE [-server-name NAME] [-cert FILE -key FILE]
                -test get|post-sha|concurrent|headers [-path P] [-size N] [-n N] [-timeout D]
  qgpeer client -url https://HOST:PORT -ca FILE [-server-name NAME] [-cert FILE -key FILE]
                -test download -download DIR [-resumption none|resume|early-data] [-chacha20]
                [-key-update-packets N] [-keylog FILE] [-concurrency N] [-timeout D] [-trace] PATH...`

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
		fmt.Fprintln(os.Stdout, usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "qgpeer: unknown mode %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "qgpeer: %v\n%s\n", err, usage)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "qgpeer %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// usageError marks bad command lines (exit 2 rather than 1).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// loadCertPool reads a PEM bundle and fails if it holds no certificate.
func loadCertPool(file string) (*x509.CertPool, error) {
	pemBytes, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("no PEM certificate found in %s", file)
	}
	return pool, nil
}

// ---------------------------------------------------------------- server

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "UDP address to listen on")
	certFile := fs.String("cert", "", "PEM server certificate (chain)")
	keyFile := fs.String("key", "", "PEM private key (PKCS#8)")
	caFile := fs.String("ca", "", "PEM CA used to verify client certificates")
	clientAuth := fs.Bool("client-auth", false, "require and verify a client certificate issued by -ca")
	var ix interopServerFlags
	ix.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *certFile == "" || *keyFile == "" {
		return usageError{"server needs -cert and -key"}
	}
	if *clientAuth && *caFile == "" {
		return usageError{"-client-auth needs -ca"}
	}

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("load server certificate: %w", err)
	}
	tlsConf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		// NextProtos is filled in by http3 (ConfigureTLSConfig sets "h3" for QUIC v1).
	}
	if *caFile != "" {
		pool, err := loadCertPool(*caFile)
		if err != nil {
			return err
		}
		tlsConf.ClientCAs = pool
		if *clientAuth {
			tlsConf.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	quicConf := &quic.Config{
		Versions:           []quic.VersionNumber{quic.Version1},
		MaxIncomingStreams: 1000,
		MaxIdleTimeout:     30 * time.Second,
	}
	closeKeyLog, err := ix.apply(tlsConf, quicConf)
	if err != nil {
		return err
	}
	defer closeKeyLog()

	udpAddr, err := net.ResolveUDPAddr("udp", *listen)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", *listen, err)
	}
	udpConn, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *listen, err)
	}
	port := udpConn.LocalAddr().(*net.UDPAddr).Port

	server := &http3.Server{
		Handler:    newMux(ix.www),
		TLSConfig:  tlsConf,
		QuicConfig: quicConf,
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(udpConn) }()

	// The socket is bound: datagrams that arrive before Serve reads them wait in
	// the kernel's buffer, so announcing the port now is safe.
	fmt.Fprintf(os.Stdout, "LISTENING %d\n", port)

	stop := make(chan string, 2)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { s := <-sigs; stop <- s.String() }()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop <- "stdin closed"
	}()

	select {
	case reason := <-stop:
		fmt.Fprintf(os.Stderr, "qgpeer server: stopping (%s)\n", reason)
		_ = server.Close()
		_ = udpConn.Close()
		return nil
	case err := <-serveErr:
		_ = udpConn.Close()
		return fmt.Errorf("serve: %w", err)
	}
}

func newMux(www string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		switch {
		case path == "/hello" && r.Method == http.MethodGet:
			w.Header().Set("x-peer", "quic-go")
			writeText(w, http.StatusOK, "hello from quic-go")
		case path == "/sha256" && r.Method == http.MethodPost:
			handleSHA256(w, r)
		case path == "/bytes" && r.Method == http.MethodGet:
			handleBytes(w, r)
		case strings.HasPrefix(path, "/status/") && r.Method == http.MethodGet:
			handleStatus(w, strings.TrimPrefix(path, "/status/"))
		case path == "/headers" && r.Method == http.MethodGet:
			handleHeaders(w, r)
		case www != "" && r.Method == http.MethodGet:
			serveFile(w, www, path)
		default:
			writeText(w, http.StatusNotFound, "not found")
		}
	})
}

func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	if h.Get("content-type") == "" {
		h.Set("content-type", "text/plain; charset=utf-8")
	}
	h.Set("content-length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func handleSHA256(w http.ResponseWriter, r *http.Request) {
	hash := sha256.New()
	n, err := io.Copy(hash, r.Body)
	if err != nil {
		writeText(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	w.Header().Set("x-body-length", strconv.FormatInt(n, 10))
	writeText(w, http.StatusOK, hex.EncodeToString(hash.Sum(nil)))
}

const maxBytes = 1 << 30

func handleBytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	if err != nil || n < 0 || n > maxBytes {
		writeText(w, http.StatusBadRequest, fmt.Sprintf("n must be an integer in [0, %d]", maxBytes))
		return
	}
	w.Header().Set("content-type", "application/octet-stream")
	w.Header().Set("content-length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	// A chunk of whole 251-byte periods, so every chunk starts at phase 0.
	chunk := make([]byte, 251*64)
	for i := range chunk {
		chunk[i] = byte(i % 251)
	}
	for left := n; left > 0; {
		c := chunk
		if int64(len(c)) > left {
			c = c[:left]
		}
		if _, err := w.Write(c); err != nil {
			return
		}
		left -= int64(len(c))
	}
}

func handleStatus(w http.ResponseWriter, codeStr string) {
	code, err := strconv.Atoi(codeStr)
	if err != nil || code < 200 || code > 599 {
		writeText(w, http.StatusBadRequest, "status code must be in [200, 599]")
		return
	}
	w.Header().Set("x-status-test", "yes")
	body := "status " + strconv.Itoa(code)
	if code == http.StatusNoContent || code == http.StatusNotModified {
		// These statuses carry no body.
		w.WriteHeader(code)
		return
	}
	writeText(w, code, body)
}

func handleHeaders(w http.ResponseWriter, r *http.Request) {
	out := make(map[string]string, len(r.Header)+4)
	for name, values := range r.Header {
		if len(values) > 0 {
			out[strings.ToLower(name)] = values[0]
		}
	}
	// http3 moves these out of r.Header; put them back.
	if r.ContentLength > 0 {
		out["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	out[":method"] = r.Method
	out[":path"] = r.RequestURI
	out[":authority"] = r.Host
	body, err := json.Marshal(out)
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("content-type", "application/json")
	writeText(w, http.StatusOK, string(body))
}

// ---------------------------------------------------------------- client

type clientFlags struct {
	url        string
	caFile     string
	serverName string
	certFile   string
	keyFile    string
	test       string
	path       string
	size       int64
	n          int
	timeout    time.Duration
}

func runClient(args []string) error {
	var cf clientFlags
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.StringVar(&cf.url, "url", "", "base URL, https://HOST:PORT")
	fs.StringVar(&cf.caFile, "ca", "", "PEM CA that the server certificate must chain to")
	fs.StringVar(&cf.serverName, "server-name", "", "TLS server name to send and verify (default: the URL's host)")
	fs.StringVar(&cf.certFile, "cert", "", "PEM client certificate (mutual TLS)")
	fs.StringVar(&cf.keyFile, "key", "", "PEM client key (PKCS#8)")
	fs.StringVar(&cf.test, "test", "get", "scenario: get, post-sha, concurrent, headers")
	fs.StringVar(&cf.path, "path", "", "request path (default depends on -test)")
	fs.Int64Var(&cf.size, "size", 1048576, "post-sha: bytes to send")
	fs.IntVar(&cf.n, "n", 50, "concurrent: number of requests")
	fs.DurationVar(&cf.timeout, "timeout", 25*time.Second, "overall deadline for the scenario")
	var dl downloadFlags
	dl.register(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if cf.url == "" || cf.caFile == "" {
		return usageError{"client needs -url and -ca"}
	}
	if (cf.certFile == "") != (cf.keyFile == "") {
		return usageError{"-cert and -key go together"}
	}
	if cf.size < 0 || cf.n < 1 {
		return usageError{"-size must be >= 0 and -n >= 1"}
	}
	if cf.path == "" {
		if cf.test == "post-sha" {
			cf.path = "/sha256"
		} else {
			cf.path = "/hello"
		}
	}
	base := strings.TrimRight(cf.url, "/")
	if !strings.HasPrefix(cf.path, "/") {
		cf.path = "/" + cf.path
	}

	pool, err := loadCertPool(cf.caFile)
	if err != nil {
		return err
	}
	tlsConf := &tls.Config{
		RootCAs:    pool,
		ServerName: cf.serverName,
		MinVersion: tls.VersionTLS13,
		// NextProtos is replaced by http3 with "h3" (from the single QUIC version below).
	}
	if cf.certFile != "" {
		cert, err := tls.LoadX509KeyPair(cf.certFile, cf.keyFile)
		if err != nil {
			return fmt.Errorf("load client certificate: %w", err)
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	if cf.test == "download" {
		return runDownload(cf, dl, fs.Args(), tlsConf)
	}
	rt := &http3.RoundTripper{
		TLSClientConfig:    tlsConf,
		DisableCompression: true,
		QuicConfig: &quic.Config{
			Versions:             []quic.VersionNumber{quic.Version1},
			HandshakeIdleTimeout: 10 * time.Second,
			MaxIdleTimeout:       30 * time.Second,
		},
	}
	defer rt.Close()
	client := &http.Client{Transport: rt}

	ctx, cancel := context.WithTimeout(context.Background(), cf.timeout)
	defer cancel()

	var result interface{}
	switch cf.test {
	case "get":
		result, err = doSimple(ctx, client, http.MethodGet, base+cf.path, nil, nil)
	case "headers":
		hdr := http.Header{}
		hdr.Set("x-test-one", "1")
		hdr.Set("x-test-two", "two")
		result, err = doSimple(ctx, client, http.MethodGet, base+cf.path, nil, hdr)
	case "post-sha":
		result, err = doPostSHA(ctx, client, base+cf.path, cf.size)
	case "concurrent":
		result, err = doConcurrent(ctx, client, base+cf.path, cf.n)
	default:
		return usageError{fmt.Sprintf("unknown -test %q", cf.test)}
	}
	if err != nil {
		return err
	}
	line, err := json.Marshal(result)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", line)
	return err
}

type response struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

func do(ctx context.Context, client *http.Client, method, url string, body []byte, hdr http.Header) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, url, err)
	}
	headers := make(map[string]string, len(res.Header))
	for k, v := range res.Header {
		if len(v) > 0 {
			headers[strings.ToLower(k)] = v[0]
		}
	}
	return &response{Status: res.StatusCode, Headers: headers, Body: data}, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// getResult is printed by -test get and -test headers. body_length and
// body_sha256 describe the raw body, which "body" (a JSON string) cannot carry
// exactly when it is not UTF-8.
type getResult struct {
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	BodyLength int               `json:"body_length"`
	BodySHA256 string            `json:"body_sha256"`
}

func doSimple(ctx context.Context, client *http.Client, method, url string, body []byte, hdr http.Header) (interface{}, error) {
	res, err := do(ctx, client, method, url, body, hdr)
	if err != nil {
		return nil, err
	}
	return getResult{
		Status:     res.Status,
		Headers:    res.Headers,
		Body:       string(res.Body),
		BodyLength: len(res.Body),
		BodySHA256: sha256Hex(res.Body),
	}, nil
}

type postResult struct {
	Status     int               `json:"status"`
	SentSHA256 string            `json:"sent_sha256"`
	SentLength int64             `json:"sent_length"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

func doPostSHA(ctx context.Context, client *http.Client, url string, size int64) (interface{}, error) {
	payload := make([]byte, size)
	if _, err := io.ReadFull(rand.Reader, payload); err != nil {
		return nil, fmt.Errorf("random payload: %w", err)
	}
	hdr := http.Header{}
	hdr.Set("content-type", "application/octet-stream")
	res, err := do(ctx, client, http.MethodPost, url, payload, hdr)
	if err != nil {
		return nil, err
	}
	return postResult{
		Status:     res.Status,
		SentSHA256: sha256Hex(payload),
		SentLength: size,
		Body:       string(res.Body),
		Headers:    res.Headers,
	}, nil
}

type concurrentResult struct {
	OK       int      `json:"ok"`
	Statuses []int    `json:"statuses"`
	Bodies   []string `json:"bodies"`
}

func doConcurrent(ctx context.Context, client *http.Client, url string, n int) (interface{}, error) {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	statuses := make([]int, n)
	bodies := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			res, err := do(ctx, client, http.MethodGet, url+sep+"i="+strconv.Itoa(i), nil, nil)
			if err != nil {
				errs[i] = err
				return
			}
			statuses[i] = res.Status
			bodies[i] = string(res.Body)
		}(i)
	}
	close(start)
	wg.Wait()
	failed := 0
	var first error
	for _, err := range errs {
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if first != nil {
		return nil, fmt.Errorf("%d of %d requests failed; first: %w", failed, n, first)
	}
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		}
	}
	return concurrentResult{OK: ok, Statuses: statuses, Bodies: bodies}, nil
}
