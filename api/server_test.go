package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
)

func TestServerTimeouts(t *testing.T) {
	srv := NewHTTPServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout != 10*time.Second || srv.ReadTimeout != 15*time.Second ||
		srv.WriteTimeout != 60*time.Second || srv.IdleTimeout != 60*time.Second {
		t.Fatalf("timeouts: %+v", srv)
	}
}

// serveShort serves h through NewHTTPServer with its timeouts shortened to
// read and write, on a real listener.
func serveShort(t *testing.T, h http.Handler, read, write time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cfg := NewHTTPServer(h)
	cfg.ReadHeaderTimeout, cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout = read, read, write, read
	srv.Config = cfg
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestSlowBodyIsCutOff: a client trickling its body a byte at a time holds
// its connection no longer than the read timeout; the request is answered
// 408 and audited.
func TestSlowBodyIsCutOff(t *testing.T) {
	d, store := testDeps(t, nil)
	srv := serveShort(t, NewRouter(d), 600*time.Millisecond, 10*time.Second)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := patientBody("Slow", "Client")
	fmt.Fprintf(conn, "POST /v1/patients HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer %s\r\nX-Request-Id: slow-body\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", adminToken, len(body))
	start := time.Now()
	done := make(chan struct{})
	go func() { // one byte every 150 ms: the whole body would take 15 s
		defer close(done)
		for i := range len(body) {
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			time.Sleep(150 * time.Millisecond)
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v after %v", err, time.Since(start))
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	elapsed := time.Since(start)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(raw), CodeRequestTimeout) || elapsed > 3*time.Second {
		t.Fatalf("%d %s after %v", res.StatusCode, raw, elapsed)
	}
	conn.Close()
	<-done
	if recs := recordsFor(t, store, "slow-body"); len(recs) != 1 || recs[0].Status != http.StatusRequestTimeout {
		t.Fatalf("audit of the cut-off request: %+v", recs)
	}
}

// TestSlowHeadersAreCutOff: headers that never finish close the connection.
func TestSlowHeadersAreCutOff(t *testing.T) {
	srv := serveShort(t, http.NotFoundHandler(), 300*time.Millisecond, 300*time.Millisecond)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: api\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(conn); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("connection held for %v (%v)", time.Since(start), err)
	}
}

// memoryAudit keeps appended records in memory; nothing else is used.
type memoryAudit struct {
	AuditStore
	mu   sync.Mutex
	recs []audit.Record
}

func (m *memoryAudit) Append(_ context.Context, rs ...audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, rs...)
	return nil
}

// TestStreamsOutliveTheTimeouts: a Server-Sent Events stream, once begun,
// is cut neither by the read timeout (which would cancel its context) nor
// by the write timeout, while an ordinary slow response is.
func TestStreamsOutliveTheTimeouts(t *testing.T) {
	const timeout = 400 * time.Millisecond
	s := &server{Deps: Deps{Audit: &memoryAudit{}, Now: time.Now}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.NewID = func() (uuid.UUID, error) { return uuid.New(), nil }
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(s.audited(map[string]string{}))
	tick := func(c *gin.Context, stream bool) {
		if stream && !beginStream(c, s.Audit, s.log) {
			return
		}
		c.Header("Content-Type", "text/event-stream")
		c.Status(http.StatusOK)
		for i := range 8 { // 8 × 150 ms: three times the timeouts
			select {
			case <-c.Request.Context().Done():
				return
			case <-time.After(150 * time.Millisecond):
			}
			if _, err := fmt.Fprintf(c.Writer, "data: %d\n\n", i); err != nil {
				return
			}
			c.Writer.Flush()
		}
	}
	r.GET("/v1/stream", func(c *gin.Context) { tick(c, true) })
	r.GET("/v1/slow", func(c *gin.Context) { tick(c, false) })
	srv := serveShort(t, r, timeout, timeout)

	res, err := http.Get(srv.URL + "/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || strings.Count(string(raw), "data: ") != 8 {
		t.Fatalf("stream cut short: %q (%v)", raw, err)
	}
	// Without beginStream, the write timeout ends a response that takes
	// longer than it: the client sees it cut off.
	res, err = http.Get(srv.URL + "/v1/slow")
	if err == nil {
		raw, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil && strings.Count(string(raw), "data: ") == 8 {
		t.Fatal("a slow ordinary response outlived the write timeout")
	}
}
