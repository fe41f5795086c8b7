// Package ratelimit keeps request budgets: in Redis, shared by every API
// replica (GCRA, through go-redis/redis_rate), or in the process for a single
// `zarish dev`. Both give the same answers for the same limit.
package ratelimit

import (
	"math"
	"time"
)

// Limit is a budget: Rate requests per Period on average, at most Burst of
// them at once.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// PerMinute is a budget of rate requests a minute, burst at once.
func PerMinute(rate, burst int) Limit {
	return Limit{Rate: rate, Burst: burst, Period: time.Minute}
}

// IsZero reports whether the limit is unset, which means unlimited.
func (l Limit) IsZero() bool { return l.Rate <= 0 || l.Burst <= 0 || l.Period <= 0 }

// interval is the time one request's share of the budget takes to come back.
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Rate) }

// Decision is the answer for one request.
type Decision struct {
	// Allowed reports whether the request fits the budget.
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long until the next request would be allowed; zero
	// when this one was.
	RetryAfter time.Duration
	// ResetAfter is how long until the whole burst is available again.
	ResetAfter time.Duration
}

// Seconds rounds d up to whole seconds, as the RateLimit headers count them.
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}
