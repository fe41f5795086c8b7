package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// DefaultTimeout bounds one budget check in Redis: a slow store must not
// slow every request down.
const DefaultTimeout = 150 * time.Millisecond

// Redis keeps budgets in Redis, shared by every API replica that uses the same
// server and prefix. Its GCRA gives the same answers as Memory.
type Redis struct {
	client  *redis.Client
	limiter *redis_rate.Limiter
	prefix  string
	timeout time.Duration
}

// RedisOption configures a Redis limiter.
type RedisOption func(*Redis)

// WithPrefix namespaces the keys (default "zarish:"); replicas that share a
// budget use the same prefix.
func WithPrefix(prefix string) RedisOption {
	return func(r *Redis) { r.prefix = prefix }
}

// WithTimeout bounds one budget check (default DefaultTimeout).
func WithTimeout(d time.Duration) RedisOption {
	return func(r *Redis) { r.timeout = d }
}

// OpenRedis connects to the Redis at url (redis:// or rediss://). It does not
// wait for the server: a budget check that cannot reach it returns an error,
// and the caller decides what that means.
func OpenRedis(url string, opts ...RedisOption) (*Redis, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	r := &Redis{prefix: "zarish:", timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(r)
	}
	// Fail fast: a budget check is worth less than the request waiting on it.
	o.DialTimeout = 2 * r.timeout
	o.ReadTimeout = r.timeout
	o.WriteTimeout = r.timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	o.DialerRetries = 1
	o.ClientName = "zarish-ratelimit"
	r.client = redis.NewClient(o)
	r.limiter = redis_rate.NewLimiter(r.client)
	return r, nil
}

// Allow spends one request from key's budget.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Decision, error) {
	if l.IsZero() {
		return Decision{Allowed: true}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.limiter.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: l.Rate, Burst: l.Burst, Period: l.Period})
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", r.prefix+key, err)
	}
	d := Decision{
		Allowed:    res.Allowed > 0,
		Remaining:  res.Remaining,
		ResetAfter: max(0, res.ResetAfter),
	}
	if !d.Allowed {
		d.RetryAfter = max(0, res.RetryAfter)
	}
	return d, nil
}

// Reset forgets key's spending (tests and operators).
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.limiter.Reset(ctx, r.prefix+key); err != nil {
		return fmt.Errorf("reset rate limit %s: %w", r.prefix+key, err)
	}
	return nil
}

// Ping checks that the server answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close releases the connections.
func (r *Redis) Close() error { return r.client.Close() }

// slogPrinter hands the Redis client's own messages (dial failures, pool
// events) to the process logger instead of stderr.
type slogPrinter struct{ logger *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	p.logger.WarnContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// LogTo sends the Redis client's messages to logger. The client has one
// logger per process, so this is called once, where the process is wired.
func LogTo(logger *slog.Logger) {
	redis.SetLogger(slogPrinter{logger})
}
