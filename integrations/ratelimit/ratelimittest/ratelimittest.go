// Package ratelimittest connects tests to the Redis that holds shared
// rate-limit budgets.
package ratelimittest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/integrations/ratelimit"
)

// URL is the Redis the tests use: ZARISH_TEST_REDIS_URL, else the local
// server `make test` starts.
func URL() string {
	if u := os.Getenv("ZARISH_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Open connects to the test Redis, under prefix when one is given, and
// empties the budgets named by keys now and when the test ends. A server
// that cannot be reached fails the test: like the database tests, the Redis
// tests never skip.
func Open(tb testing.TB, prefix string, keys ...string) *ratelimit.Redis {
	tb.Helper()
	opts := []ratelimit.RedisOption{ratelimit.WithTimeout(time.Second)}
	if prefix != "" {
		opts = append(opts, ratelimit.WithPrefix(prefix))
	}
	r, err := ratelimit.OpenRedis(URL(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		_ = r.Close()
		tb.Fatalf("ratelimittest: no Redis at %s (`make test` starts one): %v", URL(), err)
	}
	reset := func() {
		for _, key := range keys {
			if err := r.Reset(context.Background(), key); err != nil {
				tb.Errorf("ratelimittest: reset %s: %v", key, err)
			}
		}
	}
	reset()
	tb.Cleanup(func() {
		reset()
		_ = r.Close()
	})
	return r
}
