// Package api is the REST edge: the Gin router, its middleware, one handler
// file per service, the error envelope and the OpenAPI document.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/auth"
)

// TokenVerifier checks a bearer token and says who presented it.
type TokenVerifier interface {
	Verify(ctx context.Context, bearer string) (auth.Principal, error)
}

// Deps is what the router needs; cmd/zarish builds it.
type Deps struct {
	Logger   *slog.Logger
	Version  string
	Patients PatientStore
	Verifier TokenVerifier
	// Token serves the OAuth2 token endpoint; JWKS the signing keys.
	Token, JWKS http.Handler
	Health      *Health
	Metrics     *Metrics
	// Now and NewID are the clock and id source; tests replace them.
	Now   func() time.Time
	NewID func() (uuid.UUID, error)
}

type server struct {
	Deps
	log *slog.Logger
}

// Route is one API operation and the SMART scope it needs ("" = public).
type Route struct {
	Method, Path, Scope string
	handler             gin.HandlerFunc
}

// NewRouter builds the HTTP handler for every route.
func NewRouter(d Deps) *gin.Engine {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = uuid.NewV7
	}
	s := &server{Deps: d, log: d.Logger.With("component", "api")}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(withRequestID(), s.recovery(), d.Metrics.middleware(), s.accessLog())
	r.NoRoute(func(c *gin.Context) { abort(c, http.StatusNotFound, CodeNotFound, "No such route.") })
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "This route does not accept "+c.Request.Method+".")
	})

	for _, rt := range s.routes() {
		handlers := []gin.HandlerFunc{}
		if rt.Scope != "" {
			handlers = append(handlers, s.authorize(rt.Scope))
		}
		handlers = append(handlers, rt.handler)
		r.Handle(rt.Method, rt.Path, handlers...)
	}
	return r
}

// routes is the one table of the API: the router, the auth middleware and the
// OpenAPI completeness test all read it.
func (s *server) routes() []Route {
	return []Route{
		{http.MethodGet, "/health", "", s.health},
		{http.MethodGet, "/ready", "", s.ready},
		{http.MethodGet, "/metrics", "", gin.WrapH(s.Metrics.Handler())},
		{http.MethodGet, "/v1/openapi.json", "", serveOpenAPI},
		{http.MethodPost, "/v1/auth/oauth2/token", "", gin.WrapH(s.Token)},
		{http.MethodGet, "/v1/auth/jwks.json", "", gin.WrapH(s.JWKS)},

		{http.MethodPost, "/v1/patients", "system/Patient.write", s.registerPatient},
		{http.MethodGet, "/v1/patients", "system/Patient.read", s.searchPatients},
		{http.MethodGet, "/v1/patients/:id", "system/Patient.read", s.getPatient},
		{http.MethodPut, "/v1/patients/:id", "system/Patient.write", s.updatePatient},
		{http.MethodDelete, "/v1/patients/:id", "system/Patient.write", s.deactivatePatient},
	}
}

// Routes lists the API's routes (for documentation and tests).
func Routes() []Route {
	s := &server{Deps: Deps{Metrics: NewMetrics()}}
	return s.routes()
}
