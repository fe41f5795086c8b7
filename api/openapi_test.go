package api

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var ginParam = regexp.MustCompile(`:([A-Za-z]+)`)

// TestOpenAPIDocumentsEveryRoute fails when a route exists that the OpenAPI
// document does not describe, or the document describes one that does not exist.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	routes := map[string]bool{}
	for _, r := range Routes() {
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		key := r.Method + " " + path
		routes[key] = true
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s is served but not in openapi.yaml", key)
			continue
		}
		op := item.GetOperation(r.Method)
		// Every /v1 route is rate limited, and says how it refuses.
		if strings.HasPrefix(r.Path, "/v1/") {
			if resp := op.Responses.Status(429); resp == nil || resp.Ref != "#/components/responses/TooManyRequests" {
				t.Errorf("%s does not document its 429 answer", key)
			}
		}
		// A protected route documents the scope it needs.
		if r.Scope != "" {
			if op.Security == nil || !strings.Contains(jsonOf(op.Security), r.Scope) {
				t.Errorf("%s needs %s but the document does not say so", key, r.Scope)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !routes[method+" "+path] {
				t.Errorf("%s %s is documented but not served", method, path)
			}
		}
	}
}

func jsonOf(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
