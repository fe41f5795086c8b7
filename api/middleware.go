package api

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

const (
	headerRequestID = "X-Request-Id"
	ctxRequestID    = "zarish.requestId"
	ctxPrincipal    = "zarish.principal"
)

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// withRequestID keeps a caller's X-Request-Id when it is sane, otherwise makes
// one, and echoes it on every response.
func withRequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(headerRequestID)
		if !validRequestID.MatchString(id) {
			if u, err := uuid.NewV7(); err == nil {
				id = u.String()
			} else {
				id = uuid.NewString()
			}
		}
		c.Set(ctxRequestID, id)
		c.Header(headerRequestID, id)
		c.Next()
	}
}

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// edgeHeaders are set on every response: answers carry patient data, which
// no cache may keep and no browser may sniff into another media type.
var edgeHeaders = [][2]string{{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}}

// securityHeaders sets edgeHeaders on every response.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for _, kv := range edgeHeaders {
			h.Set(kv[0], kv[1])
		}
		c.Next()
	}
}

// recovery turns a panic into the error envelope and a logged stack.
func (s *server) recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		s.log.Error("panic in handler", "requestId", requestID(c), "route", c.FullPath(), "panic", err)
		abort(c, http.StatusInternalServerError, CodeInternal, "Something went wrong on our side; the request id identifies it in our logs.")
	})
}

// accessLog logs one line per request. It logs the route template, never the
// path or query, which may carry patient identifiers.
func (s *server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		attrs := []any{"method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"duration", time.Since(start), "requestId", requestID(c)}
		if p, ok := principal(c); ok {
			attrs = append(attrs, "client", p.ClientID)
		}
		if sc := trace.SpanContextFromContext(c.Request.Context()); sc.IsValid() {
			attrs = append(attrs, "traceId", sc.TraceID().String())
		}
		s.log.InfoContext(c.Request.Context(), "request", attrs...)
	}
}

// authorize demands a valid bearer token carrying scope. A verified request
// spends its client's rate-limit budget, one without a valid token its IP's.
// It also applies X-On-Behalf-Of (onBehalfOf), so the principal handlers see
// names the person who acts.
func (s *server) authorize(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		header := c.GetHeader("Authorization")
		kind, token, found := strings.Cut(header, " ")
		if !found || !strings.EqualFold(kind, "Bearer") || strings.TrimSpace(token) == "" {
			if !s.admit(c, keyIP, c.ClientIP(), s.RateLimits.Anonymous) {
				return
			}
			c.Header("WWW-Authenticate", `Bearer realm="zarish"`)
			abort(c, http.StatusUnauthorized, CodeUnauthorized, "A bearer access token is required.")
			return
		}
		p, err := s.Verifier.Verify(c.Request.Context(), strings.TrimSpace(token))
		if err != nil {
			if !s.admit(c, keyIP, c.ClientIP(), s.RateLimits.Anonymous) {
				return
			}
			c.Header("WWW-Authenticate", `Bearer realm="zarish", error="invalid_token"`)
			msg := "The access token is invalid or expired."
			if !errors.Is(err, access.ErrInvalidToken) {
				s.log.Error("token verification failed", "requestId", requestID(c), "error", err)
			}
			abort(c, http.StatusUnauthorized, CodeUnauthorized, msg)
			return
		}
		c.Set(ctxPrincipal, p)
		if caller := budgetOf(p); !s.admit(c, keyClient, caller, s.RateLimits.Client) || !s.admitGroup(c, caller) {
			return
		}
		// X-On-Behalf-Of: a machine client names the practitioner it acts for.
		if !s.onBehalfOf(c, &p) {
			return
		}
		allowed, confined := p.Grant(scope)
		if allowed && confined {
			// Only a patient/ grant allows it: the request is kept to
			// the token's launch patient (confine).
			id, err := uuid.Parse(p.Patient)
			if err != nil {
				abort(c, http.StatusForbidden, CodePatientContext, "The token's launch patient is not valid.")
				return
			}
			if administers(scope) {
				abort(c, http.StatusForbidden, CodePatientContext,
					"A token confined to one patient reaches that patient's record, never administration or the audit trail.")
				return
			}
			c.Set(ctxLaunchPatient, id)
		}
		if !allowed {
			// Break the glass: an emergency-scoped caller states why it needs
			// patient data it may not normally see; access is granted and the
			// audit record is flagged for review.
			reason := strings.TrimSpace(c.GetHeader(headerBreakGlass))
			if reason != "" && p.Has(access.ScopeEmergency) && breakGlassReaches(scope) {
				auditOf(c).rec.BreakGlass = truncate(reason, maxBreakGlassText)
				c.Next()
				return
			}
			c.Header("WWW-Authenticate", `Bearer realm="zarish", error="insufficient_scope", scope="`+scope+`"`)
			abort(c, http.StatusForbidden, CodeForbidden, "The access token lacks the scope "+scope+".")
			return
		}
		c.Next()
	}
}

func principal(c *gin.Context) (access.Principal, bool) {
	v, ok := c.Get(ctxPrincipal)
	if !ok {
		return access.Principal{}, false
	}
	p, ok := v.(access.Principal)
	return p, ok
}
