package retry_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/integrations/retry"
)

func TestBackoffDoublesToItsLimit(t *testing.T) {
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := retry.Backoff(i+1, 100*time.Millisecond, time.Second); got != w*time.Millisecond {
			t.Errorf("retry %d: %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if retry.Sleep(ctx, time.Hour) || time.Since(start) > time.Second {
		t.Fatal("a cancelled sleep went on")
	}
	if !retry.Sleep(context.Background(), time.Millisecond) {
		t.Fatal("a live sleep reported its context ended")
	}
}

// A loop that loses its lead leads again; one whose context ends stops.
func TestLeadComesBackUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := 0
	err := retry.Lead(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), "test loop", func(context.Context) error {
		runs++
		if runs == 2 {
			cancel()
		}
		return errors.New("lock lost")
	})
	if err != nil || runs != 2 {
		t.Fatalf("Lead returned %v after %d runs", err, runs)
	}
}
