package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/config"
)

// TestHealthProbesTheProcess: `zarish health` exits cleanly when /health
// answers 200, and fails when it answers otherwise or nothing listens.
func TestHealthProbesTheProcess(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out strings.Builder
	if err := runHealth(context.Background(), config.Config{}, []string{"--url", srv.URL + "/health"}, logger, &out); err != nil ||
		strings.TrimSpace(out.String()) != "healthy" {
		t.Fatalf("healthy process: %v %q", err, out.String())
	}
	status = http.StatusServiceUnavailable
	if err := runHealth(context.Background(), config.Config{}, []string{"--url", srv.URL + "/health"}, logger, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "503") {
		t.Fatalf("a 503: %v", err)
	}
	srv.Close()
	if err := runHealth(context.Background(), config.Config{}, []string{"--url", srv.URL + "/health"}, logger, io.Discard); err == nil {
		t.Fatal("nothing listening, yet healthy")
	}
}
