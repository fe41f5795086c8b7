package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
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
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/migrations"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var (
	rxNow        = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	rxPrescriber = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000d1")
	rxPharmacist = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000d2")
)

// newRx is a draft order of paracetamol for patient, written at created.
func newRx(t *testing.T, patient uuid.UUID, enc *uuid.UUID, created time.Time) prescription.Prescription {
	t.Helper()
	p, err := prescription.New(prescription.Details{
		ID: uuid.Must(uuid.NewV7()), PatientID: patient, EncounterID: enc, Unit: "ward-3",
		Order: medication.Order{Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "oral", Frequency: "q6h", DurationDays: 5},
		Drug:  medication.Resolution{ID: "paracetamol", Name: "paracetamol", Ingredients: []string{"paracetamol"}},
		// Nanoseconds, as a clock gives them: the store keeps microseconds,
		// and the list's cursor still finds its place.
		PrescriberID: rxPrescriber, CreatedAt: created.Add(123),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// active is p after checks that found nothing.
func active(p prescription.Prescription, at time.Time) prescription.Prescription {
	next, _, _ := p.Checked(medication.Result{Version: "t"}, prescription.Context{}, prescription.ReasonOrdered, at)
	return next
}

// storedRx creates p and returns it.
func storedRx(t *testing.T, s *postgres.PrescriptionStore, p prescription.Prescription) prescription.Prescription {
	t.Helper()
	if _, _, err := s.Create(context.Background(), nil, nil, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func rxIDs(ps []prescription.Prescription) []uuid.UUID {
	out := []uuid.UUID{}
	for _, p := range ps {
		out = append(out, p.Details.ID)
	}
	return out
}

// Create stores the prescription, its created event, its workflow start and
// its audit record in one transaction; a repeated key with the same body
// answers the first prescription as it is now, another body is refused and
// stores nothing; a patient or encounter that does not exist is refused
// naming the field.
func TestPrescriptionCreateIsOneIdempotentWrite(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewPrescriptionStore(pool)
	audits := postgres.NewAuditStore(pool)
	pat, other := pgtest.Patient(t, pool), pgtest.Patient(t, pool)
	enc := newEncounter(t, postgres.NewEncounterStore(pool), pat, encounter.ClassInpatient, "ward-3", rxNow).Details.EncounterID

	idem := &domain.Idempotency{Scope: "client POST /v1/medications/prescriptions", Key: "k-1", Hash: sha256.Sum256([]byte(`{"a":1}`))}
	rec := auditRecord(rxNow, nil)
	first := newRx(t, pat, &enc, rxNow)
	start := outbox.WorkflowStart{WorkflowID: "prescription/" + first.Details.ID.String(), WorkflowType: "Prescription",
		TaskQueue: "prescriptions", Grace: time.Minute}
	got, replay, err := s.Create(ctx, idem, &rec, first, start)
	if err != nil || replay || got.Details.ID != first.Details.ID || got.Status != prescription.StatusDraft {
		t.Fatalf("create: %+v replay %v, %v", got, replay, err)
	}
	audited, err := audits.Get(ctx, rec.ID)
	if err != nil || audited.PatientID == nil || *audited.PatientID != pat ||
		audited.EntityType != "MedicationRequest" || audited.EntityID != first.Details.ID.String() {
		t.Fatalf("audit record: %+v, %v", audited, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NULL`, start.WorkflowID); n != 1 {
		t.Fatalf("%d pending starts of the new prescription", n)
	}
	if err := s.MarkStarted(ctx, start.WorkflowID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NOT NULL`, start.WorkflowID); n != 1 {
		t.Fatal("the start is not marked started")
	}

	// The checks pass; the retry with the same key sees it active, and
	// neither a second row nor a second start is written.
	if err := s.Record(ctx, active(first, rxNow.Add(time.Second)), nil); err != nil {
		t.Fatal(err)
	}
	again := auditRecord(rxNow, nil)
	retry := newRx(t, pat, &enc, rxNow)
	got, replay, err = s.Create(ctx, idem, &again, retry, outbox.WorkflowStart{WorkflowID: "prescription/" + retry.Details.ID.String(),
		WorkflowType: "Prescription", TaskQueue: "prescriptions"})
	if err != nil || !replay || got.Details.ID != first.Details.ID || got.Status != prescription.StatusActive || got.Version != 2 {
		t.Fatalf("replay: %+v replay %v, %v", got, replay, err)
	}
	if _, err := s.Get(ctx, retry.Details.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the replay stored its own prescription: %v", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id LIKE 'prescription/%'`); n != 1 {
		t.Fatalf("%d workflow starts after the replay", n)
	}

	mismatch := *idem
	mismatch.Hash = sha256.Sum256([]byte(`{"a":2}`))
	third := newRx(t, pat, nil, rxNow)
	if _, _, err := s.Create(ctx, &mismatch, nil, third); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("another body: %v", err)
	}
	if _, err := s.Get(ctx, third.Details.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a refused create left its prescription: %v", err)
	}
	if _, _, err := s.Create(ctx, nil, nil, first); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("the same id twice: %v", err)
	}
	if _, _, err := s.Create(ctx, nil, nil, active(newRx(t, pat, nil, rxNow), rxNow)); err == nil {
		t.Fatal("a prescription past its created entry was created")
	}

	ghost := uuid.Must(uuid.NewV7())
	_, _, err = s.Create(ctx, nil, nil, newRx(t, uuid.Must(uuid.NewV7()), nil, rxNow))
	wantFieldError(t, "an unknown patient", err, "patientId")
	_, _, err = s.Create(ctx, nil, nil, newRx(t, pat, &ghost, rxNow))
	wantFieldError(t, "an unknown encounter", err, "encounterId")
	_, _, err = s.Create(ctx, nil, nil, newRx(t, other, &enc, rxNow))
	wantFieldError(t, "another patient's encounter", err, "patientId")

	want := []string{"prescription.created " + first.Details.ID.String(), "prescription.activated " + first.Details.ID.String()}
	if got := clinicalEvents(t, pool, pat, "prescription"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}

// Record writes each timeline entry once with its event: a retried write,
// or an older version arriving late, changes nothing, and a version that
// skips entries writes the event of each.
func TestPrescriptionRecordIsIdempotentPerEntry(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewPrescriptionStore(pool)
	pat := pgtest.Patient(t, pool)
	created := storedRx(t, s, newRx(t, pat, nil, rxNow))
	id := created.Details.ID.String()

	activated := active(created, rxNow.Add(time.Minute))
	rec := auditRecord(rxNow, nil)
	if err := s.Record(ctx, activated, &rec); err != nil {
		t.Fatal(err)
	}
	retried := auditRecord(rxNow, nil)
	if err := s.Record(ctx, activated, &retried); err != nil {
		t.Fatalf("the same entry again: %v", err)
	}
	if err := s.Record(ctx, created, nil); err != nil {
		t.Fatalf("an older version: %v", err)
	}
	got, err := s.Get(ctx, created.Details.ID)
	if err != nil || got.Version != 2 || got.Status != prescription.StatusActive || len(got.Timeline) != 2 {
		t.Fatalf("after the retries: %+v, %v", got, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events WHERE id = ANY($1)`, []uuid.UUID{rec.ID, retried.ID}); n != 1 {
		t.Fatalf("%d audit records of one entry written twice", n)
	}

	// Verified and then discontinued, recorded at once.
	verified, err := activated.Verify(rxPharmacist, rxNow.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := verified.Discontinue(rxPrescriber, "rash", rxNow.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, stopped, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, verified, nil); err != nil {
		t.Fatalf("a version older than the stored one: %v", err)
	}
	got, err = s.Get(ctx, created.Details.ID)
	if err != nil || got.Version != 4 || got.Status != prescription.StatusStopped || got.VerifiedBy == nil || *got.VerifiedBy != rxPharmacist {
		t.Fatalf("after the skip: %+v, %v", got, err)
	}
	if !reflect.DeepEqual(got, stopped) {
		t.Fatalf("stored prescription differs from the recorded one:\n got %+v\nwant %+v", got, stopped)
	}

	want := []string{"prescription.created " + id, "prescription.activated " + id, "prescription.verified " + id, "prescription.discontinued " + id}
	if got := clinicalEvents(t, pool, pat, "prescription"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	// The event carries the prescription as stored.
	var (
		data            []byte
		source, subject string
	)
	if err := pool.QueryRow(ctx, `SELECT data, source, subject FROM outbox
		WHERE key = $1 AND type = 'prescription.discontinued'`, pat.String()).Scan(&data, &source, &subject); err != nil {
		t.Fatal(err)
	}
	var inEvent prescription.Prescription
	if err := json.Unmarshal(data, &inEvent); err != nil || inEvent.Status != prescription.StatusStopped || inEvent.Version != 4 {
		t.Fatalf("event data: %s, %v", data, err)
	}
	if source != "/v1/medications/prescriptions" || subject != "MedicationRequest/"+id {
		t.Fatalf("event source %q subject %q", source, subject)
	}

	if err := s.Record(ctx, active(newRx(t, pat, nil, rxNow), rxNow), nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a prescription never created: %v", err)
	}
	if _, err := s.Get(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("get of an unknown prescription: %v", err)
	}
	broken := stopped
	broken.Version = 9
	if err := s.Record(ctx, broken, nil); err == nil {
		t.Fatal("a version that is not its timeline's length was recorded")
	}
}

// Lists page newest first and filter by patient and status; the history
// puts the open prescriptions first; OpenIDs names the open ones.
func TestPrescriptionListHistoryAndOpenIDs(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewPrescriptionStore(pool)
	pat, other := pgtest.Patient(t, pool), pgtest.Patient(t, pool)

	record := func(p prescription.Prescription, err error) prescription.Prescription {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Record(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oldest := storedRx(t, s, newRx(t, pat, nil, rxNow.Add(-4*time.Hour)))
	oldest = record(active(oldest, rxNow.Add(-4*time.Hour)), nil) // active
	cancelled := storedRx(t, s, newRx(t, pat, nil, rxNow.Add(-3*time.Hour)))
	cancelled = record(cancelled.Cancel(rxPrescriber, "wrong patient", rxNow.Add(-3*time.Hour)))
	draft := storedRx(t, s, newRx(t, pat, nil, rxNow.Add(-2*time.Hour)))
	stopped := storedRx(t, s, newRx(t, pat, nil, rxNow.Add(-time.Hour)))
	stopped = record(active(stopped, rxNow.Add(-time.Hour)).Discontinue(rxPrescriber, "course changed", rxNow))
	theirs := storedRx(t, s, newRx(t, other, nil, rxNow))

	cases := []struct {
		name string
		f    prescription.Filter
		want []uuid.UUID
	}{
		{"everyone's, newest first", prescription.Filter{},
			[]uuid.UUID{theirs.Details.ID, stopped.Details.ID, draft.Details.ID, cancelled.Details.ID, oldest.Details.ID}},
		{"the patient's", prescription.Filter{PatientID: pat},
			[]uuid.UUID{stopped.Details.ID, draft.Details.ID, cancelled.Details.ID, oldest.Details.ID}},
		{"active", prescription.Filter{PatientID: pat, Status: prescription.StatusActive}, []uuid.UUID{oldest.Details.ID}},
		{"cancelled, anyone's", prescription.Filter{Status: prescription.StatusCancelled}, []uuid.UUID{cancelled.Details.ID}},
		{"a patient without any", prescription.Filter{PatientID: uuid.Must(uuid.NewV7())}, []uuid.UUID{}},
	}
	for _, tc := range cases {
		page, err := s.List(ctx, tc.f)
		if err != nil || !slices.Equal(rxIDs(page.Prescriptions), tc.want) || page.Next != "" {
			t.Errorf("%s: %v next %q, %v; want %v", tc.name, rxIDs(page.Prescriptions), page.Next, err, tc.want)
		}
	}

	// Pages of two, following the cursor, see each prescription once.
	var seen []uuid.UUID
	f := prescription.Filter{PatientID: pat, Limit: 2}
	for range 5 {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, rxIDs(page.Prescriptions)...)
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	if want := []uuid.UUID{stopped.Details.ID, draft.Details.ID, cancelled.Details.ID, oldest.Details.ID}; !slices.Equal(seen, want) {
		t.Fatalf("paged: %v, want %v", seen, want)
	}
	if _, err := s.List(ctx, prescription.Filter{Cursor: "not-a-cursor"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}

	history, err := s.History(ctx, pat)
	if want := []uuid.UUID{draft.Details.ID, oldest.Details.ID, stopped.Details.ID, cancelled.Details.ID}; err != nil || !slices.Equal(rxIDs(history), want) {
		t.Fatalf("history: %v, %v; want %v", rxIDs(history), err, want)
	}
	if h := history[3]; len(h.Timeline) != 2 || h.Timeline[1].Kind != prescription.EventCancelled {
		t.Fatalf("the history's cancelled prescription has timeline %+v", h.Timeline)
	}
	if none, err := s.History(ctx, uuid.Must(uuid.NewV7())); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("history of a patient without prescriptions: %v, %v", none, err)
	}

	open, err := s.OpenIDs(ctx, pat, uuid.Nil)
	if want := []uuid.UUID{oldest.Details.ID, draft.Details.ID}; err != nil || !slices.Equal(open, want) {
		t.Fatalf("open: %v, %v; want %v", open, err, want)
	}
	open, err = s.OpenIDs(ctx, pat, draft.Details.ID)
	if want := []uuid.UUID{oldest.Details.ID}; err != nil || !slices.Equal(open, want) {
		t.Fatalf("open except the draft: %v, %v; want %v", open, err, want)
	}
	if none, err := s.OpenIDs(ctx, uuid.Must(uuid.NewV7()), uuid.Nil); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("open of a patient without prescriptions: %v, %v", none, err)
	}
}

// PatientContext reads what the checks need from the registry, the
// allergies, the observations and the open prescriptions: acted-on
// allergies only, values that are final and recent enough, and the open
// orders except the one being checked.
func TestPrescriptionPatientContext(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewPrescriptionStore(pool)
	obs := postgres.NewObservationStore(pool)
	allergies := postgres.NewAllergyStore(pool)
	at := obsNow.Add(-24 * time.Hour) // the time of the check

	reg, _, err := postgres.NewPatientStore(pool).Register(ctx, nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, patient.Details{
			Name: patient.Name{Given: []string{"Rahima"}, Family: "Begum"}, BirthDate: "1956-03-10", Sex: "female",
		}, obsNow)
	})
	if err != nil {
		t.Fatal(err)
	}
	pat := reg.ID

	pen, err := allergies.Create(ctx, nil, newAllergy(t, pat, allergyDetails("Penicillin", "764146007", allergy.CriticalityHigh)))
	if err != nil {
		t.Fatal(err)
	}
	refuted := allergyDetails("Sulfonamide", "", allergy.CriticalityLow)
	refuted.VerificationStatus = allergy.VerificationRefuted
	if _, err := allergies.Create(ctx, nil, newAllergy(t, pat, refuted)); err != nil {
		t.Fatal(err)
	}

	lab := func(code string, value float64, unit string, effective time.Time, status observation.Status) observation.Input {
		in := vital(pat, code, value, unit, effective)
		in.Status = status
		return in
	}
	kept := record(t, obs,
		vital(pat, observation.CodeBodyWeight, 61, "kg", at.Add(-40*24*time.Hour)),                        // older than a month: left out
		vital(pat, observation.CodeBodyHeight, 158, "cm", at.AddDate(-2, 0, 0)),                           // two years old: used
		lab(observation.CodeCreatinine, 110, "umol/L", at.Add(-48*time.Hour), ""),                         // used
		lab(observation.CodeCreatinine, 300, "umol/L", at.Add(-time.Hour), observation.StatusPreliminary), // not final
		lab(observation.CodeCreatinine, 400, "umol/L", at.Add(time.Hour), ""),                             // after the check
		lab(observation.CodeCreatinine, 500, "umol/L", at.Add(-30*time.Minute), ""),                       // withdrawn below
		vital(pat, observation.CodeHeartRate, 80, "/min", at.Add(-time.Minute)),
	)
	voided, err := observation.Void(kept[5], "wrong patient", obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := obs.Void(ctx, nil, voided); err != nil {
		t.Fatal(err)
	}

	running := storedRx(t, s, newRx(t, pat, nil, rxNow.Add(-48*time.Hour)))
	if err := s.Record(ctx, active(running, rxNow.Add(-48*time.Hour)), nil); err != nil {
		t.Fatal(err)
	}
	ended := storedRx(t, s, newRx(t, pat, nil, rxNow.Add(-47*time.Hour)))
	ended, err = ended.Cancel(rxPrescriber, "duplicate", rxNow.Add(-47*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, ended, nil); err != nil {
		t.Fatal(err)
	}
	checked := newRx(t, pat, nil, rxNow)
	checked.Details.Order.Name, checked.Details.Order.Dose, checked.Details.Order.DoseUnit = "ibuprofen", 400, "mg"
	checked = storedRx(t, s, checked)

	c, err := s.PatientContext(ctx, pat, checked.Details.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	// Born 10 March 1956, checked on 24 November 2026: 70 years and the
	// part of the 71st gone by.
	birthday := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	wantAge := 70 + float64(at.Sub(birthday))/float64(birthday.AddDate(1, 0, 0).Sub(birthday))
	if math.Abs(c.Patient.AgeYears-wantAge) > 1e-9 || c.Patient.Sex != medication.SexFemale {
		t.Errorf("age %v (want %v), sex %q", c.Patient.AgeYears, wantAge, c.Patient.Sex)
	}
	if len(c.Patient.Allergies) != 1 || !reflect.DeepEqual(c.Patient.Allergies[0], medication.AllergyOf(pen)) {
		t.Errorf("allergies: %+v", c.Patient.Allergies)
	}
	if c.Patient.WeightKg != 0 {
		t.Errorf("a weight of 40 days ago was used: %v kg", c.Patient.WeightKg)
	}
	if c.Patient.HeightCm != 158 || math.Abs(c.Patient.CreatinineUmolL-110) > 1e-6 {
		t.Errorf("height %v cm, creatinine %v µmol/L", c.Patient.HeightCm, c.Patient.CreatinineUmolL)
	}
	if len(c.Basis) != 2 || c.Basis[0].Code != observation.CodeBodyHeight || c.Basis[1].Code != observation.CodeCreatinine ||
		c.Basis[1].Unit != "mg/dL" || math.Abs(c.Basis[1].Value*88.42-110) > 1e-6 || !c.Basis[1].At.Equal(at.Add(-48*time.Hour)) ||
		!c.Basis[0].At.Equal(at.AddDate(-2, 0, 0)) {
		t.Errorf("basis: %+v", c.Basis)
	}
	if !slices.Equal(c.Active, []uuid.UUID{running.Details.ID}) || len(c.Patient.ActiveMedications) != 1 ||
		c.Patient.ActiveMedications[0] != running.Details.Order {
		t.Errorf("active: %v %+v", c.Active, c.Patient.ActiveMedications)
	}

	// Without exclude the order being checked is one of the open ones.
	c, err = s.PatientContext(ctx, pat, uuid.Nil, at)
	if err != nil || !slices.Equal(c.Active, []uuid.UUID{running.Details.ID, checked.Details.ID}) ||
		c.Patient.ActiveMedications[1].Name != "ibuprofen" {
		t.Fatalf("active without exclude: %v, %v", c.Active, err)
	}

	// A patient with nothing recorded has empty lists and unknown numbers.
	bare := pgtest.Patient(t, pool)
	c, err = s.PatientContext(ctx, bare, uuid.Nil, at)
	if err != nil || c.Patient.Sex != "" || c.Patient.Allergies == nil || len(c.Patient.Allergies) != 0 ||
		c.Patient.ActiveMedications == nil || len(c.Active) != 0 || c.Basis != nil || c.Patient.CreatinineUmolL != 0 {
		t.Fatalf("a bare patient: %+v, %v", c, err)
	}
	if _, err := s.PatientContext(ctx, uuid.Must(uuid.NewV7()), uuid.Nil, at); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("an unknown patient: %v", err)
	}
}

// The prescription process's alerts reach the pharmacist on call; a dose
// not recorded in time goes to the ward's nurses by the default warning
// rule.
func TestPrescriptionAlertPolicies(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewAlertStore(pgtest.NewPool(t))
	for _, category := range []string{"prescription-hold", "prescription-finding"} {
		p, err := s.SelectPolicy(ctx, category, alert.SeverityUrgent)
		if err != nil || p.ID != category {
			t.Fatalf("%s: %+v, %v", category, p, err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", category, err)
		}
		first := p.Levels[0]
		if len(p.Levels) != 2 || first.AckTimeout != 15*time.Minute ||
			!slices.Equal(first.Recipients, []alert.RecipientRule{{Kind: alert.RecipientOnCall, Role: careteam.RolePharmacist}}) ||
			!slices.Equal(first.Channels, []alert.Channel{alert.ChannelInApp, alert.ChannelEmail}) ||
			p.Repeat != 1 || !slices.Equal(p.ResolverRoles, []careteam.Role{careteam.RolePharmacist}) {
			t.Errorf("%s: %+v", category, p)
		}
	}
	if p, err := s.SelectPolicy(ctx, "medication-dose-due", alert.SeverityWarning); err != nil || p.ID != "warning-default" {
		t.Fatalf("medication-dose-due: %+v, %v", p, err)
	}
}

// The migration goes down and up again cleanly, taking its policies and
// routing rules with it.
func TestPrescriptionMigrationDownAndUp(t *testing.T) {
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
		if strings.HasSuffix(src.Path, "_prescriptions.sql") {
			version = src.Version
		}
	}
	if version == 0 {
		t.Fatal("no prescriptions migration")
	}
	seeded := func() int {
		return countRows(t, pool, `SELECT (SELECT count(*) FROM escalation_policies WHERE id LIKE 'prescription-%')
			+ (SELECT count(*) FROM alert_routing_rules WHERE category LIKE 'prescription-%')`)
	}
	if n := seeded(); n != 4 {
		t.Fatalf("%d prescription policies and rules after up", n)
	}
	if _, err := provider.DownTo(ctx, version-1); err != nil {
		t.Fatalf("down: %v", err)
	}
	if n := seeded(); n != 0 {
		t.Fatalf("%d prescription policies and rules after down", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM pg_class WHERE relname = 'prescriptions'`); n != 0 {
		t.Fatal("the prescriptions table survived down")
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if n := seeded(); n != 4 {
		t.Fatalf("%d prescription policies and rules after up again", n)
	}
}
