package api

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
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

// TestOpenAPIFragmentsMerge: each service's fragment adds its paths and
// schemas to the base document, and a name two files define is refused
// rather than one silently replacing the other.
func TestOpenAPIFragmentsMerge(t *testing.T) {
	const base = `openapi: 3.0.3
info: {title: t, version: "1"}
components:
  schemas:
    Error: {type: object}
paths:
  /v1/auth/userinfo: {get: {responses: {'200': {description: OK}}}}
`
	merge := func(fragments map[string]string) (string, error) {
		fsys := fstest.MapFS{"openapi.yaml": {Data: []byte(base)}}
		for name, body := range fragments {
			fsys["openapi/"+name] = &fstest.MapFile{Data: []byte(body)}
		}
		out, err := mergeOpenAPI(fsys)
		return string(out), err
	}
	out, err := merge(map[string]string{"patients.yaml": `paths:
  /v1/patients: {get: {responses: {'200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Patient'}}}}}}}
components:
  schemas:
    Patient: {type: object, properties: {error: {$ref: '#/components/schemas/Error'}}}
`})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/v1/auth/userinfo", "/v1/patients", "Patient:", "Error:"} {
		if !strings.Contains(out, want) {
			t.Errorf("merged document lacks %s:\n%s", want, out)
		}
	}
	for name, fragments := range map[string]map[string]string{
		"a schema of the base": {"x.yaml": "components: {schemas: {Error: {type: string}}}"},
		"a path of the base":   {"x.yaml": "paths: {/v1/auth/userinfo: {}}"},
		"another's schema": {
			"a.yaml": "components: {schemas: {Note: {type: object}}}",
			"b.yaml": "components: {schemas: {Note: {type: string}}}",
		},
		"a key other than paths and components": {"x.yaml": "info: {title: other}"},
	} {
		if _, err := merge(fragments); err == nil {
			t.Errorf("a fragment redefining %s was merged", name)
		}
	}
}
