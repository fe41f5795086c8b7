package api

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

const (
	operatorToken  = "operator"
	clinicianToken = "clinician"
	webUIOrigin    = "http://127.0.0.1:8233"
)

// codecAPI serves the codec routes over codec, recording the audit trail.
func codecAPI(t *testing.T, codec converter.PayloadCodec) (*httptest.Server, *memoryAudit) {
	t.Helper()
	auditLog := &memoryAudit{}
	verifier := stubVerifier{
		operatorToken:  {Subject: "ops-1", ClientID: "console", UserID: "ops-1", Scopes: access.RoleOperator.Scopes(), Roles: []string{"operator"}},
		clinicianToken: {Subject: "dr-1", ClientID: "console", UserID: "dr-1", Scopes: access.RoleClinician.Scopes(), Roles: []string{"clinician"}},
	}
	routes := &codecRoutes{codec: codec, origins: []string{webUIOrigin}}
	d := Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Verifier: verifier, Audit: auditLog, Now: time.Now, NewID: uuid.NewV7}
	srv := httptest.NewServer(serviceRouter(t, d, func(e *edge) []Route { routes.edge = e; return routes.routes() }))
	t.Cleanup(srv.Close)
	return srv, auditLog
}

// sealedBody is the remote codec's request for payloads sealed by codec.
func sealedBody(t *testing.T, codec converter.PayloadCodec, values ...any) string {
	t.Helper()
	var plain []*commonpb.Payload
	for _, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		plain = append(plain, p)
	}
	sealed, err := codec.Encode(plain)
	if err != nil {
		t.Fatal(err)
	}
	b := codecPayloads{}
	for _, p := range sealed {
		b.Payloads = append(b.Payloads, codecPayload{Metadata: p.Metadata, Data: p.Data})
	}
	raw, _ := json.Marshal(b)
	return string(raw)
}

// TestCodecDecodesForOperators: an operator's call opens every payload to
// the JSON the workflow wrote, and the audit record names the patients the
// payloads hold; a clinician, whose role reads no Binary, is refused and
// sees nothing.
func TestCodecDecodesForOperators(t *testing.T) {
	codec := converter.NewZlibCodec(converter.ZlibCodecOptions{AlwaysEncode: true})
	srv, auditLog := codecAPI(t, codec)
	patientA, patientB := uuid.New(), uuid.New()
	type start struct {
		PatientID string `json:"patientId"`
		Reason    string `json:"reason"`
	}
	type update struct {
		Order struct {
			PatientID string `json:"patientId"`
		} `json:"order"`
	}
	var u update
	u.Order.PatientID = patientB.String()
	body := sealedBody(t, codec, start{PatientID: patientA.String(), Reason: "chest pain"}, u, "plain text")

	r := call(t, srv, http.MethodPost, CodecDecodePath, operatorToken, body, "X-Namespace", "default", "Origin", webUIOrigin)
	if r.status != http.StatusOK {
		t.Fatalf("decode: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != webUIOrigin || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("CORS headers for the Web UI: %q %q", got, r.header.Get("Access-Control-Allow-Credentials"))
	}
	var out codecPayloads
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || len(out.Payloads) != 3 {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	if enc := string(out.Payloads[0].Metadata[converter.MetadataEncoding]); enc != converter.MetadataEncodingJSON {
		t.Fatalf("opened payload encoding %q", enc)
	}
	var got start
	if err := json.Unmarshal(out.Payloads[0].Data, &got); err != nil || got.Reason != "chest pain" || got.PatientID != patientA.String() {
		t.Fatalf("opened payload %s: %v", out.Payloads[0].Data, err)
	}
	if string(out.Payloads[2].Data) != `"plain text"` {
		t.Fatalf("third payload %s", out.Payloads[2].Data)
	}

	if len(auditLog.recs) != 1 {
		t.Fatalf("%d audit records", len(auditLog.recs))
	}
	rec := auditLog.recs[0]
	if rec.Action != audit.ActionRead || rec.EntityType != entityBinary || rec.Outcome != audit.OutcomeSuccess || rec.Actor.UserID != "ops-1" {
		t.Fatalf("audit record %+v", rec)
	}
	if len(rec.PatientIDs) != 2 || !slices.Contains(rec.PatientIDs, patientA) || !slices.Contains(rec.PatientIDs, patientB) {
		t.Fatalf("audited patients %v, want %s and %s", rec.PatientIDs, patientA, patientB)
	}
	if rec.Description != "opened 3 workflow payloads of namespace default" {
		t.Fatalf("audit description %q", rec.Description)
	}

	// A payload that is not sealed comes back as it went.
	plain := `{"payloads":[{"metadata":{"encoding":"` + base64.StdEncoding.EncodeToString([]byte("json/plain")) + `"},"data":"` +
		base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)) + `"}]}`
	if r := call(t, srv, http.MethodPost, CodecDecodePath, operatorToken, plain); r.status != http.StatusOK ||
		!json.Valid([]byte(r.body)) || r.body != plain {
		t.Fatalf("unsealed payload: %d %s", r.status, r.body)
	}

	if r := call(t, srv, http.MethodPost, CodecDecodePath, clinicianToken, body); r.status != http.StatusForbidden {
		t.Fatalf("a clinician decodes: %d %s", r.status, r.body)
	}
	if r := call(t, srv, http.MethodPost, CodecDecodePath, "", body); r.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	denied := auditLog.recs[len(auditLog.recs)-2]
	if denied.Outcome != audit.OutcomeDenied || denied.Actor.UserID != "dr-1" {
		t.Fatalf("the refused decode's audit record %+v", denied)
	}
}

// TestCodecRefusesWhatItCannotOpen: a payload that does not open is 422
// PAYLOAD_UNREADABLE, and malformed input is a 400 naming the field.
func TestCodecRefusesWhatItCannotOpen(t *testing.T) {
	srv, _ := codecAPI(t, converter.NewZlibCodec(converter.ZlibCodecOptions{AlwaysEncode: true}))
	broken := `{"payloads":[{"metadata":{"encoding":"` + base64.StdEncoding.EncodeToString([]byte("binary/zlib")) +
		`"},"data":"` + base64.StdEncoding.EncodeToString([]byte("not zlib")) + `"}]}`
	r := call(t, srv, http.MethodPost, CodecDecodePath, operatorToken, broken)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"error":"`+CodePayloadUnreadable+`"`) {
		t.Fatalf("unopenable payload: %d %s", r.status, r.body)
	}
	for name, body := range map[string]string{
		"not base64":    `{"payloads":[{"data":"%%%"}]}`,
		"unknown field": `{"payloads":[],"extra":1}`,
		"not a list":    `{"payloads":{}}`,
	} {
		if r := call(t, srv, http.MethodPost, CodecDecodePath, operatorToken, body); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
}

// TestCodecPreflight: the Web UI's origin may call with credentials; any
// other origin is refused.
func TestCodecPreflight(t *testing.T) {
	srv, _ := codecAPI(t, nil)
	r := call(t, srv, http.MethodOptions, CodecDecodePath, "", "", "Origin", webUIOrigin,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-namespace")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != webUIOrigin ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("preflight from the Web UI: %d %v", r.status, r.header)
	}
	r = call(t, srv, http.MethodOptions, CodecDecodePath, "", "", "Origin", "http://evil.example")
	if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from elsewhere: %d %v", r.status, r.header)
	}
}
