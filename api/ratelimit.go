package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/zarish-sphere/zarish/integrations/ratelimit"
)

// RateLimiter spends one request from a key's budget: ratelimit.Redis shared
// by every replica, or ratelimit.Memory in one process.
type RateLimiter interface {
	Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Decision, error)
}

// RateLimits are the API's request budgets. A nil Limiter, or a zero Limit,
// leaves those requests unlimited; /health, /ready and /metrics never are.
type RateLimits struct {
	Limiter RateLimiter
	// Client is each authenticated OAuth2 client's budget on /v1.
	Client ratelimit.Limit
	// Anonymous is each source IP's budget for /v1 requests made without a
	// valid token, the public documents included.
	Anonymous ratelimit.Limit
	// Token is each source IP's budget at the token endpoint.
	Token ratelimit.Limit
}

// The kinds of budget key, as zarish_rate_limited_total labels them.
const (
	keyClient = "client"
	keyIP     = "ip"
	keyToken  = "token"
)

// tooMany explains a refusal by the kind of budget spent.
var tooMany = map[string]string{
	keyClient: "This client has spent its request budget.",
	keyIP:     "This address has spent its budget of requests without a valid token.",
	keyToken:  "This address has asked for too many tokens.",
}

// failOpenWarnEvery spaces out the warnings logged while the limiter's store
// is failing; the fail-open counter counts every request.
const failOpenWarnEvery = 30 * time.Second

// RateLimitBody is the 429 answer: the error envelope and the seconds to wait.
type RateLimitBody struct {
	ErrorBody
	RetryAfter int `json:"retryAfter"`
}

// limitByIP spends from the calling IP's budget for a public /v1 route.
func (s *server) limitByIP() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.admit(c, keyIP, c.ClientIP(), s.RateLimits.Anonymous) {
			c.Next()
		}
	}
}

// limitUnmatched spends the calling address's budget for a /v1 request that
// matches no route (404) or no method (405), like any anonymous request:
// probing unknown paths is neither free nor unaudited-for-free.
func (s *server) limitUnmatched() gin.HandlerFunc {
	return func(c *gin.Context) {
		if apiPath(c.Request.URL.Path) && !s.admit(c, keyIP, c.ClientIP(), s.RateLimits.Anonymous) {
			return
		}
		c.Next()
	}
}

// admit spends one request from the budget of kind and id, and says so in the
// RateLimit headers. It reports false, having answered 429, when the budget
// is spent. When the budget's store fails, the request goes through
// (counted, and logged now and then): care must not stop because the
// limiter cannot count.
func (s *server) admit(c *gin.Context, kind, id string, l ratelimit.Limit) bool {
	if s.RateLimits.Limiter == nil || l.IsZero() {
		return true
	}
	// The check completes even if the caller hangs up; the store bounds it.
	d, err := s.RateLimits.Limiter.Allow(context.WithoutCancel(c.Request.Context()), kind+":"+id, l)
	if err != nil {
		s.Metrics.rateLimitFailOpen.Inc()
		s.failOpenWarn.Do(func() {
			s.log.Warn("rate limit store failing; letting requests through unlimited",
				"requestId", requestID(c), "keyKind", kind, "error", err)
		})
		return true
	}
	h := c.Writer.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(l.Burst))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(ratelimit.Seconds(d.ResetAfter)))
	h.Set("RateLimit-Policy", strconv.Itoa(l.Rate)+";w="+strconv.Itoa(ratelimit.Seconds(l.Period))+";burst="+strconv.Itoa(l.Burst))
	if d.Allowed {
		return true
	}
	retry := max(1, ratelimit.Seconds(d.RetryAfter))
	h.Set("Retry-After", strconv.Itoa(retry))
	s.Metrics.rateLimited.WithLabelValues(kind).Inc()
	auditOf(c).rec.Description = "refused: rate limit exceeded"
	c.AbortWithStatusJSON(http.StatusTooManyRequests, RateLimitBody{
		ErrorBody: ErrorBody{
			Error:     CodeRateLimitExceeded,
			Message:   tooMany[kind] + " Retry in " + strconv.Itoa(retry) + " s.",
			RequestID: requestID(c),
		},
		RetryAfter: retry,
	})
	return false
}

func newFailOpenWarn() *rate.Sometimes {
	return &rate.Sometimes{First: 1, Interval: failOpenWarnEvery}
}
