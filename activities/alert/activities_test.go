package alert_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	activities "github.com/zarish-sphere/zarish/activities/alert"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/workflows/process"
)

var now = time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)

func env(t *testing.T, a *activities.Activities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(a)
	return e
}

func nonRetryable(t *testing.T, err error) {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != process.TypeInvalidInput {
		t.Fatalf("err = %v, want a non-retryable %s", err, process.TypeInvalidInput)
	}
}

func TestNotifyOnPostgresIsIdempotent(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewAlertStore(pool)
	a := activities.New(store)
	e := env(t, a)

	nurse, err := careteam.NewPractitioner(uuid.Must(uuid.NewV7()), "Amina Rahman", []careteam.Role{careteam.RoleNurse}, []string{"ward-3"},
		[]careteam.ContactPoint{{System: careteam.ContactPush, Value: "tok-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreatePractitioner(ctx, nil, nurse); err != nil {
		t.Fatal(err)
	}
	v, err := e.ExecuteActivity(a.PreparePolicy, activities.PolicyRequest{PolicyID: "no-such-policy", Category: "news2-high", Severity: alert.SeverityCritical})
	if err != nil {
		t.Fatal(err)
	}
	var policy alert.Policy
	if err := v.Get(&policy); err != nil || policy.ID != "critical-default" {
		t.Fatalf("policy %q, %v: an unknown named policy falls back to routing", policy.ID, err)
	}
	r := alert.Raise{AlertID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), Unit: "ward-3",
		Severity: alert.SeverityCritical, Category: "news2-high", Message: "NEWS2 9", Source: "encounter/1"}
	if _, err := e.ExecuteActivity(a.RecordRaised, activities.RaisedRequest{Raise: r, PolicyID: policy.ID, At: now}); err != nil {
		t.Fatal(err)
	}
	req := activities.NotifyRequest{Raise: r, Step: alert.Step{}, Level: policy.Levels[0], At: now}
	var first []alert.Notification
	for i := range 2 { // the second call is a retry
		v, err := e.ExecuteActivity(a.Notify, req)
		if err != nil {
			t.Fatal(err)
		}
		var ns []alert.Notification
		if err := v.Get(&ns); err != nil {
			t.Fatal(err)
		}
		if len(ns) != 2 { // inapp and push, the critical level 1 channels
			t.Fatalf("notifications %+v", ns)
		}
		if i == 0 {
			first = ns
		} else if ns[0].ID != first[0].ID || ns[1].ID != first[1].ID {
			t.Fatal("a retry made new notification ids")
		}
	}
	var rows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE key = $1`, r.PatientID.String()).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("outbox rows %d, %v", rows, err)
	}
}

func TestInvalidInputIsNotRetried(t *testing.T) {
	a := activities.New(postgres.NewAlertStore(pgtest.NewPool(t)))
	e := env(t, a)
	_, err := e.ExecuteActivity(a.PreparePolicy, activities.PolicyRequest{Category: "x", Severity: "catastrophic"})
	nonRetryable(t, err)
	_, err = e.ExecuteActivity(a.RecordRaised, activities.RaisedRequest{Raise: alert.Raise{}, At: now})
	nonRetryable(t, err)
	_, err = e.ExecuteActivity(a.RecordAcknowledged, activities.TransitionRequest{AlertID: uuid.New(), PractitionerID: uuid.New(), At: now})
	nonRetryable(t, err) // unknown alert
	_, err = e.ExecuteActivity(a.Notify, activities.NotifyRequest{})
	nonRetryable(t, err)
}

// TestNotifyReachesTheOwnerAtTheFirstLevel: an alert naming an owner notifies
// them with the first level's recipients, even off the unit, but not with
// later levels or reminders.
func TestNotifyReachesTheOwnerAtTheFirstLevel(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewAlertStore(pgtest.NewPool(t))
	a := activities.New(store)
	e := env(t, a)
	newPractitioner := func(name string, role careteam.Role, unit string) careteam.Practitioner {
		p, err := careteam.NewPractitioner(uuid.Must(uuid.NewV7()), name, []careteam.Role{role}, []string{unit}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreatePractitioner(ctx, nil, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nurse := newPractitioner("Nurse Amina", careteam.RoleNurse, "ward-3")
	owner := newPractitioner("Dr Karim", careteam.RolePhysician, "clinic-2")
	policy, err := store.GetPolicy(ctx, "warning-default")
	if err != nil {
		t.Fatal(err)
	}
	r := alert.Raise{AlertID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), Unit: "ward-3",
		Severity: alert.SeverityWarning, Category: "care-plan-activity-overdue", Message: "Wound review overdue",
		Source: "careplan/1", OwnerID: &owner.ID}
	if _, err := e.ExecuteActivity(a.RecordRaised, activities.RaisedRequest{Raise: r, PolicyID: policy.ID, At: now}); err != nil {
		t.Fatal(err)
	}
	notified := func(req activities.NotifyRequest) map[uuid.UUID]bool {
		t.Helper()
		v, err := e.ExecuteActivity(a.Notify, req)
		if err != nil {
			t.Fatal(err)
		}
		var ns []alert.Notification
		if err := v.Get(&ns); err != nil {
			t.Fatal(err)
		}
		who := map[uuid.UUID]bool{}
		for _, n := range ns {
			who[n.PractitionerID] = true
		}
		return who
	}
	if who := notified(activities.NotifyRequest{Raise: r, Level: policy.Levels[0], At: now}); !who[owner.ID] || !who[nurse.ID] || len(who) != 2 {
		t.Fatalf("first level notified %v", who)
	}
	if who := notified(activities.NotifyRequest{Raise: r, Step: alert.Step{Level: 1}, Level: policy.Levels[1], At: now}); who[owner.ID] {
		t.Fatalf("second level notified the owner: %v", who)
	}
	reminder := policy.Levels[0]
	reminder.Recipients = []alert.RecipientRule{{Kind: alert.RecipientPractitioner, PractitionerID: nurse.ID}}
	if who := notified(activities.NotifyRequest{Raise: r, Level: reminder, Kind: "reminder-1", At: now}); who[owner.ID] || !who[nurse.ID] {
		t.Fatalf("reminder notified %v", who)
	}
}

// TestNotifyStepRecordsAnEmptyLevelAndTheOperatorAlarm: a level with nobody
// on the unit is recorded in the read model's timeline naming the role and
// unit; an alert no level could deliver is closed as undeliverable with an
// email to the fallback contact in the outbox.
func TestNotifyStepRecordsAnEmptyLevelAndTheOperatorAlarm(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewAlertStore(pool)
	a := activities.New(store, activities.WithFallbackContact("operator@localhost"))
	e := env(t, a)
	policy, err := store.GetPolicy(ctx, "critical-default")
	if err != nil {
		t.Fatal(err)
	}
	r := alert.Raise{AlertID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), Unit: "ward-3",
		Severity: alert.SeverityCritical, Category: "critical-lab-value", Message: "K+ 7.1", Source: "diagnostic/1"}
	if _, err := e.ExecuteActivity(a.RecordRaised, activities.RaisedRequest{Raise: r, PolicyID: policy.ID, At: now}); err != nil {
		t.Fatal(err)
	}
	v, err := e.ExecuteActivity(a.NotifyStep, activities.NotifyRequest{Raise: r, Level: policy.Levels[0], At: now})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.NotifyResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Notifications) != 0 || res.Unreachable == nil || res.Unreachable.Note != "no nurse on ward-3" {
		t.Fatalf("result %+v", res)
	}
	v, err = e.ExecuteActivity(a.RecordUndeliverable, activities.UndeliverableRequest{Raise: r, Reasons: []string{res.Unreachable.Note}, At: now})
	if err != nil {
		t.Fatal(err)
	}
	var sent []alert.Notification
	if err := v.Get(&sent); err != nil || len(sent) != 1 || sent[0].Address != "operator@localhost" || sent[0].Channel != alert.ChannelEmail {
		t.Fatalf("fallback %+v, %v", sent, err)
	}
	got, err := store.GetAlert(ctx, r.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != alert.StatusUndeliverable || got.Level != 1 {
		t.Fatalf("alert %s at level %d", got.Status, got.Level)
	}
	var kinds []alert.EventKind
	for _, ev := range got.Timeline {
		kinds = append(kinds, ev.Kind)
	}
	if len(kinds) != 4 || kinds[1] != alert.EventUnreachable || kinds[2] != alert.EventUndeliverable || kinds[3] != alert.EventNotified {
		t.Fatalf("timeline %v", kinds)
	}
	var body string
	if err := pool.QueryRow(ctx, `SELECT data->>'body' FROM outbox WHERE id = $1`, sent[0].ID).Scan(&body); err != nil {
		t.Fatalf("fallback notification not in the outbox: %v", err)
	}
	if !strings.Contains(body, "no nurse on ward-3") || !strings.Contains(body, "K+ 7.1") {
		t.Fatalf("fallback body %q", body)
	}
}

// TestAcknowledgementCommitsWithItsAuditRecord: the request's audit record
// is stored in the acknowledgement's own transaction, once.
func TestAcknowledgementCommitsWithItsAuditRecord(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewAlertStore(pool)
	a := activities.New(store)
	e := env(t, a)
	r := alert.Raise{AlertID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), Unit: "ward-3",
		Severity: alert.SeverityUrgent, Category: "news2-high", Message: "NEWS2 6", Source: "encounter/1"}
	if _, err := e.ExecuteActivity(a.RecordRaised, activities.RaisedRequest{Raise: r, PolicyID: "urgent-default", At: now}); err != nil {
		t.Fatal(err)
	}
	rec := &audit.Record{ID: uuid.Must(uuid.NewV7()), Time: now, Actor: audit.Actor{Subject: "ward-3", ClientID: "ward-3"},
		Action: audit.ActionUpdate, EntityType: "Flag", Method: "POST", Route: "/v1/notifications/alerts/:id/acknowledge",
		Status: 200, Purpose: audit.DefaultPurpose, Outcome: audit.OutcomeSuccess}
	nurse := uuid.Must(uuid.NewV7())
	req := activities.TransitionRequest{AlertID: r.AlertID, PractitionerID: nurse, Name: "Nurse Amina", At: now, Audit: rec}
	for range 2 { // the second is a retry: no second record
		if _, err := e.ExecuteActivity(a.RecordAcknowledged, req); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var entity string
	var patient uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT count(*), min(entity_id), min(patient_id::text)::uuid FROM audit_events WHERE id = $1`, rec.ID).Scan(&n, &entity, &patient); err != nil || n != 1 {
		t.Fatalf("audit records %d, %v", n, err)
	}
	if entity != r.AlertID.String() || patient != r.PatientID {
		t.Fatalf("audit record names %s / %s", entity, patient)
	}
	got, _ := store.GetAlert(ctx, r.AlertID)
	if got.Status != alert.StatusAcknowledged {
		t.Fatalf("status %s", got.Status)
	}
}
