package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/ratelimit"
)

// RateLimiter spends one request from a key's budget: ratelimit.Redis shared
// by every replica, or ratelimit.Memory in one process.
type RateLimiter interface {
	Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Decision, error)
}

// RateLimits are the API's request budgets. A nil Limiter, or a zero Limit,
// leaves those requests unlimited; /health, /ready and /metrics are limited
// only by a route group's budget.
type RateLimits struct {
	Limiter RateLimiter
	// Client is each authenticated OAuth2 client's budget on /v1; a
	// signed-in user's token spends that user's own within the client.
	Client ratelimit.Limit
	// Anonymous is each source IP's budget for /v1 requests made without a
	// valid token, the public documents included.
	Anonymous ratelimit.Limit
	// Token is each source IP's budget at the token endpoint.
	Token ratelimit.Limit
	// Groups are route groups' budgets, spent on top of the one above:
	// each client's (each source IP's without a valid token) on the routes
	// under the group's prefix; the longest prefix that matches applies.
	Groups []RouteGroup
}

// RouteGroup is the budget of the routes under Prefix: the path itself and
// every path below it.
type RouteGroup struct {
	Prefix string
	Limit  ratelimit.Limit
}

// budgetOf is whose budget a verified request spends: its client's, and
// for a signed-in user's token that user's within the client — the people
// signed in to one app (the console) do not share one budget.
func budgetOf(p access.Principal) string {
	if p.IsUser() {
		return p.ClientID + "/" + p.UserID
	}
	return p.ClientID
}

// group is the route group path belongs to, if any.
func (l RateLimits) group(path string) (RouteGroup, bool) {
	var best RouteGroup
	for _, g := range l.Groups {
		under := path == g.Prefix || strings.HasPrefix(path, g.Prefix+"/")
		if under && len(g.Prefix) > len(best.Prefix) {
			best = g
		}
	}
	return best, best.Prefix != ""
}

// admitGroup spends from the budget of the request's route group, kept
// for caller (a client id, or an address); true when the route is in no
// group.
func (s *server) admitGroup(c *gin.Context, caller string) bool {
	g, ok := s.RateLimits.group(c.FullPath())
	if !ok {
		return true
	}
	return s.admit(c, keyGroup, g.Prefix+"|"+caller, g.Limit)
}

// limitGroupByIP spends the calling address's budget of the route's group
// on a route without a token (the probes).
func (s *server) limitGroupByIP() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.admitGroup(c, c.ClientIP()) {
			c.Next()
		}
	}
}

// The kinds of budget key, as zarish_rate_limited_total labels them.
const (
	keyClient = "client"
	keyIP     = "ip"
	keyToken  = "token"
	keyGroup  = "group"
)

// tooMany explains a refusal by the kind of budget spent.
var tooMany = map[string]string{
	keyClient: "This client has spent its request budget.",
	keyIP:     "This address has spent its budget of requests without a valid token.",
	keyToken:  "This address has asked for too many tokens.",
	keyGroup:  "The request budget of these routes is spent.",
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
		if s.admit(c, keyIP, c.ClientIP(), s.RateLimits.Anonymous) && s.admitGroup(c, c.ClientIP()) {
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
	// A request that spends two budgets (its client's and its route
	// group's) is told of the one nearer its end.
	if prev, err := strconv.Atoi(h.Get("RateLimit-Remaining")); err == nil && prev <= d.Remaining && d.Allowed {
		return true
	}
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
