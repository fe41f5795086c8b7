package api

import (
	"testing"

	"github.com/gin-gonic/gin"
)

// serviceRouter is NewRouter's chain — request id, security headers,
// recovery, audit, the token and its scope, the OpenAPI input checks, the
// patient confinement — around one service's routes alone: table gets the
// edge the handlers share and returns the routes.
func serviceRouter(t *testing.T, d Deps, table func(*edge) []Route) *gin.Engine {
	t.Helper()
	log := d.Logger.With("component", "api")
	s := &server{Deps: d, edge: &edge{log: log, now: d.Now, newID: d.NewID, steps: d.StepKeys}, log: log, failOpenWarn: newFailOpenWarn(),
		streams: newStreamCount(0)}
	routes := table(s.edge)
	entities := map[string]string{}
	for _, rt := range routes {
		entities[rt.Method+" "+rt.Path] = rt.Entity
	}
	specs, err := inputSpecs(routes)
	if err != nil {
		t.Fatal(err)
	}
	required := requirements(routes)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.Use(withRequestID(), securityHeaders(), s.recovery(), s.audited(entities))
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		if _, ok := specs[key]; !ok {
			t.Fatalf("%s is not in the OpenAPI document", key)
		}
		handlers := []gin.HandlerFunc{}
		if rt.Scope != "" {
			handlers = append(handlers, s.authorize(required[key]))
		}
		handlers = append(handlers, s.checkedInput(specs[key]))
		if rt.Scope != "" {
			handlers = append(handlers, s.confine(rt, required[key], specs[key]))
		}
		r.Handle(rt.Method, rt.Path, append(handlers, rt.handler)...)
	}
	return r
}
