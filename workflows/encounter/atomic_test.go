package encounter_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	activities "github.com/zarish-sphere/zarish/activities/encounter"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// A transition the read model refuses for good (a chief complaint with a
// NUL byte, say) is refused as RefusedNotRecorded and leaves the workflow as
// it was: status, timeline and search attribute agree with the database.
func TestTransitionTheReadModelRefusesChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.refuse = func(req activities.TransitionRequest) error {
		if req.Entry.Kind == encounter.EventTriaged && req.State.ChiefComplaint == "x\x00y" {
			return process.InvalidInput(&domain.ValidationError{Fields: []domain.FieldError{{Field: "(body)", Message: "NUL"}}})
		}
		return nil
	}
	h.send(time.Minute, encounterwf.UpdateArrive, arrive)
	bad := h.send(2*time.Minute, encounterwf.UpdateTriage, encounterwf.TriageRequest{By: nurse, Acuity: 3, ChiefComplaint: "x\x00y"})
	var between encounterwf.State
	h.at(3*time.Minute, func() { between = h.state() })
	good := h.send(4*time.Minute, encounterwf.UpdateTriage, triage)
	h.send(5*time.Minute, encounterwf.UpdateCancel, encounterwf.CancelRequest{By: nurse, Reason: "left"})
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
	h.result()

	var app *temporal.ApplicationError
	if !errors.As(bad.failed, &app) || app.Type() != encounterwf.RefusedNotRecorded {
		t.Fatalf("refused triage: accepted %v, failed %v", bad.accepted, bad.failed)
	}
	if between.Status != encounter.StatusArrived || between.ChiefComplaint != "" {
		t.Fatalf("after the refused triage the workflow says %s %q", between.Status, between.ChiefComplaint)
	}
	if good.failed != nil {
		t.Fatalf("the next triage: %v", good.failed)
	}
	want := []string{"planned", "arrived", "triaged", "cancelled"}
	if len(h.statuses) != len(want) {
		t.Fatalf("search attribute went %v, want %v", h.statuses, want)
	}
	for i := range want {
		if h.statuses[i] != want[i] {
			t.Fatalf("search attribute went %v, want %v", h.statuses, want)
		}
	}
}

// A read model that stays down past the retry policy refuses the Update as
// RefusedRecordUnavailable instead of retrying forever.
func TestTransitionWhoseRecordKeepsFailingIsRefused(t *testing.T) {
	h := newHarness(t)
	h.refuse = func(req activities.TransitionRequest) error {
		if req.Entry.Kind == encounter.EventArrived {
			return errors.New("connection refused")
		}
		return nil
	}
	late := h.send(time.Minute, encounterwf.UpdateArrive, arrive)
	h.send(time.Hour, encounterwf.UpdateCancel, encounterwf.CancelRequest{By: nurse, Reason: "left"})
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
	final := h.result()
	var app *temporal.ApplicationError
	if !errors.As(late.failed, &app) || app.Type() != encounterwf.RefusedRecordUnavailable {
		t.Fatalf("arrive: %v", late.failed)
	}
	if final.Status != encounter.StatusCancelled || final.ArrivedAt != nil {
		t.Fatalf("final %s, arrived %v", final.Status, final.ArrivedAt)
	}
}

// The audit record a request carries reaches the read-model write, so the
// change and its record commit in one transaction.
func TestTransitionCarriesItsAuditRecord(t *testing.T) {
	h := newHarness(t)
	rec := &audit.Record{ID: uuid.MustParse("0193a000-0000-7000-8000-0000000000f1"), Action: audit.ActionUpdate, Status: 200}
	req := arrive
	req.Audit = rec
	h.send(time.Minute, encounterwf.UpdateArrive, req)
	h.send(2*time.Minute, encounterwf.UpdateCancel, encounterwf.CancelRequest{By: nurse, Reason: "left"})
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
	h.result()
	if len(h.recorded) != 2 || h.recorded[0].Audit == nil || h.recorded[0].Audit.ID != rec.ID || h.recorded[1].Audit != nil {
		t.Fatalf("recorded %+v", h.recorded)
	}
}

// A workflow id reads back as the encounter it names; another process's does not.
func TestIDFromWorkflowID(t *testing.T) {
	id := testInput().EncounterID
	got, err := encounterwf.IDFromWorkflowID(encounterwf.WorkflowID(id))
	if err != nil || got != id {
		t.Fatalf("round trip: %s, %v", got, err)
	}
	for _, bad := range []string{"alert/" + id.String(), "encounter/x", ""} {
		if _, err := encounterwf.IDFromWorkflowID(bad); err == nil {
			t.Errorf("%q read as an encounter", bad)
		}
	}
}
