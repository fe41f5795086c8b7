package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/encounter"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// TestEndToEndEncounter drives one encounter through the API on the real
// stack: arrival, a refused out-of-order transition, triage, care, transfer,
// discharge; then an untriaged encounter raises the triage-overdue alert.
// Each transition is an interface engine's for the dev stack's physician
// (X-On-Behalf-Of); acting as itself, a machine client moves no encounter.
func TestEndToEndEncounter(t *testing.T) {
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)
	clinician := demoPractitionerID("dr.karim").String()
	engine := e.actingToken()

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
		r := e.do(http.MethodPost, "/v1/clinical/encounters/"+id+"/"+transition, engine, body, onBehalfOf(clinician)...)
		if r.status != want {
			t.Fatalf("%s: %d %s", transition, r.status, r.body)
		}
		return r
	}

	id := start(15)
	var env errorJSON
	r = e.do(http.MethodPost, "/v1/clinical/encounters/"+id+"/arrive", token, map[string]any{"by": clinician})
	if r.json(t, &env); r.status != http.StatusForbidden || env.Error != "PERSON_REQUIRED" {
		t.Fatalf("a machine client naming the physician: %d %s, want 403 PERSON_REQUIRED", r.status, r.body)
	}
	step(id, "arrive", map[string]any{"by": clinician}, http.StatusOK)
	r = step(id, "start", map[string]any{"attending": clinician}, http.StatusConflict)
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
	// The audit trail names the engine and the physician it acted for.
	r = e.do(http.MethodGet, "/v1/audit/events?entityType=Encounter&action=update&patientId="+p.ID+"&limit=200", token, nil)
	var trail struct {
		Data []struct {
			Status int `json:"status"`
			Actor  struct {
				ClientID       string `json:"clientId"`
				PractitionerID string `json:"practitionerId"`
				Asserted       bool   `json:"asserted"`
			} `json:"actor"`
		} `json:"data"`
	}
	r.json(t, &trail)
	acted := 0
	for _, rec := range trail.Data {
		if rec.Status != http.StatusOK {
			continue
		}
		if rec.Actor.ClientID != actingClientID || rec.Actor.PractitionerID != clinician || !rec.Actor.Asserted {
			t.Fatalf("a transition's audit actor %+v, want %s asserting %s", rec.Actor, actingClientID, clinician)
		}
		acted++
	}
	if acted != 5 { // arrive, triage, start, transfer, discharge
		t.Fatalf("%d audited transitions, want 5: %s", acted, r.body)
	}

	// An order placed by another process holds the discharge until it is
	// closed; overriding it takes force and a reason, and is marked in the
	// audit trail.
	held := start(15)
	step(held, "arrive", map[string]any{}, http.StatusOK)
	step(held, "triage", map[string]any{"acuity": 3, "chiefComplaint": "fall"}, http.StatusOK)
	step(held, "start", map[string]any{"attending": clinician}, http.StatusOK)
	tc, err := client.Dial(e.stack.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	order := uuid.Must(uuid.NewV7())
	if err := encounterflow.LinkOrder(context.Background(), tc, uuid.MustParse(held),
		encounterflow.OrderSignal{OrderID: order, Kind: encounter.OrderPrescription}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "order linked", func() bool {
		r := e.do(http.MethodGet, "/v1/clinical/encounters/"+held, token, nil)
		return strings.Contains(string(r.body), order.String())
	})
	r = step(held, "discharge", map[string]any{"disposition": "home"}, http.StatusConflict)
	if r.json(t, &env); env.Error != "OPEN_ORDERS" || !strings.Contains(env.Message, order.String()) {
		t.Fatalf("discharge with an open order: %s", r.body)
	}
	step(held, "discharge", map[string]any{"disposition": "home", "force": true, "reason": "transferred to another hospital"}, http.StatusOK)
	r = e.do(http.MethodGet, "/v1/audit/events?entityType=Encounter&action=update&patientId="+p.ID+"&limit=200", token, nil)
	if !strings.Contains(string(r.body), "FORCED DISCHARGE with 1 open order(s) [prescription "+order.String()+"]: transferred to another hospital") {
		t.Fatalf("forced discharge not marked in the audit trail: %s", r.body)
	}

	// A triage the store cannot hold (a NUL byte) is refused, and the
	// workflow and the read model still agree the encounter has arrived;
	// a good triage then goes through. A change to a cancelled encounter is
	// 409 naming its status, not 404.
	odd := start(15)
	step(odd, "arrive", map[string]any{}, http.StatusOK)
	r = step(odd, "triage", map[string]any{"acuity": 3, "chiefComplaint": "x\u0000y"}, http.StatusBadRequest)
	st, err := encounterflow.GetState(context.Background(), tc, uuid.MustParse(odd))
	if err != nil {
		t.Fatal(err)
	}
	rm := e.do(http.MethodGet, "/v1/clinical/encounters/"+odd, token, nil)
	var view encounter.Record
	rm.json(t, &view)
	if st.Status != encounter.StatusArrived || view.Status != encounter.StatusArrived || view.Version != len(st.Timeline) {
		t.Fatalf("after the refused triage: workflow %s (%d entries), read model %s (version %d)", st.Status, len(st.Timeline), view.Status, view.Version)
	}
	step(odd, "triage", map[string]any{"acuity": 3, "chiefComplaint": "fall"}, http.StatusOK)
	step(odd, "cancel", map[string]any{"reason": "left before being seen"}, http.StatusOK)
	eventually(t, 20*time.Second, "the cancelled encounter's workflow closes", func() bool {
		desc, err := tc.DescribeWorkflowExecution(context.Background(), encounterflow.WorkflowID(uuid.MustParse(odd)), "")
		return err == nil && desc.GetWorkflowExecutionInfo().GetCloseTime() != nil
	})
	r = step(odd, "arrive", map[string]any{}, http.StatusConflict)
	if r.json(t, &env); env.Error != "INVALID_TRANSITION" || !strings.Contains(env.Message, "cancelled") {
		t.Fatalf("a change to a cancelled encounter: %s", r.body)
	}

	// Nobody triages the second encounter within its deadline.
	late := start(0.05) // three seconds
	step(late, "arrive", map[string]any{}, http.StatusOK)
	eventually(t, 30*time.Second, "triage-overdue alert raised", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+p.ID, token, nil)
		return strings.Contains(string(r.body), `"category":"triage-overdue"`)
	})
}
