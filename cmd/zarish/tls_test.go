package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/internal/testpki"
)

// tlsTestCert writes a server certificate and key signed by a test CA,
// returning their paths and a pool trusting the CA.
func tlsTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	pki := testpki.New(t)
	return pki.ServerCert, pki.ServerKey, pki.Pool
}

// serveTest serves h on l with serveHTTP until the test ends.
func serveTest(t *testing.T, l net.Listener, h http.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, l, h, nil, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveHTTP: %v", err)
		}
	})
}

var helloHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "tls="+strconv.FormatBool(r.TLS != nil)+" proto="+r.Proto)
})

func TestTLSAPIServesHTTPS(t *testing.T) {
	certFile, keyFile, pool := tlsTestCert(t)
	l, scheme, err := listenAPI("127.0.0.1:0", config.Service{TLSCertFile: certFile, TLSKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if scheme != "https" {
		t.Fatalf("scheme %q, want https", scheme)
	}
	serveTest(t, l, helloHandler)
	base := "https://" + l.Addr().String()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get(base + "/v1/patients")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "tls=true proto=HTTP/2.0" || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("status %d, body %q, TLS version %x", resp.StatusCode, body, resp.TLS.Version)
	}

	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(base + "/v1/patients"); err == nil {
		resp.Body.Close()
		t.Fatalf("a TLS 1.1 client was served: %d", resp.StatusCode)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + l.Addr().String() + "/v1/patients"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served on the HTTPS listener")
		}
	}
}

func TestTLSAPIPlainWithoutCertificate(t *testing.T) {
	l, scheme, err := listenAPI("127.0.0.1:0", config.Service{})
	if err != nil {
		t.Fatal(err)
	}
	if scheme != "http" {
		t.Fatalf("scheme %q, want http", scheme)
	}
	serveTest(t, l, helloHandler)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "tls=false proto=HTTP/1.1" {
		t.Fatalf("body %q", body)
	}
}

func TestTLSAPIRefusesBadPair(t *testing.T) {
	certFile, _, _ := tlsTestCert(t)
	_, _, err := listenAPI("127.0.0.1:0", config.Service{TLSCertFile: certFile, TLSKeyFile: certFile})
	if err == nil || !strings.HasPrefix(err.Error(), "TLS_CERT_FILE, TLS_KEY_FILE: ") {
		t.Fatalf("err %v, want one naming TLS_CERT_FILE and TLS_KEY_FILE", err)
	}
}

func TestTLSMetricsListenerStaysPlain(t *testing.T) {
	certFile, keyFile, _ := tlsTestCert(t)
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	cfg := config.Config{Service: config.Service{Host: "127.0.0.1", TLSCertFile: certFile, TLSKeyFile: keyFile},
		Metrics: config.Metrics{Port: port}, Health: config.Health{Interval: time.Second}}
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	if err := serveMetrics(ctx, &g, cfg, api.NewMetrics(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("metrics listener: %v", err)
		}
	})
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://127.0.0.1:" + strconv.Itoa(port) + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS != nil {
		t.Fatalf("metrics /health: status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
}
