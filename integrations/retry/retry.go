// Package retry is how the engine's background loops — the outbox relay,
// the audit sealer, the workflow starter, the notification dispatcher —
// wait, back off and come back after losing their lead.
package retry

import (
	"context"
	"log/slog"
	"time"
)

// Sleep waits for d, reporting false if ctx ended first; a d of zero or
// less only checks ctx.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Backoff is the wait before retry n (from 1): first, doubling, capped at
// limit.
func Backoff(n int, first, limit time.Duration) time.Duration {
	d := first
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// stepDownWait is how long a loop that lost its lead waits before trying
// to lead again.
const stepDownWait = time.Second

// Lead runs lead until ctx ends, then returns nil. Each time lead returns
// while ctx is live (the process lost the lock, or could not reach the
// database) that is logged as what stepping down, and lead runs again a
// second later.
func Lead(ctx context.Context, logger *slog.Logger, what string, lead func(context.Context) error) error {
	for {
		err := lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		logger.Warn(what+" stepped down; waiting to lead again", "err", err)
		if !Sleep(ctx, stepDownWait) {
			return nil
		}
	}
}
