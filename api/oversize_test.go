package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// countingBody is an endless body of 'x' that counts the bytes read of it.
type countingBody struct{ read int64 }

func (b *countingBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	b.read += int64(len(p))
	return len(p), nil
}

func (*countingBody) Close() error { return nil }

// streamedMedia are the media types of bodies streamed to their store
// under caps of their own (a DICOM instance's), not read whole.
var streamedMedia = []string{mediaDICOM, mediaMultipart}

// mediaTypeOf is the media type a route's OpenAPI operation takes its body
// in: JSON where it takes JSON, else the first it names (JSON when none).
func mediaTypeOf(t *testing.T, rt Route) string {
	t.Helper()
	doc, err := openAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	item := doc.Paths.Find(routeParam.ReplaceAllString(rt.Path, "{$1}"))
	if item == nil || item.GetOperation(rt.Method) == nil || item.GetOperation(rt.Method).RequestBody == nil ||
		item.GetOperation(rt.Method).RequestBody.Value == nil {
		return "application/json"
	}
	content := item.GetOperation(rt.Method).RequestBody.Value.Content
	for _, mt := range []string{"application/json", mediaFHIRJSON, "application/x-www-form-urlencoded"} {
		if content.Get(mt) != nil {
			return mt
		}
	}
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return "application/json"
	}
	return keys[0]
}

// TestOversizeBodiesAreRefusedUnread: on every route that takes a body, a
// body whose Content-Length is over the route's cap is refused 413 before a
// byte of it is read, and a chunked one (no length) once one byte more than
// the cap has arrived, whichever part of the API reads it (the input
// checks, the HL7 v2 receiver, the FHIR create, the batch decoder). RFC
// 9110 §15.5.14: the server may refuse a request whose content is larger
// than it is willing to process.
func TestOversizeBodiesAreRefusedUnread(t *testing.T) {
	h, _ := fuzzAPI(t)
	specs, err := inputSpecs(Routes())
	if err != nil {
		t.Fatal(err)
	}
	routes := 0
	for _, rt := range Routes() {
		if rt.Method != http.MethodPost && rt.Method != http.MethodPut && rt.Method != http.MethodPatch {
			continue
		}
		mt := mediaTypeOf(t, rt)
		if slices.Contains(streamedMedia, mt) {
			continue
		}
		routes++
		limit := int64(maxBodyBytes)
		if spec := specs[rt.Method+" "+rt.Path]; spec.maxBody > 0 {
			limit = spec.maxBody
		}
		path := strings.NewReplacer(":id", fuzzActor, ":activityId", fuzzActor, ":accession", "A26-0001").Replace(rt.Path)
		for _, chunked := range []bool{false, true} {
			body := &countingBody{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			req := httptest.NewRequestWithContext(ctx, rt.Method, path, nil)
			req.Body = body
			req.ContentLength = limit + 1
			if chunked {
				req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
			}
			req.Header.Set("Content-Type", mt)
			req.Header.Set("Authorization", "Bearer "+gatewayToken)
			req.Header.Set(headerOnBehalfOf, "Practitioner/"+fuzzActor)
			req.Header.Set("If-Match", "*")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			cancel()
			envelope := strings.HasPrefix(path, fhirBase) || strings.Contains(rec.Body.String(), CodePayloadTooLarge)
			switch {
			case rec.Code != http.StatusRequestEntityTooLarge || !envelope:
				t.Errorf("%s %s (%s, chunked %v): %d %.200s", rt.Method, rt.Path, mt, chunked, rec.Code, rec.Body)
			case !chunked && body.read != 0:
				t.Errorf("%s %s (%s): %d of the declared %d bytes read before the refusal", rt.Method, rt.Path, mt, body.read, limit+1)
			case chunked && body.read > limit+1:
				t.Errorf("%s %s (%s, chunked): %d bytes read of a %d-byte cap", rt.Method, rt.Path, mt, body.read, limit)
			}
		}
	}
	if routes < 50 {
		t.Fatalf("only %d routes take a body", routes)
	}
}
