package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/migrations"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// Test codes of the shipped catalogue: a C-reactive protein, a potassium
// ordered alone, and a chest X-ray.
const (
	dxCRP       = "1988-5"
	dxPotassium = "2823-3"
	dxChestXR   = "36643-5"
)

var (
	dxNow       = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	dxOrderer   = uuid.MustParse("0193c000-0000-7000-8000-0000000000f1")
	dxPhleb     = uuid.MustParse("0193c000-0000-7000-8000-0000000000f2")
	dxScientist = uuid.MustParse("0193c000-0000-7000-8000-0000000000f3")
	dxCatalogue = func() *diagnostic.Catalogue {
		c, err := diagnostic.Embedded()
		if err != nil {
			panic(err)
		}
		return c
	}()
)

// newDx is an order of tests for patient placed at created, routine unless
// priority says otherwise.
func newDx(t *testing.T, patient uuid.UUID, enc *uuid.UUID, created time.Time, priority diagnostic.Priority, tests ...string) diagnostic.Report {
	t.Helper()
	r, err := diagnostic.New(diagnostic.Request{
		ID: uuid.Must(uuid.NewV7()), PatientID: patient, EncounterID: enc, Tests: tests, Priority: priority,
		ClinicalInfo: "fever and cough for three days", OrdererID: dxOrderer,
		// Nanoseconds, as a clock gives them: the store keeps microseconds,
		// and the list's cursor still finds its place.
		CreatedAt: created.Add(123),
	}, dxCatalogue)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dxStep takes a change's result, failing the test on its error.
func dxStep(t *testing.T) func(diagnostic.Report, error) diagnostic.Report {
	t.Helper()
	return func(r diagnostic.Report, err error) diagnostic.Report {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// dxReceived has every tube of r drawn at 10 minutes after the order and
// received at 20, accessions named after the order.
func dxReceived(t *testing.T, r diagnostic.Report) diagnostic.Report {
	t.Helper()
	at := r.Order.CreatedAt
	for i, c := range r.Order.Containers() {
		acc := "A" + r.Order.ID.String()[:8] + string(rune('1'+i))
		r = dxStep(t)(r.Collect(diagnostic.Collection{Accession: acc, Container: c, CollectedAt: at.Add(10 * time.Minute),
			CollectorID: dxPhleb}, at.Add(10*time.Minute)))
		r = dxStep(t)(r.Receive(acc, dxScientist, at.Add(20*time.Minute)))
	}
	return r
}

// dxObservation is an analyser's result of code for the report's patient.
func dxObservation(t *testing.T, r diagnostic.Report, code string, value float64, unit string) observation.Observation {
	t.Helper()
	at := r.Order.CreatedAt.Add(40 * time.Minute)
	o, err := observation.New(uuid.Must(uuid.NewV7()), observation.Input{PatientID: r.Order.PatientID, Code: code, EffectiveAt: at,
		Value: &observation.ValueInput{Value: &value, Unit: unit}},
		observation.Subject{Sex: observation.SexMale, AgeMonths: 50 * 12}, observation.Performer{ClientID: "analyser"}, at)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// dxVerified is a CRP order collected, resulted (5 mg/L) an hour after the
// order and verified half an hour later; it returns the result too.
func dxVerified(t *testing.T, r diagnostic.Report) (diagnostic.Report, observation.Observation) {
	t.Helper()
	crp := dxObservation(t, r, observation.CodeCRP, 5, "mg/L")
	r = dxStep(t)(dxReceived(t, r).Record(crp, r.Order.CreatedAt.Add(time.Hour)))
	r = dxStep(t)(r.Verify(diagnostic.Verification{By: dxScientist, Role: diagnostic.RoleLaboratoryScientist,
		At: r.Order.CreatedAt.Add(90 * time.Minute), Conclusion: "No evidence of systemic inflammation."}, 4*time.Hour))
	return r, crp
}

// storedDx creates r and returns it.
func storedDx(t *testing.T, s *postgres.DiagnosticStore, r diagnostic.Report) diagnostic.Report {
	t.Helper()
	if _, _, err := s.Create(context.Background(), nil, nil, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func dxIDs(rs []diagnostic.Report) []uuid.UUID {
	out := []uuid.UUID{}
	for _, r := range rs {
		out = append(out, r.Order.ID)
	}
	return out
}

// Create stores the report, its ordered event, its workflow start and its
// audit record in one transaction; a repeated key with the same body
// answers the first report as it is now, another body is refused and stores
// nothing; a patient or encounter that does not exist is refused naming the
// field.
func TestDiagnosticCreateIsOneIdempotentWrite(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewDiagnosticStore(pool)
	audits := postgres.NewAuditStore(pool)
	pat, other := pgtest.Patient(t, pool), pgtest.Patient(t, pool)
	enc := newEncounter(t, postgres.NewEncounterStore(pool), pat, encounter.ClassInpatient, "ward-3", dxNow).Details.EncounterID

	idem := &domain.Idempotency{Scope: "client POST /v1/diagnostics/orders", Key: "k-1", Hash: sha256.Sum256([]byte(`{"a":1}`))}
	rec := auditRecord(dxNow, nil)
	first := newDx(t, pat, &enc, dxNow, diagnostic.PriorityStat, dxCRP)
	start := outbox.WorkflowStart{WorkflowID: "diagnostic/" + first.Order.ID.String(), WorkflowType: "DiagnosticReport",
		TaskQueue: "diagnostics", Grace: time.Minute}
	got, replay, err := s.Create(ctx, idem, &rec, first, start)
	if err != nil || replay || got.Order.ID != first.Order.ID || got.Status != diagnostic.StatusRegistered {
		t.Fatalf("create: %+v replay %v, %v", got, replay, err)
	}
	audited, err := audits.Get(ctx, rec.ID)
	if err != nil || audited.PatientID == nil || *audited.PatientID != pat ||
		audited.EntityType != "DiagnosticReport" || audited.EntityID != first.Order.ID.String() {
		t.Fatalf("audit record: %+v, %v", audited, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NULL`, start.WorkflowID); n != 1 {
		t.Fatalf("%d pending starts of the new report", n)
	}
	if err := s.MarkStarted(ctx, start.WorkflowID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NOT NULL`, start.WorkflowID); n != 1 {
		t.Fatal("the start is not marked started")
	}
	if stored, err := s.Get(ctx, first.Order.ID); err != nil || !reflect.DeepEqual(stored, first) {
		t.Fatalf("stored report differs from the created one:\n got %+v\nwant %+v (%v)", stored, first, err)
	}

	// The tube is drawn; the retry with the same key sees it, and neither a
	// second row nor a second start is written.
	drawn := dxStep(t)(first.Collect(diagnostic.Collection{Accession: "S1", Container: first.Order.Containers()[0],
		CollectedAt: dxNow.Add(time.Minute), CollectorID: dxPhleb}, dxNow.Add(time.Minute)))
	if err := s.Record(ctx, drawn, nil); err != nil {
		t.Fatal(err)
	}
	again := auditRecord(dxNow, nil)
	retry := newDx(t, pat, &enc, dxNow, diagnostic.PriorityStat, dxCRP)
	got, replay, err = s.Create(ctx, idem, &again, retry, outbox.WorkflowStart{WorkflowID: "diagnostic/" + retry.Order.ID.String(),
		WorkflowType: "DiagnosticReport", TaskQueue: "diagnostics"})
	if err != nil || !replay || got.Order.ID != first.Order.ID || got.Version != 2 || len(got.Specimens) != 1 {
		t.Fatalf("replay: %+v replay %v, %v", got, replay, err)
	}
	if _, err := s.Get(ctx, retry.Order.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the replay stored its own report: %v", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id LIKE 'diagnostic/%'`); n != 1 {
		t.Fatalf("%d workflow starts after the replay", n)
	}

	mismatch := *idem
	mismatch.Hash = sha256.Sum256([]byte(`{"a":2}`))
	third := newDx(t, pat, nil, dxNow, "", dxCRP)
	if _, _, err := s.Create(ctx, &mismatch, nil, third); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("another body: %v", err)
	}
	if _, err := s.Get(ctx, third.Order.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a refused create left its report: %v", err)
	}
	if _, _, err := s.Create(ctx, nil, nil, first); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("the same id twice: %v", err)
	}
	if _, _, err := s.Create(ctx, nil, nil, drawn); err == nil {
		t.Fatal("a report past its ordered entry was created")
	}

	ghost := uuid.Must(uuid.NewV7())
	_, _, err = s.Create(ctx, nil, nil, newDx(t, uuid.Must(uuid.NewV7()), nil, dxNow, "", dxCRP))
	wantFieldError(t, "an unknown patient", err, "patientId")
	_, _, err = s.Create(ctx, nil, nil, newDx(t, pat, &ghost, dxNow, "", dxCRP))
	wantFieldError(t, "an unknown encounter", err, "encounterId")
	_, _, err = s.Create(ctx, nil, nil, newDx(t, other, &enc, dxNow, "", dxCRP))
	wantFieldError(t, "another patient's encounter", err, "patientId")

	id := first.Order.ID.String()
	want := []string{"diagnostic-report.ordered " + id, "diagnostic-report.specimen-collected " + id}
	if got := clinicalEvents(t, pool, pat, "diagnostic-report"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}

// Record writes each timeline entry once with its event, named as
// consumers subscribe to it: a retried write, or an older version arriving
// late, changes nothing, and a version that skips entries writes the event
// of each. The correction's event carries the previous and the new value.
func TestDiagnosticRecordIsIdempotentPerEntry(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewDiagnosticStore(pool)
	pat := pgtest.Patient(t, pool)
	ordered := storedDx(t, s, newDx(t, pat, nil, dxNow, "", dxCRP))
	id := ordered.Order.ID.String()

	received := dxReceived(t, ordered) // collected, then received: two entries at once
	rec := auditRecord(dxNow, nil)
	if err := s.Record(ctx, received, &rec); err != nil {
		t.Fatal(err)
	}
	retried := auditRecord(dxNow, nil)
	if err := s.Record(ctx, received, &retried); err != nil {
		t.Fatalf("the same entries again: %v", err)
	}
	if err := s.Record(ctx, ordered, nil); err != nil {
		t.Fatalf("an older version: %v", err)
	}
	got, err := s.Get(ctx, ordered.Order.ID)
	if err != nil || got.Version != 3 || len(got.Specimens) != 1 || got.Specimens[0].ReceivedAt == nil {
		t.Fatalf("after the retries: %+v, %v", got, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events WHERE id = ANY($1)`, []uuid.UUID{rec.ID, retried.ID}); n != 1 {
		t.Fatalf("%d audit records of one change written twice", n)
	}

	// Resulted, verified, appended, amended and corrected, recorded at once;
	// then withdrawn.
	final, crp := dxVerified(t, ordered)
	addendum := dxStep(t)(final.Amend(diagnostic.Amendment{By: dxScientist, Reason: "repeat advised",
		Addendum: "Repeat in 48 hours if fever persists."}, dxNow.Add(2*time.Hour)))
	conclusion := "CRP within reference limits."
	amended := dxStep(t)(addendum.Amend(diagnostic.Amendment{By: dxScientist, Reason: "conclusion reworded",
		Conclusion: &conclusion}, dxNow.Add(3*time.Hour)))
	value := 48.0
	fixed, err := observation.Amend(crp, observation.Input{Value: &observation.ValueInput{Value: &value, Unit: "mg/L"},
		EffectiveAt: crp.EffectiveAt, Status: observation.StatusCorrected},
		observation.Subject{Sex: observation.SexMale, AgeMonths: 50 * 12}, "analyser recalibrated",
		observation.Performer{ClientID: "analyser"}, dxNow.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	corrected := dxStep(t)(amended.Correct(diagnostic.Correction{By: dxScientist, Reason: "analyser recalibrated",
		Results: []observation.Observation{fixed}}, dxNow.Add(4*time.Hour)))
	if err := s.Record(ctx, corrected, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, final, nil); err != nil {
		t.Fatalf("a version older than the stored one: %v", err)
	}
	withdrawn := dxStep(t)(corrected.Withdraw(dxScientist, "specimen of another patient", dxNow.Add(5*time.Hour)))
	if err := s.Record(ctx, withdrawn, nil); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, ordered.Order.ID)
	if err != nil || !reflect.DeepEqual(got, withdrawn) {
		t.Fatalf("stored report differs from the recorded one:\n got %+v\nwant %+v (%v)", got, withdrawn, err)
	}

	var want []string
	for _, kind := range []string{"ordered", "specimen-collected", "specimen-received", "result-recorded", "final",
		"appended", "amended", "corrected", "entered-in-error"} {
		want = append(want, "diagnostic-report."+kind+" "+id)
	}
	if got := clinicalEvents(t, pool, pat, "diagnostic-report"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}

	// The correction's event carries the report as corrected, its versions
	// holding the value before and after.
	var (
		data            []byte
		source, subject string
	)
	if err := pool.QueryRow(ctx, `SELECT data, source, subject FROM outbox
		WHERE key = $1 AND type = 'diagnostic-report.corrected'`, pat.String()).Scan(&data, &source, &subject); err != nil {
		t.Fatal(err)
	}
	var inEvent diagnostic.Report
	if err := json.Unmarshal(data, &inEvent); err != nil || inEvent.Status != diagnostic.StatusCorrected || inEvent.Version != 8 {
		t.Fatalf("event data: %s, %v", data, err)
	}
	latest, _ := inEvent.Latest()
	changed := slices.ContainsFunc(latest.Changes, func(c diagnostic.Change) bool {
		return strings.Contains(c.Previous, "5 mg/L") && strings.Contains(c.New, "48 mg/L")
	})
	if len(inEvent.Versions) != 4 || latest.Status != diagnostic.StatusCorrected || !changed {
		t.Fatalf("the correction's versions: %+v", inEvent.Versions)
	}
	if source != "/v1/diagnostics/orders" || subject != "DiagnosticReport/"+id {
		t.Fatalf("event source %q subject %q", source, subject)
	}

	if err := s.Record(ctx, dxReceived(t, newDx(t, pat, nil, dxNow, "", dxCRP)), nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a report never created: %v", err)
	}
	if _, err := s.Get(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("get of an unknown report: %v", err)
	}
	broken := withdrawn
	broken.Version = 20
	if err := s.Record(ctx, broken, nil); err == nil {
		t.Fatal("a version that is not its timeline's length was recorded")
	}
	moved := dxReceived(t, storedDx(t, s, newDx(t, pat, nil, dxNow, "", dxCRP)))
	moved.Order.PatientID = pgtest.Patient(t, pool)
	if err := s.Record(ctx, moved, nil); err == nil {
		t.Fatal("a change of the report's patient was recorded")
	}
}

// Lists page newest order first and filter by patient, status, category
// and when the order was placed.
func TestDiagnosticList(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewDiagnosticStore(pool)
	pat, other := pgtest.Patient(t, pool), pgtest.Patient(t, pool)

	record := func(r diagnostic.Report) diagnostic.Report {
		t.Helper()
		if err := s.Record(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		return r
	}
	oldest := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-4*time.Hour), "", dxCRP))
	oldest, _ = dxVerified(t, oldest)
	oldest = record(oldest) // final
	cancelled := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-3*time.Hour), "", dxPotassium))
	cancelled = record(dxStep(t)(cancelled.Cancel(dxOrderer, "ordered twice", dxNow.Add(-3*time.Hour))))
	xray := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-2*time.Hour), diagnostic.PriorityUrgent, dxChestXR))
	registered := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-time.Hour), "", dxCRP))
	theirs := storedDx(t, s, newDx(t, other, nil, dxNow, "", dxCRP))

	cases := []struct {
		name string
		f    diagnostic.ReportFilter
		want []uuid.UUID
	}{
		{"everyone's, newest first", diagnostic.ReportFilter{},
			dxIDs([]diagnostic.Report{theirs, registered, xray, cancelled, oldest})},
		{"the patient's", diagnostic.ReportFilter{PatientID: pat}, dxIDs([]diagnostic.Report{registered, xray, cancelled, oldest})},
		{"final", diagnostic.ReportFilter{PatientID: pat, Status: diagnostic.StatusFinal}, dxIDs([]diagnostic.Report{oldest})},
		{"registered, anyone's", diagnostic.ReportFilter{Status: diagnostic.StatusRegistered},
			dxIDs([]diagnostic.Report{theirs, registered, xray})},
		{"imaging", diagnostic.ReportFilter{Category: diagnostic.CategoryImaging}, dxIDs([]diagnostic.Report{xray})},
		{"the patient's laboratory", diagnostic.ReportFilter{PatientID: pat, Category: diagnostic.CategoryLaboratory},
			dxIDs([]diagnostic.Report{registered, cancelled, oldest})},
		// From is inclusive and To exclusive, to the microsecond the store keeps.
		{"ordered within the three hours before the last hour", diagnostic.ReportFilter{
			From: cancelled.Order.CreatedAt.Truncate(time.Microsecond), To: registered.Order.CreatedAt.Truncate(time.Microsecond)},
			dxIDs([]diagnostic.Report{xray, cancelled})},
		{"since an hour ago", diagnostic.ReportFilter{From: dxNow.Add(-time.Hour)}, dxIDs([]diagnostic.Report{theirs, registered})},
		{"a patient without any", diagnostic.ReportFilter{PatientID: uuid.Must(uuid.NewV7())}, []uuid.UUID{}},
	}
	for _, tc := range cases {
		page, err := s.List(ctx, tc.f)
		if err != nil || !slices.Equal(dxIDs(page.Reports), tc.want) || page.Next != "" {
			t.Errorf("%s: %v next %q, %v; want %v", tc.name, dxIDs(page.Reports), page.Next, err, tc.want)
		}
	}
	page, err := s.List(ctx, diagnostic.ReportFilter{PatientID: pat, Status: diagnostic.StatusFinal})
	if err != nil || len(page.Reports) != 1 || !reflect.DeepEqual(page.Reports[0], oldest) {
		t.Fatalf("the listed report differs from the recorded one: %+v, %v", page.Reports, err)
	}

	// Pages of two, following the cursor, see each report once.
	var seen []uuid.UUID
	f := diagnostic.ReportFilter{PatientID: pat, Limit: 2}
	for range 5 {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, dxIDs(page.Reports)...)
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	if want := dxIDs([]diagnostic.Report{registered, xray, cancelled, oldest}); !slices.Equal(seen, want) {
		t.Fatalf("paged: %v, want %v", seen, want)
	}
	if _, err := s.List(ctx, diagnostic.ReportFilter{Cursor: "not-a-cursor"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// The metrics read the summary of each report ordered in the range, of one
// priority and one ordered test when asked, as the report stands now.
func TestDiagnosticSummaries(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewDiagnosticStore(pool)
	pat := pgtest.Patient(t, pool)

	before := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-25*time.Hour), diagnostic.PriorityStat, dxCRP))
	statCRP := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-3*time.Hour), diagnostic.PriorityStat, dxCRP))
	statCRP, _ = dxVerified(t, statCRP)
	if err := s.Record(ctx, statCRP, nil); err != nil {
		t.Fatal(err)
	}
	// A haemolysed tube, rejected and not yet drawn again.
	statK := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-2*time.Hour), diagnostic.PriorityStat, dxPotassium))
	statK = dxReceived(t, statK)
	statK = dxStep(t)(statK.Reject(statK.Specimens[0].Accession, diagnostic.RejectHaemolysed, "", dxScientist,
		statK.Order.CreatedAt.Add(30*time.Minute)))
	if err := s.Record(ctx, statK, nil); err != nil {
		t.Fatal(err)
	}
	routine := storedDx(t, s, newDx(t, pat, nil, dxNow.Add(-time.Hour), "", dxCRP))
	after := storedDx(t, s, newDx(t, pat, nil, dxNow, diagnostic.PriorityStat, dxCRP))
	_, _ = before, after

	ids := func(ss []diagnostic.Summary) []uuid.UUID {
		out := []uuid.UUID{}
		for _, s := range ss {
			out = append(out, s.ReportID)
		}
		return out
	}
	from, to := dxNow.Add(-24*time.Hour), dxNow
	cases := []struct {
		name     string
		priority diagnostic.Priority
		test     string
		want     []uuid.UUID
	}{
		{"every order of the day", "", "", dxIDs([]diagnostic.Report{routine, statK, statCRP})},
		{"STAT", diagnostic.PriorityStat, "", dxIDs([]diagnostic.Report{statK, statCRP})},
		{"CRP", "", dxCRP, dxIDs([]diagnostic.Report{routine, statCRP})},
		{"STAT CRP", diagnostic.PriorityStat, dxCRP, dxIDs([]diagnostic.Report{statCRP})},
		{"urgent", diagnostic.PriorityUrgent, "", []uuid.UUID{}},
		{"a test nobody ordered", "", dxChestXR, []uuid.UUID{}},
	}
	for _, tc := range cases {
		got, err := s.Summaries(ctx, from, to, tc.priority, tc.test)
		if err != nil || !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, ids(got), err, tc.want)
		}
	}

	got, err := s.Summaries(ctx, from, to, diagnostic.PriorityStat, "")
	if err != nil || len(got) != 2 {
		t.Fatalf("STAT: %+v, %v", got, err)
	}
	if !reflect.DeepEqual(got[0], statK.Summary()) || !reflect.DeepEqual(got[1], statCRP.Summary()) {
		t.Fatalf("summaries differ from the reports':\n got %+v\nwant %+v", got, []diagnostic.Summary{statK.Summary(), statCRP.Summary()})
	}
	m := diagnostic.Measure(got, dxNow)
	if m.Orders != 2 || m.Rejections.Rejected != 1 || m.Corrections.Verified != 1 {
		t.Fatalf("metrics over the stored summaries: %+v", m)
	}
}

// The diagnostic process's alerts: a critical result goes to the unit's
// team (and the ordering clinician, the alert's owner) and then the on-call
// physician; an overdue STAT order to the unit's team and then the
// laboratory on call.
func TestDiagnosticAlertPolicies(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewAlertStore(pgtest.NewPool(t))
	team := []alert.RecipientRule{{Kind: alert.RecipientUnitRole, Role: careteam.RolePhysician}, {Kind: alert.RecipientUnitRole, Role: careteam.RoleNurse}}
	cases := []struct {
		category string
		severity alert.Severity
		ack      time.Duration
		channels []alert.Channel
		then     alert.RecipientRule
	}{
		{"critical-result", alert.SeverityCritical, 10 * time.Minute, []alert.Channel{alert.ChannelInApp, alert.ChannelPush, alert.ChannelSMS},
			alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RolePhysician}},
		{"diagnostic-overdue", alert.SeverityUrgent, 15 * time.Minute, []alert.Channel{alert.ChannelInApp, alert.ChannelPush},
			alert.RecipientRule{Kind: alert.RecipientOnCall, Role: careteam.RoleLab}},
		{"specimen-recollection", alert.SeverityUrgent, 15 * time.Minute, []alert.Channel{alert.ChannelInApp, alert.ChannelPush},
			alert.RecipientRule{Kind: alert.RecipientUnitRole, Role: careteam.RoleChargeNurse}},
	}
	for _, tc := range cases {
		p, err := s.SelectPolicy(ctx, tc.category, tc.severity)
		if err != nil || p.ID != tc.category {
			t.Fatalf("%s: %+v, %v", tc.category, p, err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", tc.category, err)
		}
		if len(p.Levels) != 2 || p.Levels[0].AckTimeout != tc.ack || !slices.Equal(p.Levels[0].Recipients, team) ||
			!slices.Equal(p.Levels[0].Channels, tc.channels) ||
			!slices.Equal(p.Levels[1].Recipients, []alert.RecipientRule{tc.then}) {
			t.Errorf("%s: %+v", tc.category, p)
		}
		// Raised at a lower severity, the category still follows its policy.
		if low, err := s.SelectPolicy(ctx, tc.category, alert.SeverityWarning); err != nil || low.ID != tc.category {
			t.Errorf("%s as a warning: %+v, %v", tc.category, low, err)
		}
	}
}

// The migration goes down and up again cleanly, taking its policies and
// routing rules with it.
func TestDiagnosticMigrationDownAndUp(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := postgres.Connect(ctx, postgres.PoolConfig{URL: pgtest.NewDatabase(t), MaxConns: 2}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var version int64
	for _, src := range provider.ListSources() {
		if strings.HasSuffix(src.Path, "_diagnostics.sql") {
			version = src.Version
		}
	}
	if version == 0 {
		t.Fatal("no diagnostics migration")
	}
	seeded := func() int {
		return countRows(t, pool, `SELECT (SELECT count(*) FROM escalation_policies WHERE id IN ('critical-result', 'diagnostic-overdue'))
			+ (SELECT count(*) FROM alert_routing_rules WHERE category IN ('critical-result', 'diagnostic-overdue'))`)
	}
	if n := seeded(); n != 4 {
		t.Fatalf("%d diagnostic policies and rules after up", n)
	}
	if _, err := provider.DownTo(ctx, version-1); err != nil {
		t.Fatalf("down: %v", err)
	}
	if n := seeded(); n != 0 {
		t.Fatalf("%d diagnostic policies and rules after down", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM pg_class WHERE relname = 'diagnostic_reports'`); n != 0 {
		t.Fatal("the diagnostic_reports table survived down")
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if n := seeded(); n != 4 {
		t.Fatalf("%d diagnostic policies and rules after up again", n)
	}
}

// A report recorded as sent asks the dispatcher, in the same transaction,
// for the clinician's in-app message; a withdrawal tells everyone who was
// sent it. Each message is about the report, not an alert.
func TestDiagnosticRecordAsksForItsDeliveries(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewDiagnosticStore(pool)
	pat := pgtest.Patient(t, pool)
	ordered := storedDx(t, s, newDx(t, pat, nil, dxNow, "", dxCRP))
	final, _ := dxVerified(t, ordered)
	sent := dxStep(t)(final.Notify(diagnostic.Recipient{Who: ordered.Order.OrdererID, Role: diagnostic.ReaderClinician,
		Channel: "inapp", At: dxNow.Add(time.Hour)}))
	if err := s.Record(ctx, sent, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, sent, nil); err != nil {
		t.Fatal(err)
	}
	withdrawn := dxStep(t)(sent.Withdraw(dxScientist, "specimen of another patient", dxNow.Add(2*time.Hour)))
	if err := s.Record(ctx, withdrawn, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT id, data, subject FROM outbox
		WHERE key = $1 AND type = 'notification.requested' ORDER BY seq`, pat.String())
	if err != nil {
		t.Fatal(err)
	}
	type request struct {
		NotificationID uuid.UUID `json:"notificationId"`
		AlertID        string    `json:"alertId"`
		About          string    `json:"about"`
		Severity       string    `json:"severity"`
		Category       string    `json:"category"`
		Channel        string    `json:"channel"`
		Subject        string    `json:"subject"`
		Recipient      struct {
			PractitionerID string `json:"practitionerId"`
		} `json:"recipient"`
	}
	var got []request
	for rows.Next() {
		var (
			id      uuid.UUID
			data    []byte
			subject string
		)
		if err := rows.Scan(&id, &data, &subject); err != nil {
			t.Fatal(err)
		}
		var r request
		if err := json.Unmarshal(data, &r); err != nil || r.NotificationID != id || subject != "DiagnosticReport/"+ordered.Order.ID.String() {
			t.Fatalf("event %s %s: %s, %v", id, subject, data, err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	orderer := ordered.Order.OrdererID.String()
	about := "DiagnosticReport/" + ordered.Order.ID.String()
	if len(got) != 2 {
		t.Fatalf("%d notification requests, want the final report's and its withdrawal's: %+v", len(got), got)
	}
	for i, want := range []struct{ severity, subject string }{{"info", "Final report: "}, {"warning", "Report withdrawn: "}} {
		g := got[i]
		if g.AlertID != "" || g.About != about || g.Category != postgres.CategoryDiagnosticReport || g.Channel != "inapp" ||
			g.Recipient.PractitionerID != orderer || g.Severity != want.severity || !strings.HasPrefix(g.Subject, want.subject) {
			t.Fatalf("request %d: %+v", i, g)
		}
	}
}
