package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// engineToken is an interface engine's: it may name who acts.
const engineToken = "interface-engine"

// An HL7 v2 message over HTTP is answered with its acknowledgement once
// stored, the outcome in X-HL7-Outcome; the stored message is listed, read
// with its bytes and replayed; a body that is not HL7 v2 is 415.
func TestHL7v2OverHTTP(t *testing.T) {
	d, _ := testDeps(t, nil)
	verifier := d.Verifier.(stubVerifier)
	verifier[engineToken] = access.Principal{Subject: "engine", ClientID: "engine", Scopes: []string{"system/*.*", access.ScopeActOnBehalf}}
	srv := serveRouter(t, d)
	msg := "MSH|^~\\&|ADT1|GHH|ZARISH|WARD|20261201083000||ADT^A04^ADT_A01|HTTP-1|P|2.5.1\rPID|1||PATID77^^^GHH^MR||KHAN^SALMA||19700101|F\r"
	r := call(t, srv, http.MethodPost, "/v1/integration/hl7v2", adminToken, msg, "Content-Type", "application/hl7-v2")
	if r.status != http.StatusOK || r.header.Get("X-HL7-Outcome") != "AA" || !strings.Contains(r.body, "MSA|AA|HTTP-1") ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "application/hl7-v2") {
		t.Fatalf("receive: %d %v %q", r.status, r.header, r.body)
	}
	id := r.header.Get("X-HL7-Message-Id")

	var page struct {
		Data []hl7message.Message `json:"data"`
	}
	r = call(t, srv, http.MethodGet, "/v1/integration/hl7v2/messages?messageType=ADT%5EA04", adminToken, "")
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &page) != nil || len(page.Data) != 1 || page.Data[0].ID.String() != id ||
		page.Data[0].Transport != hl7message.TransportHTTP || len(page.Data[0].Applied) != 1 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	var one HL7v2MessageView
	r = call(t, srv, http.MethodGet, "/v1/integration/hl7v2/messages/"+id, adminToken, "")
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &one) != nil || one.Raw != msg {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	r = call(t, srv, http.MethodPost, "/v1/integration/hl7v2/messages/"+id+"/replay", adminToken, "")
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &one) != nil || one.Replays != 1 || one.Outcome != hl7message.OutcomeAccepted {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, http.MethodPost, "/v1/integration/hl7v2", adminToken, `{"msh":1}`), http.StatusUnsupportedMediaType, CodeUnsupportedMedia)
	wantCode(t, call(t, srv, http.MethodPost, "/v1/integration/hl7v2", adminToken, " ", "Content-Type", "application/hl7-v2"), http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, srv, http.MethodGet, "/v1/integration/hl7v2/messages?outcome=OK", adminToken, ""), http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, srv, http.MethodPost, "/v1/integration/hl7v2", readerToken, msg, "Content-Type", "application/hl7-v2"), http.StatusForbidden, CodeForbidden)

	// A message that acts as the practitioners it names needs a client
	// trusted to name them, as X-On-Behalf-Of does; refused, it is not
	// stored.
	oru := "MSH|^~\\&|LAB|GHH|ZARISH|WARD|20261201090000||ORU^R01^ORU_R01|HTTP-2|P|2.5.1\rPID|1||PATID77^^^GHH^MR||KHAN^SALMA||19700101|F\r" +
		"OBR|1|||2823-3^Potassium^LN\rOBX|1|NM|2823-3^Potassium^LN||4.1|mmol/L|||||F|||20261201085500\r"
	r = call(t, srv, http.MethodPost, "/v1/integration/hl7v2", adminToken, oru, "Content-Type", "application/hl7-v2")
	wantCode(t, r, http.StatusForbidden, CodeForbidden)
	if !strings.Contains(r.body, access.ScopeActOnBehalf) {
		t.Fatalf("the refusal does not name the scope: %s", r.body)
	}
	r = call(t, srv, http.MethodGet, "/v1/integration/hl7v2/messages?controlId=HTTP-2", adminToken, "")
	if json.Unmarshal([]byte(r.body), &page) != nil || len(page.Data) != 0 {
		t.Fatalf("the refused message was stored: %s", r.body)
	}
	r = call(t, srv, http.MethodPost, "/v1/integration/hl7v2", engineToken, oru, "Content-Type", "application/hl7-v2")
	if r.status != http.StatusOK || !strings.Contains(r.body, "MSA|AA|HTTP-2") {
		t.Fatalf("ORU from a client that may name who acts: %d %s", r.status, r.body)
	}
}
