package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sweepEvery is how often Memory forgets keys whose budget is full again.
const sweepEvery = time.Minute

// Memory keeps budgets in this process: right for one API process, such as
// `zarish dev`, and for tests. Several replicas each keep their own.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limit   Limit
	limiter *rate.Limiter
}

// MemoryOption configures a Memory limiter.
type MemoryOption func(*Memory)

// WithClock replaces the clock (tests).
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) { m.now = now }
}

// NewMemory returns an in-process limiter.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, buckets: map[string]*bucket{}}
	for _, o := range opts {
		o(m)
	}
	m.lastSweep = m.now()
	return m
}

// Allow spends one request from key's budget. It never fails.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Decision, error) {
	if l.IsZero() {
		return Decision{Allowed: true}, nil
	}
	now := m.now()
	m.mu.Lock()
	lim := m.bucket(key, l, now)
	allowed := lim.AllowN(now, 1)
	tokens := lim.TokensAt(now)
	m.mu.Unlock()
	perToken := l.interval()
	d := Decision{
		Allowed:    allowed,
		Remaining:  max(0, int(math.Floor(tokens))),
		ResetAfter: time.Duration((float64(l.Burst) - tokens) * float64(perToken)),
	}
	if !allowed {
		d.RetryAfter = time.Duration((1 - tokens) * float64(perToken))
	}
	return d, nil
}

// bucket finds or makes key's bucket; m.mu is held.
func (m *Memory) bucket(key string, l Limit, now time.Time) *rate.Limiter {
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.sweep(now)
	}
	b, ok := m.buckets[key]
	if !ok || b.limit != l {
		b = &bucket{limit: l, limiter: rate.NewLimiter(rate.Every(l.interval()), l.Burst)}
		m.buckets[key] = b
	}
	return b.limiter
}

// sweep forgets the keys whose budget is full: a new bucket would be the same.
func (m *Memory) sweep(now time.Time) {
	for k, b := range m.buckets {
		if b.limiter.TokensAt(now) >= float64(b.limit.Burst) {
			delete(m.buckets, k)
		}
	}
	m.lastSweep = now
}
