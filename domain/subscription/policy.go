package subscription

import "time"

// Policy is how deliveries are retried and when a subscription is paused.
type Policy struct {
	// Delays are the waits after the first, second, … failed attempt; the
	// last one repeats.
	Delays []time.Duration
	// MaxAttempts is the attempts a delivery gets before it is dead.
	MaxAttempts int
	// PauseAfter is the consecutive failed attempts, over all of a
	// subscription's deliveries, after which the subscription is paused.
	PauseAfter int
}

// DefaultPolicy retries after 10 s, 30 s, 2 min, 10 min, 30 min and then
// hourly, gives a delivery 12 attempts (about seven hours), and pauses a
// subscription after 10 failed attempts in a row.
var DefaultPolicy = Policy{
	Delays:      []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour},
	MaxAttempts: 12,
	PauseAfter:  10,
}

// Delay is the wait after failed attempt number attempt (from 1).
func (p Policy) Delay(attempt int) time.Duration {
	if len(p.Delays) == 0 {
		return time.Minute
	}
	return p.Delays[min(max(attempt, 1), len(p.Delays))-1]
}

// Failed is the outcome of failed attempt number attempt at now: failed
// with its next attempt after the delay, or dead when it was the last.
func (p Policy) Failed(attempt int, now time.Time) (DeliveryStatus, time.Time) {
	if attempt >= p.MaxAttempts {
		return DeliveryDead, now
	}
	return DeliveryFailed, now.Add(p.Delay(attempt))
}

// Succeeded reports whether an HTTP status counts as delivered: a 2xx. A
// redirect is a failure: it is never followed.
func Succeeded(httpStatus int) bool { return httpStatus >= 200 && httpStatus < 300 }
