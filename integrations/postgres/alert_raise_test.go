package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// fakeEngine stands for Temporal: it remembers what was started and which
// escalations run, and may refuse to start.
type fakeEngine struct {
	mu       sync.Mutex
	started  []alert.Raise
	running  map[uuid.UUID]bool
	startErr error
}

func (f *fakeEngine) Running(_ context.Context, id uuid.UUID) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[id], nil
}

func (f *fakeEngine) Start(_ context.Context, r alert.Raise) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return f.startErr
	}
	f.started = append(f.started, r)
	if f.running == nil {
		f.running = map[uuid.UUID]bool{}
	}
	f.running[r.AlertID] = true
	return nil
}

func raiseRecord(patient uuid.UUID) *audit.Record {
	return &audit.Record{ID: uuid.Must(uuid.NewV7()), Time: alertNow, Actor: audit.Actor{Subject: "lab", ClientID: "lab"},
		Action: audit.ActionCreate, EntityType: "Flag", Method: "POST", Route: "/v1/notifications/alerts",
		Status: 202, Purpose: audit.DefaultPurpose, Outcome: audit.OutcomeSuccess, PatientID: &patient}
}

func auditCount(t *testing.T, pool *pgxpool.Pool, id uuid.UUID) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAlertRaiseThatCannotBeStoredStartsNothing is the poisoned
// deduplication of issue 10: a message PostgreSQL refuses (a NUL byte)
// fails the raise, starts no escalation and stores no row, so the next,
// critical raise for the same patient, category and source is a new alert
// that is started — never answered with one that does not exist.
func TestAlertRaiseThatCannotBeStoredStartsNothing(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAlertStore(pool)
	engine := &fakeEngine{}
	patient := uuid.Must(uuid.NewV7())
	raise := alert.Raise{PatientID: patient, Unit: "ward-3", Severity: alert.SeverityWarning,
		Category: "critical-lab-value", Message: "a\x00b", Source: "lab"}

	rec := raiseRecord(patient)
	_, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow, Audit: rec}, engine)
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("raise with a NUL byte: %v, want a validation error", err)
	}
	if len(engine.started) != 0 || auditCount(t, pool, rec.ID) != 0 {
		t.Fatalf("a raise that was not stored started %d escalations / stored its audit record", len(engine.started))
	}

	raise.Severity, raise.Message = alert.SeverityCritical, "K+ 7.1 mmol/L"
	rec = raiseRecord(patient)
	got, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow, Audit: rec}, engine)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created || len(engine.started) != 1 || engine.started[0].AlertID != got.Record.ID {
		t.Fatalf("critical raise: %+v, started %+v", got, engine.started)
	}
	if started := engine.started[0]; started.PolicyID != "critical-default" || started.Message != raise.Message {
		t.Fatalf("started %+v", started)
	}
	stored, err := s.GetAlert(ctx, got.Record.ID)
	if err != nil || stored.Status != alert.StatusOpen || stored.Severity != alert.SeverityCritical || len(stored.Timeline) != 1 {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	if auditCount(t, pool, rec.ID) != 1 {
		t.Fatal("the raise's audit record is not stored with it")
	}

	// A start that fails rolls the row and its record back.
	engine.startErr = errors.New("temporal unavailable")
	other := raise
	other.Source = "lab-2"
	rec = raiseRecord(patient)
	if _, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: other, At: alertNow, Audit: rec}, engine); err == nil {
		t.Fatal("a raise whose escalation did not start succeeded")
	}
	if _, err := s.FindOpenAlert(ctx, patient, other.Category, other.Source); !errors.Is(err, domain.ErrNotFound) || auditCount(t, pool, rec.ID) != 0 {
		t.Fatalf("a raise whose escalation did not start left its row: %v", err)
	}
}

// TestAlertRaiseDeduplicatesOnlyRunningAlerts: an open alert answers a raise
// for the same patient, category and source while its escalation runs; one
// whose escalation has ended does not, and a new alert is raised.
func TestAlertRaiseDeduplicatesOnlyRunningAlerts(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAlertStore(pool)
	engine := &fakeEngine{}
	patient := uuid.Must(uuid.NewV7())
	raise := alert.Raise{PatientID: patient, Unit: "ward-3", Severity: alert.SeverityCritical,
		Category: "news2-high", Message: "NEWS2 9", Source: "observation", PolicyID: "no-such-policy"}
	first, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow}, engine)
	if err != nil || !first.Created || first.Record.PolicyID != "critical-default" {
		t.Fatalf("first: %+v, %v (an unknown named policy falls back to routing)", first, err)
	}
	rec := raiseRecord(patient)
	again, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow.Add(time.Minute), Audit: rec}, engine)
	if err != nil || again.Created || again.Record.ID != first.Record.ID || len(engine.started) != 1 {
		t.Fatalf("second: %+v, %v", again, err)
	}
	if auditCount(t, pool, rec.ID) != 1 {
		t.Fatal("a deduplicated raise is not audited")
	}
	engine.running[first.Record.ID] = false // its escalation failed or was terminated
	third, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow.Add(2 * time.Minute)}, engine)
	if err != nil || !third.Created || third.Record.ID == first.Record.ID {
		t.Fatalf("raise after the escalation ended: %+v, %v", third, err)
	}
}

// TestAlertRaiseIdempotencyKey: the same key and body answer the first
// alert as it is now; the same key with another body is refused.
func TestAlertRaiseIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAlertStore(pool)
	engine := &fakeEngine{}
	raise := alert.Raise{PatientID: uuid.Must(uuid.NewV7()), Unit: "ward-3", Severity: alert.SeverityUrgent,
		Category: "news2-high", Message: "NEWS2 6", Source: "observation"}
	idem := &domain.Idempotency{Scope: "lab POST /v1/notifications/alerts", Key: "k-1", Hash: sha256.Sum256([]byte("body"))}
	first, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow, Idempotency: idem}, engine)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordExhausted(ctx, first.Record.ID, alertNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	replay, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow.Add(2 * time.Hour), Idempotency: idem}, engine)
	if err != nil || !replay.Replayed || replay.Record.ID != first.Record.ID || replay.Record.Status != alert.StatusExhausted {
		t.Fatalf("replay: %+v, %v", replay, err)
	}
	other := *idem
	other.Hash = sha256.Sum256([]byte("another body"))
	if _, err := s.RaiseAlert(ctx, alert.RaiseRequest{Raise: raise, At: alertNow, Idempotency: &other}, engine); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("same key, other body: %v", err)
	}
	if len(engine.started) != 1 {
		t.Fatalf("%d escalations started", len(engine.started))
	}
}

// TestAlertUndeliverableIsListedAndCounted: an undeliverable alert is
// closed, listed under its own status, and not active.
func TestAlertUndeliverableIsListedAndCounted(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAlertStore(pool)
	r := raiseFixture(t, s)
	fallback := alert.FallbackNotification(r, "operator@localhost", []string{"no nurse on ward-3"}, alertNow)
	for range 2 { // a retry writes nothing twice
		if err := s.RecordUndeliverable(ctx, r.AlertID, alert.UndeliverableEvent("operator@localhost", alertNow), []alert.Notification{fallback}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListAlerts(ctx, alert.Filter{Status: alert.StatusUndeliverable})
	if err != nil || len(page.Alerts) != 1 || page.Alerts[0].ID != r.AlertID {
		t.Fatalf("undeliverable alerts: %+v, %v", page, err)
	}
	if active, _ := s.ListAlerts(ctx, alert.Filter{Active: true}); len(active.Alerts) != 0 {
		t.Fatalf("an undeliverable alert is active: %+v", active.Alerts)
	}
	if n, err := s.CountClosedAlerts(ctx, r.PatientID, r.Category, r.Source); err != nil || n != 1 {
		t.Fatalf("closed %d, %v", n, err)
	}
	if sent := outboxNotifications(t, pool, r.PatientID.String()); len(sent) != 1 || sent[0].Address != "operator@localhost" {
		t.Fatalf("outbox %+v", sent)
	}
	metrics := postgres.NewAlertMetrics(pool, slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.Collectors()...)
	families, err := reg.Gather()
	if err != nil || len(families) != 1 || families[0].GetName() != "zarish_alerts_undeliverable_total" ||
		families[0].GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Fatalf("metrics %v, %v", families, err)
	}
}

// TestAlertCurrentLocation: an alert raised without a unit goes to where the
// patient's open encounter is; a closed encounter does not count.
func TestAlertCurrentLocation(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAlertStore(pool)
	patient := pgtest.Patient(t, pool)
	encounter := func(status, location string, at time.Time) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		if _, err := pool.Exec(ctx, `INSERT INTO encounters (id, patient_id, class, status, location, created_at, version, updated_at)
			VALUES ($1, $2, 'inpatient', $3, $4, $5, 1, $5)`, id, patient, status, location, at); err != nil {
			t.Fatal(err)
		}
		return id
	}
	if _, err := s.CurrentLocation(ctx, patient, nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("no encounter: %v", err)
	}
	open := encounter("in-progress", "ward-3", alertNow)
	encounter("discharged", "ward-9", alertNow.Add(time.Hour))
	loc, err := s.CurrentLocation(ctx, patient, nil)
	if err != nil || loc.Unit != "ward-3" || loc.EncounterID != open {
		t.Fatalf("location %+v, %v", loc, err)
	}
	if loc, err := s.CurrentLocation(ctx, patient, &open); err != nil || loc.Unit != "ward-3" {
		t.Fatalf("named encounter: %+v, %v", loc, err)
	}
	other := uuid.Must(uuid.NewV7())
	if _, err := s.CurrentLocation(ctx, patient, &other); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown encounter: %v", err)
	}
}
