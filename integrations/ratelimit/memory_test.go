package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestMemoryBurstThenRate(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	m := NewMemory(WithClock(clock.now))
	l := PerMinute(60, 3) // one a second, three at once
	ctx := context.Background()

	for i, wantRemaining := range []int{2, 1, 0} {
		d, _ := m.Allow(ctx, "client:a", l)
		if !d.Allowed || d.Remaining != wantRemaining || d.RetryAfter != 0 {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i+1, d, wantRemaining)
		}
	}
	d, _ := m.Allow(ctx, "client:a", l)
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != time.Second || d.ResetAfter != 3*time.Second {
		t.Fatalf("fourth request: %+v, want refused, retry after 1s, full after 3s", d)
	}
	// Another key has its own budget.
	if d, _ := m.Allow(ctx, "client:b", l); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("other key: %+v", d)
	}

	clock.advance(500 * time.Millisecond)
	if d, _ := m.Allow(ctx, "client:a", l); d.Allowed || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("half a second later: %+v", d)
	}
	clock.advance(500 * time.Millisecond)
	if d, _ := m.Allow(ctx, "client:a", l); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("a second later: %+v", d)
	}
	clock.advance(time.Hour)
	if d, _ := m.Allow(ctx, "client:a", l); !d.Allowed || d.Remaining != 2 || d.ResetAfter != time.Second {
		t.Fatalf("an hour later the budget is full again: %+v", d)
	}
}

func TestMemoryUnsetLimitIsUnlimited(t *testing.T) {
	m := NewMemory()
	for range 1000 {
		if d, _ := m.Allow(context.Background(), "ip:10.0.0.1", Limit{}); !d.Allowed {
			t.Fatalf("an unset limit refused: %+v", d)
		}
	}
}

func TestMemoryForgetsFullBudgets(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	m := NewMemory(WithClock(clock.now))
	l := PerMinute(600, 10)
	for _, k := range []string{"ip:1", "ip:2", "ip:3"} {
		_, _ = m.Allow(context.Background(), k, l)
	}
	clock.advance(2 * sweepEvery)
	_, _ = m.Allow(context.Background(), "ip:4", l)
	m.mu.Lock()
	n := len(m.buckets)
	m.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets kept, want only the one just used", n)
	}
}

func TestMemoryConcurrentSpendingNeverExceedsBurst(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	m := NewMemory(WithClock(clock.now))
	l := PerMinute(1, 50) // no refill to speak of during the test
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if d, _ := m.Allow(context.Background(), "client:busy", l); d.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 50 {
		t.Fatalf("%d of 200 concurrent requests allowed, want the burst of 50", allowed)
	}
}
