package ratelimit

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// redisURL is the Redis the tests use: ZARISH_TEST_REDIS_URL, else the
// local server `make test` starts (as ratelimittest.URL, which these
// in-package tests cannot import).
func redisURL() string {
	if u := os.Getenv("ZARISH_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// openTestRedis connects to the test Redis with a prefix of the test's own
// and removes the test's keys afterwards. Without a Redis the test fails:
// the Redis tests never skip.
func openTestRedis(t *testing.T, prefix string, opts ...RedisOption) *Redis {
	t.Helper()
	if prefix == "" {
		prefix = fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	}
	r, err := OpenRedis(redisURL(), append([]RedisOption{WithPrefix(prefix), WithTimeout(time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		_ = r.Close()
		t.Fatalf("no Redis at %s (`make test` starts one): %v", redisURL(), err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := r.client.Keys(ctx, "rate:"+prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = r.client.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("clean up keys %s*: %v", prefix, err)
		}
		_ = r.Close()
	})
	return r
}

func TestRedisBurstThenRefusal(t *testing.T) {
	r := openTestRedis(t, "")
	ctx := context.Background()
	l := PerMinute(60, 3)
	for i, wantRemaining := range []int{2, 1, 0} {
		d, err := r.Allow(ctx, "client:a", l)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != wantRemaining || d.RetryAfter != 0 {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i+1, d, wantRemaining)
		}
	}
	d, err := r.Allow(ctx, "client:a", l)
	if err != nil {
		t.Fatal(err)
	}
	// The server's clock moved a little since the first request.
	if d.Allowed || d.Remaining != 0 || d.RetryAfter <= 900*time.Millisecond || d.RetryAfter > time.Second ||
		d.ResetAfter <= 2900*time.Millisecond || d.ResetAfter > 3*time.Second {
		t.Fatalf("fourth request: %+v, want refused, retry after ~1s, full after ~3s", d)
	}
	if Seconds(d.RetryAfter) != 1 || Seconds(d.ResetAfter) != 3 {
		t.Fatalf("in seconds: retry %d, reset %d", Seconds(d.RetryAfter), Seconds(d.ResetAfter))
	}
	if d, err := r.Allow(ctx, "client:b", l); err != nil || !d.Allowed || d.Remaining != 2 {
		t.Fatalf("other key: %+v %v", d, err)
	}
	if err := r.Reset(ctx, "client:a"); err != nil {
		t.Fatal(err)
	}
	if d, err := r.Allow(ctx, "client:a", l); err != nil || !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after reset: %+v %v", d, err)
	}
}

// TestRedisReplicasShareOneBudget: two API replicas, each with its own
// limiter and connections, spend from the same budget.
func TestRedisReplicasShareOneBudget(t *testing.T) {
	prefix := fmt.Sprintf("test:shared:%d:", time.Now().UnixNano())
	replicas := []*Redis{openTestRedis(t, prefix), openTestRedis(t, prefix)}
	l := PerMinute(1, 40) // no refill to speak of during the test
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed = make([]int, len(replicas))
	)
	for i, r := range replicas {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 15 {
					d, err := r.Allow(context.Background(), "client:shared", l)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						mu.Lock()
						allowed[i]++
						mu.Unlock()
					}
				}
			}()
		}
	}
	wg.Wait()
	// Separate budgets would allow 40 each; which replica spent how much
	// depends on scheduling.
	if allowed[0]+allowed[1] != 40 {
		t.Fatalf("replicas allowed %d and %d of 120 requests, want 40 together", allowed[0], allowed[1])
	}
	for i, r := range replicas {
		if d, err := r.Allow(context.Background(), "client:shared", l); err != nil || d.Allowed {
			t.Fatalf("replica %d still has budget after the shared one is spent: %+v %v", i, d, err)
		}
	}
}

// TestRedisAndMemoryAgree: the two stores answer a burst the same way.
func TestRedisAndMemoryAgree(t *testing.T) {
	r := openTestRedis(t, "")
	m := NewMemory()
	l := PerMinute(6, 4)
	for i := range 6 {
		rd, err := r.Allow(context.Background(), "client:same", l)
		if err != nil {
			t.Fatal(err)
		}
		md, _ := m.Allow(context.Background(), "client:same", l)
		if rd.Allowed != md.Allowed || rd.Remaining != md.Remaining ||
			Seconds(rd.RetryAfter) != Seconds(md.RetryAfter) || Seconds(rd.ResetAfter) != Seconds(md.ResetAfter) {
			t.Fatalf("request %d: redis %+v, memory %+v", i+1, rd, md)
		}
	}
}

func TestRedisUnreachableIsAnError(t *testing.T) {
	r, err := OpenRedis("redis://127.0.0.1:1/0", WithTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	if _, err := r.Allow(context.Background(), "client:a", PerMinute(60, 10)); err == nil {
		t.Fatal("a budget check against a closed port succeeded")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the failed check took %s", took)
	}
}

func TestOpenRedisRejectsBadURL(t *testing.T) {
	if _, err := OpenRedis("http://127.0.0.1:6379"); err == nil {
		t.Fatal("an http URL was accepted")
	}
}
