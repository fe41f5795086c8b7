package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"

	"github.com/zarish-sphere/zarish/integrations/temporal"
)

// TestEndToEndWorkflowPayloadsAreSealed: an encounter started for "chest
// pain" runs as ever through the engine, but its workflow history, read
// with a Temporal client that has no key, holds the reason nowhere in the
// clear — every payload sealed with the dev stack's key. A FHIR client
// sees the same process as a Task of the patient.
func TestEndToEndWorkflowPayloadsAreSealed(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "emergency", "reason": "chest pain radiating to the left arm", "location": "ed"})
	var enc struct {
		ID         string `json:"id"`
		WorkflowID string `json:"workflowId"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated || enc.WorkflowID == "" {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}
	// The engine reads its own payloads back: the encounter's view comes
	// from the workflow.
	if r := e.do(http.MethodPost, "/v1/clinical/encounters/"+enc.ID+"/arrive", e.actingToken(), map[string]any{},
		onBehalfOf(demoPractitionerID("nurse.nadia").String())...); r.status != http.StatusOK {
		t.Fatalf("arrive: %d %s", r.status, r.body)
	}
	// A FHIR client sees the running process as a Task.
	eventually(t, 30*time.Second, "the encounter's workflow as a FHIR Task", func() bool {
		r := e.do(http.MethodGet, "/fhir/R4/Task?patient="+p.ID, admin, nil)
		return r.status == http.StatusOK && bytes.Contains(r.body, []byte(`"reference":"Encounter/`+enc.ID+`"`)) &&
			bytes.Contains(r.body, []byte(`"status":"in-progress"`)) && bytes.Contains(r.body, []byte(`"value":"`+enc.WorkflowID+`"`))
	})
	keyless, err := temporal.Dial(context.Background(), temporal.ClientConfig{Address: e.stack.TemporalAddress, Namespace: "default"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer keyless.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := keyless.GetWorkflowHistory(ctx, enc.WorkflowID, "", false, 0)
	events, sealed := 0, 0
	var started *commonpb.Payload
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		raw, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("chest pain")) {
			t.Fatalf("event %d (%s) holds the reason in the clear", ev.EventId, ev.EventType)
		}
		if bytes.Contains(raw, []byte(temporal.MetadataEncryptedEncoding)) {
			sealed++
		}
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil && started == nil && len(a.GetInput().GetPayloads()) > 0 {
			started = a.GetInput().GetPayloads()[0]
		}
	}
	if events < 3 || sealed == 0 {
		t.Fatalf("%d events, %d with sealed payloads", events, sealed)
	}
	if started == nil {
		t.Fatal("the history holds no start input")
	}

	// The operator opens the start input through the codec endpoint the
	// Web UI is pointed at; a nurse may not; the opening is audited with
	// the patient.
	body, _ := json.Marshal(map[string]any{"payloads": []map[string]any{{"metadata": started.Metadata, "data": started.Data}}})
	operator := e.signIn("ops.omar", "demo-password-operator")
	r = e.do(http.MethodPost, "/v1/temporal/codec/decode", operator, json.RawMessage(body), "X-Namespace", "default")
	var opened struct {
		Payloads []struct {
			Data []byte `json:"data"`
		} `json:"payloads"`
	}
	r.json(t, &opened)
	if r.status != http.StatusOK || len(opened.Payloads) != 1 || !bytes.Contains(opened.Payloads[0].Data, []byte("chest pain radiating")) {
		t.Fatalf("operator decode: %d %s", r.status, r.body)
	}
	nurse := e.signIn("nurse.nadia", "demo-password-nurse")
	if r := e.do(http.MethodPost, "/v1/temporal/codec/decode", nurse, json.RawMessage(body)); r.status != http.StatusForbidden {
		t.Fatalf("a nurse decodes: %d %s", r.status, r.body)
	}
	auditor := e.signIn("audit.sara", "demo-password-auditor")
	eventually(t, 10*time.Second, "the opening in the audit trail", func() bool {
		r := e.do(http.MethodGet, "/v1/audit/events?entityType=Binary&patientId="+p.ID, auditor, nil)
		return r.status == http.StatusOK && bytes.Contains(r.body, []byte(`"userId":"`)) &&
			bytes.Contains(r.body, []byte(`"outcome":"success"`)) && bytes.Contains(r.body, []byte("opened 1 workflow payloads of namespace default"))
	})

	// The embedded Web UI calls the console's codec with the browser's
	// cookies.
	res, err := http.Get(e.stack.UIURL + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var settings struct {
		Codec struct {
			Endpoint           string
			IncludeCredentials bool
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&settings); err != nil || settings.Codec.Endpoint != e.stack.APIURL+"/console/temporal/codec" ||
		!settings.Codec.IncludeCredentials {
		t.Fatalf("Web UI codec settings %+v (%v)", settings.Codec, err)
	}
}
