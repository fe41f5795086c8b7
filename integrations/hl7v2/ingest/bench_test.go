package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/integrations/hl7v2"
	"github.com/zarish-sphere/zarish/integrations/hl7v2/ingest"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// realORUs are the ORU^R01 messages of the real test data.
func realORUs(b *testing.B) [][]byte {
	b.Helper()
	files, err := filepath.Glob("../testdata/real/*ORU_R01*.hl7")
	if err != nil || len(files) == 0 {
		b.Fatalf("no ORU^R01 messages: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := hl7v2.Parse(raw); err == nil {
			out = append(out, raw)
		}
	}
	return out
}

// withControlID is msg with MSH-10 replaced by id, so each sending is a
// new message, not a duplicate.
func withControlID(msg []byte, id string) []byte {
	s := string(msg)
	end := strings.IndexAny(s, "\r\n")
	if end < 0 {
		end = len(s)
	}
	fields := strings.Split(s[:end], "|")
	if len(fields) > 9 {
		fields[9] = id
	}
	return []byte(strings.Join(fields, "|") + s[end:])
}

// runSenders sends total messages over conns connections to addr, each
// waiting for its acknowledgement before the next, and returns the rate.
func runSenders(b *testing.B, addr string, conns, total int, msgs [][]byte) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			r := hl7v2.NewReader(bufio.NewReader(conn), 0)
			for {
				n := int(next.Add(1)) - 1
				if n >= total {
					return
				}
				msg := withControlID(msgs[n%len(msgs)], fmt.Sprintf("B%d-%d-%d", time.Now().UnixNano(), c, n))
				if err := hl7v2.WriteFrame(conn, msg); err != nil {
					errs <- err
					return
				}
				if _, err := r.ReadFrame(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(total) / time.Since(start).Seconds()
}

// echoACK is the ceiling: a bare TCP server that reads each frame and
// answers a fixed acknowledgement, nothing parsed or stored.
func echoACK(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	ack := []byte("MSH|^~\\&|ZARISH|WARD|LAB|GHH|20261201||ACK^R01^ACK|1|P|2.5.1\rMSA|AA|1\r")
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := hl7v2.NewReader(bufio.NewReader(conn), 0)
				for {
					if _, err := r.ReadFrame(); err != nil {
						return
					}
					if hl7v2.WriteFrame(conn, ack) != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkMLLPIngest sends the real ORU^R01 messages (23 KB on average)
// over MLLP, each acknowledged only once stored in PostgreSQL, over 1 and
// 8 connections, beside the ceiling of a bare TCP server that answers the
// same frames without storing them, measured in the same run.
func BenchmarkMLLPIngest(b *testing.B) {
	msgs := realORUs(b)
	pool := pgtest.NewPool(b)
	ing := ingest.New(postgres.NewHL7v2Store(pool), postgres.NewPatientStore(pool), postgres.NewObservationStore(pool), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ing.Serve(ctx, ln, 0) }()
	b.Cleanup(func() { cancel(); <-done })
	echo := echoACK(b)
	const total = 2000
	for b.Loop() {
		for _, conns := range []int{1, 8} {
			ceiling := runSenders(b, echo, conns, total, msgs)
			rate := runSenders(b, ln.Addr().String(), conns, total, msgs)
			b.Logf("%d connection(s): %.0f messages/s stored and acknowledged, ceiling (bare TCP, same frames) %.0f/s, ratio %.2f",
				conns, rate, ceiling, rate/ceiling)
			b.ReportMetric(rate, fmt.Sprintf("msgs/s-%dconn", conns))
		}
	}
}
