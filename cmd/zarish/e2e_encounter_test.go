package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEndToEndEncounter drives one encounter through the API on the real
// stack: arrival, a refused out-of-order transition, triage, care, transfer,
// discharge; then an untriaged encounter raises the triage-overdue alert.
func TestEndToEndEncounter(t *testing.T) {
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)
	clinician := "0193c0de-0000-7000-8000-0000000000aa"

	start := func(deadlineMinutes float64) string {
		r := e.do(http.MethodPost, "/v1/clinical/encounters", token, map[string]any{
			"patientId": p.ID, "class": "emergency", "reason": "chest pain", "location": "ed-resus",
			"triageDeadlineMinutes": deadlineMinutes})
		var out struct {
			ID         string `json:"id"`
			WorkflowID string `json:"workflowId"`
		}
		r.json(t, &out)
		if r.status != http.StatusCreated || out.WorkflowID != "encounter/"+out.ID {
			t.Fatalf("start encounter: %d %s", r.status, r.body)
		}
		return out.ID
	}
	step := func(id, transition string, body map[string]any, want int) response {
		t.Helper()
		body["by"] = clinician
		r := e.do(http.MethodPost, "/v1/clinical/encounters/"+id+"/"+transition, token, body)
		if r.status != want {
			t.Fatalf("%s: %d %s", transition, r.status, r.body)
		}
		return r
	}

	id := start(15)
	step(id, "arrive", map[string]any{}, http.StatusOK)
	r = step(id, "start", map[string]any{"attending": clinician}, http.StatusConflict)
	var env errorJSON
	r.json(t, &env)
	if env.Error != "INVALID_TRANSITION" || !strings.Contains(env.Message, "arrived") {
		t.Fatalf("out-of-order start: %s", r.body)
	}
	step(id, "triage", map[string]any{"acuity": 2, "chiefComplaint": "chest pain"}, http.StatusOK)
	step(id, "start", map[string]any{"attending": clinician}, http.StatusOK)
	step(id, "transfer", map[string]any{"location": "cardiology-ward"}, http.StatusOK)
	r = step(id, "discharge", map[string]any{"disposition": "home"}, http.StatusOK)
	if !strings.Contains(string(r.body), `"status":"discharged"`) {
		t.Fatalf("discharge: %s", r.body)
	}
	eventually(t, 20*time.Second, "read model shows the discharged encounter", func() bool {
		r := e.do(http.MethodGet, "/v1/clinical/encounters/"+id, token, nil)
		return r.status == http.StatusOK && strings.Contains(string(r.body), `"status":"discharged"`) &&
			strings.Contains(string(r.body), "cardiology-ward")
	})
	if r := e.do(http.MethodGet, "/v1/clinical/encounters?patientId="+p.ID, token, nil); !strings.Contains(string(r.body), id) {
		t.Fatalf("list encounters: %s", r.body)
	}
	events := readTopic(t, e.stack.KafkaAddress, "zarish.clinical.v1", p.ID, 7)
	last := events[len(events)-1]
	if last.Type != "encounter.discharged" {
		t.Fatalf("last clinical event %s, want encounter.discharged", last.Type)
	}

	// Nobody triages the second encounter within its deadline.
	late := start(0.05) // three seconds
	step(late, "arrive", map[string]any{}, http.StatusOK)
	eventually(t, 30*time.Second, "triage-overdue alert raised", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+p.ID, token, nil)
		return strings.Contains(string(r.body), `"category":"triage-overdue"`)
	})
}
