package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var (
	obsNow   = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	obsNurse = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000c1")
	obsBy    = observation.Performer{PractitionerID: &obsNurse, ClientID: "ward-app"}
	adult    = observation.Subject{Sex: observation.SexFemale, AgeMonths: 50 * 12}
)

func fp(v float64) *float64 { return &v }

func vital(patient uuid.UUID, code string, value float64, unit string, at time.Time) observation.Input {
	return observation.Input{PatientID: patient, Code: code, EffectiveAt: at, Value: &observation.ValueInput{Value: fp(value), Unit: unit}}
}

func bpPanel(patient uuid.UUID, sys, dia float64, at time.Time) observation.Input {
	return observation.Input{PatientID: patient, Code: observation.CodeBloodPressurePanel, EffectiveAt: at,
		Components: []observation.ComponentInput{
			{Code: observation.CodeSystolicBP, Value: fp(sys), Unit: "mm[Hg]"},
			{Code: observation.CodeDiastolicBP, Value: fp(dia), Unit: "mm[Hg]"},
		}}
}

func acvpu(patient uuid.UUID, answer string, at time.Time) observation.Input {
	return observation.Input{PatientID: patient, Code: observation.CodeConsciousness, EffectiveAt: at, Value: &observation.ValueInput{Code: answer}}
}

func newObs(t *testing.T, in observation.Input) observation.Observation {
	t.Helper()
	o, err := observation.New(uuid.Must(uuid.NewV7()), in, adult, obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func record(t *testing.T, s *postgres.ObservationStore, ins ...observation.Input) []observation.Observation {
	t.Helper()
	obs := make([]observation.Observation, len(ins))
	for i, in := range ins {
		obs[i] = newObs(t, in)
	}
	if _, _, err := s.RecordBatch(context.Background(), nil, nil, obs); err != nil {
		t.Fatal(err)
	}
	return obs
}

func observationRows(t *testing.T, pool *pgxpool.Pool, patient uuid.UUID) int {
	return countRows(t, pool, `SELECT count(*) FROM observations WHERE patient_id = $1`, patient)
}

// A batch is stored whole or not at all: an item the domain refuses stops it
// before the store; a patient the store cannot find, or an id already stored,
// rolls every item back with its events and audit record.
func TestObservationBatchIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	alice, bob := pgtest.Patient(t, pool), pgtest.Patient(t, pool)
	at := obsNow.Add(-30 * time.Minute)
	known := func(uuid.UUID) (observation.Demographics, error) {
		return observation.Demographics{Sex: "female", BirthDate: "1970-01-01"}, nil
	}

	inputs := []observation.Input{
		vital(alice, observation.CodeHeartRate, 72, "/min", at),
		vital(alice, observation.CodeBodyTemperature, 37, "kg", at),
		bpPanel(bob, 120, 80, at),
	}
	ids := []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())}
	if _, err := observation.NewBatch(ids, inputs, known, obsBy, obsNow); err == nil {
		t.Fatal("a batch with a temperature in kg was accepted")
	} else if f := fieldsOf(err); !slices.Equal(f, []string{"items[1].value.unit"}) {
		t.Fatalf("refusal names %v", f)
	}

	// The store refuses an unknown patient, naming every item of it.
	stranger := uuid.Must(uuid.NewV7())
	enc := newEncounter(t, postgres.NewEncounterStore(pool), bob, encounter.ClassInpatient, "ward-3", obsNow).Details.EncounterID
	batch := []observation.Observation{
		newObs(t, vital(alice, observation.CodeHeartRate, 72, "/min", at)),
		newObs(t, vital(stranger, observation.CodeHeartRate, 72, "/min", at)),
		newObs(t, vital(stranger, observation.CodeRespiratoryRate, 16, "/min", at)),
	}
	aliceInBobsEncounter := vital(alice, observation.CodeSpO2, 97, "%", at)
	aliceInBobsEncounter.EncounterID = &enc
	ghostEncounter := uuid.Must(uuid.NewV7())
	inNoEncounter := vital(bob, observation.CodeSpO2, 97, "%", at)
	inNoEncounter.EncounterID = &ghostEncounter
	batch = append(batch, newObs(t, aliceInBobsEncounter), newObs(t, inNoEncounter))
	rec := auditRecord(obsNow, nil)
	_, _, err := s.RecordBatch(ctx, nil, &rec, batch)
	if f := fieldsOf(err); !slices.Equal(f, []string{"items[1].patientId", "items[2].patientId", "items[3].patientId", "items[4].encounterId"}) {
		t.Fatalf("unknown references: %v (%v)", f, err)
	}
	if n := observationRows(t, pool, alice); n != 0 {
		t.Fatalf("%d of alice's observations stored from a refused batch", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events WHERE id = $1`, rec.ID); n != 0 {
		t.Fatal("the refused batch left an audit record")
	}
	if ev := clinicalEvents(t, pool, alice, "observation"); len(ev) != 0 {
		t.Fatalf("the refused batch left events %v", ev)
	}
	// One observation alone names the field without an index.
	if _, _, err := s.Record(ctx, nil, nil, newObs(t, vital(stranger, observation.CodeHeartRate, 72, "/min", at))); !slices.Equal(fieldsOf(err), []string{"patientId"}) {
		t.Fatalf("single unknown patient: %v", err)
	}

	// A good batch: rows; for each patient one observation.recorded event
	// carrying its observations in item order, each with its
	// interpretation, and observation.critical after it for a critical
	// value; one audit record naming both patients.
	good := []observation.Observation{
		newObs(t, vital(alice, observation.CodeHeartRate, 72, "/min", at)),
		newObs(t, bpPanel(bob, 118, 76, at)),
		newObs(t, vital(alice, observation.CodeRespiratoryRate, 7, "/min", at)), // ≤ 8: critical
	}
	inEncounter := vital(bob, observation.CodeSpO2, 97, "%", at)
	inEncounter.EncounterID = &enc
	good = append(good, newObs(t, inEncounter))
	rec = auditRecord(obsNow, nil)
	rec.Action = audit.ActionCreate
	if first, replay, err := s.RecordBatch(ctx, nil, &rec, good); err != nil || first != good[0].ID || replay {
		t.Fatalf("record: first %s, replay %v, %v", first, replay, err)
	}
	want := []string{
		observation.EventRecorded + " " + alice.String(),
		observation.EventCritical + " " + good[2].ID.String(),
	}
	if got := clinicalEvents(t, pool, alice, "observation"); !slices.Equal(got, want) {
		t.Fatalf("alice's events %v, want %v", got, want)
	}
	if got := clinicalEvents(t, pool, bob, "observation"); !slices.Equal(got, []string{observation.EventRecorded + " " + bob.String()}) {
		t.Fatalf("bob's events %v", got)
	}
	recorded := recordedEvents(t, pool, alice)
	if len(recorded) != 1 || recorded[0].PatientID != alice || len(recorded[0].Observations) != 2 {
		t.Fatalf("alice's recorded events %+v", recorded)
	}
	for i, o := range []observation.Observation{good[0], good[2]} {
		if got := recorded[0].Observations[i]; !reflect.DeepEqual(got, o.Event()) {
			t.Errorf("recorded observation %d:\n%+v\nwant\n%+v", i, got, o.Event())
		}
	}
	if bobs := recordedEvents(t, pool, bob); len(bobs) != 1 || len(bobs[0].Observations) != 2 ||
		bobs[0].Observations[0].ID != good[1].ID || bobs[0].Observations[1].EncounterID == nil {
		t.Fatalf("bob's recorded events %+v", bobs)
	}
	var data []byte
	if err := pool.QueryRow(ctx, `SELECT data FROM outbox WHERE type = $1 AND subject = $2`,
		observation.EventCritical, "Observation/"+good[2].ID.String()).Scan(&data); err != nil {
		t.Fatal(err)
	}
	var ev observation.EventData
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Interpretation.Flag != observation.FlagCriticalLow || *ev.Interpretation.CriticalLow != 8 || ev.PatientID != alice ||
		ev.Quantity.Value != 7 {
		t.Fatalf("critical event data %s", data)
	}
	var entity string
	var patients []uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT entity_type, patient_ids FROM audit_events WHERE id = $1`, rec.ID).Scan(&entity, &patients); err != nil {
		t.Fatal(err)
	}
	if entity != "Observation" || !slices.Equal(patients, []uuid.UUID{alice, bob}) {
		t.Fatalf("audit record names %s of %v", entity, patients)
	}

	// An id already stored rolls back the whole batch that repeats it.
	again := []observation.Observation{newObs(t, vital(alice, observation.CodeBodyTemperature, 37.1, "Cel", at)), good[0]}
	if _, _, err := s.RecordBatch(ctx, nil, nil, again); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("repeated id: %v", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM observations WHERE id = $1`, again[0].ID); n != 0 {
		t.Fatal("an observation of the failed batch was stored")
	}
	if n := observationRows(t, pool, alice); n != 2 {
		t.Fatalf("alice has %d observations, want 2", n)
	}
}

// Every column of a recorded observation reads back as it was written: a
// quantity sent in another unit, a coded answer, a panel (its components,
// their ranges, and the component arrays trends read), a laboratory result
// with the laboratory's range and delta flags, in an encounter, issued
// earlier, by a practitioner a device named; a string and a boolean value.
func TestObservationRowsAreStoredAsWritten(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	enc := newEncounter(t, postgres.NewEncounterStore(pool), patient, encounter.ClassInpatient, "ward-3", obsNow).Details.EncounterID
	at := obsNow.Add(-90 * time.Minute).Add(123456 * time.Microsecond)
	issued := at.Add(40 * time.Minute)
	device := observation.Performer{PractitionerID: &obsNurse, ClientID: "monitor-gateway", Asserted: true}
	made := func(in observation.Input, by observation.Performer) observation.Observation {
		t.Helper()
		o, err := observation.New(uuid.Must(uuid.NewV7()), in, adult, by, obsNow)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	temp := vital(patient, observation.CodeBodyTemperature, 101.3, "[degF]", at)
	temp.EncounterID, temp.Method, temp.Device, temp.Status = &enc, "oral", "thermometer 7", observation.StatusPreliminary
	panel := bpPanel(patient, 185, 125, at)
	panel.Issued = &issued
	earlier := vital(patient, observation.CodeCreatinine, 1.0, "mg/dL", at.Add(-24*time.Hour))
	creatinine := vital(patient, observation.CodeCreatinine, 2.5, "mg/dL", at)
	creatinine.ReferenceRange = &observation.RangeInput{Low: fp(0.5), High: fp(1.2), Unit: "mg/dL"}
	first := made(earlier, obsBy)
	obs := []observation.Observation{
		made(temp, device), made(panel, obsBy), made(acvpu(patient, "V", at), device),
		made(creatinine, obsBy).WithDelta([]observation.Result{{ID: first.ID, Code: observation.CodeCreatinine, Value: 1.0, Time: first.EffectiveAt}}),
	}
	text, boolean := obs[2], obs[2]
	text.ID, boolean.ID = uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	yes := true
	text.Value = &observation.Value{Kind: observation.KindString, Text: "trace of \"blood\" ü"}
	boolean.Value = &observation.Value{Kind: observation.KindBoolean, Boolean: &yes}
	obs = append(obs, text, boolean)
	if len(obs[3].DeltaFlags) == 0 || obs[1].Interpretation.Critical == nil {
		t.Fatalf("the creatinine met no delta rule (%v) or the panel has no critical limits", obs[3].DeltaFlags)
	}
	if _, _, err := s.RecordBatch(ctx, nil, nil, append([]observation.Observation{first}, obs...)); err != nil {
		t.Fatal(err)
	}
	for i, o := range obs {
		got, versions, err := s.Get(ctx, o.ID)
		if err != nil || len(versions) != 1 || !reflect.DeepEqual(got, o) {
			t.Errorf("observation %d:\n got %+v\nwant %+v\n(%v)", i, got, o, err)
		}
	}
	var (
		codes  []string
		values []float64
	)
	if err := pool.QueryRow(ctx, `SELECT component_codes, component_values FROM observations WHERE id = $1`, obs[1].ID).
		Scan(&codes, &values); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(codes, []string{observation.CodeSystolicBP, observation.CodeDiastolicBP}) || !slices.Equal(values, []float64{185, 125}) {
		t.Errorf("component arrays %v %v", codes, values)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM observations WHERE patient_id = $1 AND current AND component_codes IS NULL`, patient); n != 6 {
		t.Errorf("%d current observations without component arrays, want 6", n)
	}
}

// A device's upload of one patient's readings is published in several
// observation.recorded events, each under a quarter of the event size cap,
// in order, every observation once; a critical value's event follows the
// recorded event that carries it.
func TestObservationRecordedEventsAreSplitToSize(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	const n, critical = 800, 610
	obs := make([]observation.Observation, n)
	for i := range obs {
		rate := 60 + float64(i%40)
		if i == critical {
			rate = 190 // ≥ 131 and beyond the catalogue's critical limit
		}
		obs[i] = newObs(t, vital(patient, observation.CodeHeartRate, rate, "/min", obsNow.Add(-time.Duration(n-i)*time.Minute)))
	}
	if !obs[critical].Critical() {
		t.Fatal("the critical reading is not critical")
	}
	if _, _, err := s.RecordBatch(ctx, nil, nil, obs); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT type, subject, data FROM outbox WHERE key = $1 AND type LIKE 'observation.%' ORDER BY seq`, patient.String())
	if err != nil {
		t.Fatal(err)
	}
	var (
		types, subjects []string
		sizes           []int
	)
	for rows.Next() {
		var (
			typ, subject string
			data         []byte
			compact      bytes.Buffer
		)
		if err := rows.Scan(&typ, &subject, &data); err != nil {
			t.Fatal(err)
		}
		// As the relay publishes it: compact (jsonb's text has spaces).
		if err := json.Compact(&compact, data); err != nil {
			t.Fatal(err)
		}
		types, subjects, sizes = append(types, typ), append(subjects, subject), append(sizes, compact.Len())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	recorded := recordedEvents(t, pool, patient)
	if len(recorded) < 3 {
		t.Fatalf("%d observations in %d recorded events", n, len(recorded))
	}
	var ids []uuid.UUID
	for _, ev := range recorded {
		for _, o := range ev.Observations {
			ids = append(ids, o.ID)
		}
	}
	for i, o := range obs {
		if i >= len(ids) || ids[i] != o.ID {
			t.Fatalf("observation %d is not the %d-th of the recorded events (%d carried)", i, i, len(ids))
		}
	}
	if len(ids) != n {
		t.Fatalf("the recorded events carry %d observations, want %d", len(ids), n)
	}
	carried, criticals := 0, 0 // observations in the recorded events so far; critical events
	for i, typ := range types {
		switch typ {
		case observation.EventRecorded:
			if sizes[i] > outbox.MaxEventBytes/4 {
				t.Errorf("recorded event %d: %d bytes", i, sizes[i])
			}
			carried += len(recorded[i-criticals].Observations)
		case observation.EventCritical:
			criticals++
			if subjects[i] != "Observation/"+obs[critical].ID.String() || i == 0 || types[i-1] != observation.EventRecorded {
				t.Fatalf("events %v %v", types, subjects)
			}
			if last := recorded[i-criticals]; carried <= critical || carried-len(last.Observations) > critical {
				t.Errorf("the critical event follows recorded events of %d observations; the critical one is the %d-th", carried, critical)
			}
		default:
			t.Errorf("event %s", typ)
		}
	}
	if criticals != 1 {
		t.Errorf("%d critical events: %v", criticals, types)
	}
}

// recordedEvents reads the patient's observation.recorded events, oldest first.
func recordedEvents(t *testing.T, pool *pgxpool.Pool, patient uuid.UUID) []postgres.RecordedEvent {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT data FROM outbox WHERE key = $1 AND type = $2 ORDER BY seq`,
		patient.String(), observation.EventRecorded)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []postgres.RecordedEvent
	for rows.Next() {
		var (
			data []byte
			ev   postgres.RecordedEvent
		)
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Fatalf("recorded event %s: %v", data, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func fieldsOf(err error) []string {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

// Amending writes a new version and keeps the old one; a stale amendment is
// refused; a withdrawn observation drops out of the values a clinician sees.
func TestObservationAmendKeepsThePreviousVersion(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	at := obsNow.Add(-time.Hour)
	first := record(t, s, bpPanel(patient, 182, 121, at))[0] // diastolic ≥ 120: critical

	current, versions, err := s.Get(ctx, first.ID)
	if err != nil || len(versions) != 1 || !reflect.DeepEqual(current, first) {
		t.Fatalf("get after record:\n%+v\n%+v\n%v", current, first, err)
	}
	fix := bpPanel(uuid.Nil, 128, 85, at)
	fix.Code = ""
	v2, err := observation.Amend(first, fix, adult, "cuff too small: repeated with a large cuff", obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	rec := auditRecord(obsNow, nil)
	if err := s.Amend(ctx, &rec, v2); err != nil {
		t.Fatal(err)
	}
	current, versions, err = s.Get(ctx, first.ID)
	if err != nil || len(versions) != 2 || current.Version != 2 || !reflect.DeepEqual(versions[0], first) || !reflect.DeepEqual(current, v2) {
		t.Fatalf("after amend: current %+v, %d versions, %v", current, len(versions), err)
	}
	if q, _ := current.QuantityOf(observation.CodeSystolicBP); q.Value != 128 || current.Status != observation.StatusAmended {
		t.Fatalf("current systolic %v, status %s", q.Value, current.Status)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM observations WHERE id = $1 AND current`, first.ID); n != 1 {
		t.Fatalf("%d current versions", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events WHERE id = $1 AND entity_id = $2 AND patient_id = $3`,
		rec.ID, first.ID.String(), patient); n != 1 {
		t.Fatal("the amendment has no audit record naming the observation")
	}

	// Another amendment of version 1 lost the race.
	stale, err := observation.Amend(first, fix, adult, "second opinion", obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Amend(ctx, nil, stale); !errors.Is(err, observation.ErrStale) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("stale amendment: %v", err)
	}
	ghost := first
	ghost.ID = uuid.Must(uuid.NewV7())
	ghostNext, _ := observation.Amend(ghost, fix, adult, "x", obsBy, obsNow)
	if err := s.Amend(ctx, nil, ghostNext); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("amend of nothing: %v", err)
	}

	// Withdrawing it: the history stays; values skip it.
	older := record(t, s, bpPanel(patient, 135, 88, at.Add(-time.Hour)))[0]
	void, err := observation.Void(v2, "recorded on the wrong patient", obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, nil, void); err != nil {
		t.Fatal(err)
	}
	if _, versions, _ := s.Get(ctx, first.ID); len(versions) != 3 || versions[2].Status != observation.StatusEnteredInError {
		t.Fatalf("versions after void: %d", len(versions))
	}
	latest, err := s.Latest(ctx, patient, []string{observation.CodeBloodPressurePanel})
	if err != nil || len(latest) != 1 || latest[0].ID != older.ID {
		t.Fatalf("latest after the void: %+v, %v", latest, err)
	}
	wantEvents := []string{observation.EventRecorded + " " + patient.String(), observation.EventCritical + " " + first.ID.String(),
		observation.EventAmended + " " + first.ID.String(), observation.EventRecorded + " " + patient.String(),
		observation.EventEnteredInError + " " + first.ID.String()}
	if got := clinicalEvents(t, pool, patient, "observation"); !slices.Equal(got, wantEvents) {
		t.Fatalf("events %v, want %v", got, wantEvents)
	}
}

// A patient's chart pages newest first across codes, and filters by code
// (a component code finds its panels), category, time and status.
func TestObservationListPages(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient, other := pgtest.Patient(t, pool), pgtest.Patient(t, pool)
	at := func(h int) time.Time { return obsNow.Add(-time.Duration(h) * time.Hour) }
	obs := record(t, s,
		vital(patient, observation.CodeHeartRate, 70, "/min", at(1)),
		bpPanel(patient, 120, 80, at(2)),
		vital(patient, observation.CodeSystolicBP, 125, "mm[Hg]", at(3)),
		vital(patient, observation.CodeCreatinine, 1.1, "mg/dL", at(4)),
		acvpu(patient, "A", at(5)),
		vital(patient, observation.CodeHeartRate, 74, "/min", at(6)),
		vital(patient, observation.CodeHeartRate, 80, "/min", at(7)),
		vital(other, observation.CodeHeartRate, 90, "/min", at(1)),
	)
	void, _ := observation.Void(obs[6], "duplicate", obsBy, obsNow)
	if err := s.Void(ctx, nil, void); err != nil {
		t.Fatal(err)
	}
	ids := func(os []observation.Observation) []uuid.UUID {
		out := []uuid.UUID{}
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	var got []uuid.UUID
	f := observation.Filter{PatientID: patient, Limit: 2}
	pages := 0
	for {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got, pages = append(got, ids(page.Observations)...), pages+1
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	if want := ids(obs[:6]); !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("pages %d: %v, want %v", pages, got, want)
	}
	for _, c := range []struct {
		name string
		f    observation.Filter
		want []observation.Observation
	}{
		{"systolic, standalone or in a panel", observation.Filter{Codes: []string{observation.CodeSystolicBP}}, obs[1:3]},
		{"the panel and its component", observation.Filter{Codes: []string{observation.CodeBloodPressurePanel, observation.CodeSystolicBP}}, obs[1:3]},
		{"laboratory", observation.Filter{Category: observation.CategoryLaboratory}, obs[3:4]},
		{"heart rate between 2 and 7 hours ago", observation.Filter{Codes: []string{observation.CodeHeartRate}, From: at(7), To: at(2)}, obs[5:6]},
		{"withdrawn", observation.Filter{Status: observation.StatusEnteredInError}, []observation.Observation{void}},
	} {
		c.f.PatientID = patient
		page, err := s.List(ctx, c.f)
		if err != nil || !slices.Equal(ids(page.Observations), ids(c.want)) {
			t.Errorf("%s: %v, want %v (%v)", c.name, ids(page.Observations), ids(c.want), err)
		}
	}
	if page, _ := s.List(ctx, observation.Filter{PatientID: patient, Limit: 1}); !reflect.DeepEqual(page.Observations[0], obs[0]) {
		t.Fatalf("listed %+v, recorded %+v", page.Observations[0], obs[0])
	}
	if _, err := s.List(ctx, observation.Filter{PatientID: patient, Cursor: "bogus"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	if _, err := s.List(ctx, observation.Filter{}); !slices.Equal(fieldsOf(err), []string{"patientId"}) {
		t.Fatalf("no patient: %v", err)
	}
}

// The newest value of each code, a component's from a panel when that is
// newer, in the order asked.
func TestObservationLatest(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	at := func(m int) time.Time { return obsNow.Add(-time.Duration(m) * time.Minute) }
	obs := record(t, s,
		vital(patient, observation.CodeHeartRate, 70, "/min", at(30)),
		vital(patient, observation.CodeHeartRate, 88, "/min", at(10)),
		vital(patient, observation.CodeSystolicBP, 125, "mm[Hg]", at(40)),
		bpPanel(patient, 131, 82, at(20)),
		vital(patient, observation.CodeHeartRate, 60, "/min", at(50)),
		// Months old: found in the whole history, after the recent months.
		vital(patient, observation.CodeBodyWeight, 70, "kg", obsNow.AddDate(0, -3, 0)),
		vital(patient, observation.CodeBodyWeight, 71, "kg", obsNow.AddDate(0, -4, 0)),
	)
	latest, err := s.Latest(ctx, patient, []string{observation.CodeSystolicBP, observation.CodeBodyTemperature,
		observation.CodeBodyWeight, observation.CodeHeartRate})
	if err != nil || len(latest) != 3 || latest[0].ID != obs[3].ID || latest[1].ID != obs[5].ID || latest[2].ID != obs[1].ID {
		t.Fatalf("latest %+v, %v", latest, err)
	}
	if q, ok := latest[0].QuantityOf(observation.CodeSystolicBP); !ok || q.Canonical.Value != 131 {
		t.Fatalf("systolic of the panel: %v", q)
	}
	if _, err := s.Latest(ctx, patient, []string{"0000-0"}); !slices.Equal(fieldsOf(err), []string{"codes[0]"}) {
		t.Fatalf("unknown code: %v", err)
	}
}

// Trends bucket a patient's values and fit a slope; amended values replace
// the ones they amend and withdrawn ones drop out.
func TestObservationTrend(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	from := obsNow.Add(-6 * time.Hour)
	hour := func(h int) time.Time { return from.Add(time.Duration(h) * time.Hour) }
	obs := record(t, s,
		vital(patient, observation.CodeHeartRate, 80, "/min", hour(0)),
		vital(patient, observation.CodeHeartRate, 90, "/min", hour(1)),
		vital(patient, observation.CodeHeartRate, 99, "/min", hour(2)), // amended to 100
		vital(patient, observation.CodeHeartRate, 110, "/min", hour(3)),
		vital(patient, observation.CodeHeartRate, 130, "/min", hour(4)),
		vital(patient, observation.CodeHeartRate, 10, "/min", hour(5)), // entered in error
		bpPanel(patient, 120, 80, hour(1)),
		vital(patient, observation.CodeSystolicBP, 140, "mm[Hg]", hour(3)),
	)
	fixIn := vital(patient, observation.CodeHeartRate, 100, "/min", hour(2))
	fixed, _ := observation.Amend(obs[2], fixIn, adult, "typo", obsBy, obsNow)
	void, _ := observation.Void(obs[5], "probe slipped", obsBy, obsNow)
	if err := s.Amend(ctx, nil, fixed); err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, nil, void); err != nil {
		t.Fatal(err)
	}
	tr, err := s.Trend(ctx, patient, observation.CodeHeartRate, from, obsNow, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []observation.Bucket{
		{Start: hour(0), End: hour(2), Count: 2, Min: 80, Max: 90, Mean: 85},
		{Start: hour(2), End: hour(4), Count: 2, Min: 100, Max: 110, Mean: 105},
		{Start: hour(4), End: hour(6), Count: 1, Min: 130, Max: 130, Mean: 130},
	}
	if !slices.Equal(tr.Buckets, want) || tr.Count != 5 || tr.SlopePerHour == nil || math.Abs(*tr.SlopePerHour-12) > 1e-9 {
		t.Fatalf("trend %+v, slope %v", tr.Buckets, tr.SlopePerHour)
	}
	sys, err := s.Trend(ctx, patient, observation.CodeSystolicBP, from, obsNow, 0)
	if err != nil || len(sys.Points) != 2 || sys.Points[0].Value != 120 || sys.Points[0].ID != obs[6].ID || sys.Points[1].Value != 140 {
		t.Fatalf("systolic points %+v, %v", sys.Points, err)
	}
	if _, err := s.Trend(ctx, patient, observation.CodeBloodPressurePanel, from, obsNow, 0); !slices.Equal(fieldsOf(err), []string{"code"}) {
		t.Fatalf("trend of a panel: %v", err)
	}

	prev, err := s.Previous(ctx, patient, observation.CodeHeartRate, hour(4), 2*time.Hour)
	if err != nil || len(prev) != 2 || prev[0].Value != 100 || prev[1].Value != 110 || prev[0].ID != obs[2].ID {
		t.Fatalf("previous %+v, %v", prev, err)
	}
}

// NEWS2 reads the newest reading of each parameter within the window, and
// its score is stored once.
func TestNEWS2ReadingsAndScores(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	at := func(m int) time.Time { return obsNow.Add(-time.Duration(m) * time.Minute) }
	obs := record(t, s,
		vital(patient, observation.CodeRespiratoryRate, 22, "/min", at(5)),
		vital(patient, observation.CodeRespiratoryRate, 14, "/min", at(70)),
		vital(patient, observation.CodeSaO2, 95, "%", at(6)),
		vital(patient, observation.CodeInhaledOxygen, 21, "%", at(7)),
		bpPanel(patient, 105, 70, at(8)),
		vital(patient, observation.CodeHeartRate, 95, "/min", at(9)),
		acvpu(patient, "A", at(10)),
		vital(patient, observation.CodeBodyTemperature, 38.5, "Cel", at(11)),
		vital(patient, observation.CodeBodyTemperature, 36.5, "Cel", at(26*60)), // outside the window
	)
	readings, err := s.NEWS2Readings(ctx, patient, obsNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range readings {
		codes = append(codes, r.Code)
	}
	want := []string{observation.CodeHeartRate, observation.CodeRespiratoryRate, observation.CodeSaO2, observation.CodeSystolicBP,
		observation.CodeBodyTemperature, observation.CodeConsciousness, observation.CodeInhaledOxygen}
	if !slices.Equal(codes, want) {
		t.Fatalf("readings of %v, want %v", codes, want)
	}
	if readings[1].SourceID != obs[0].ID || readings[3].SourceID != obs[4].ID || readings[3].Value != 105 || readings[5].Answer != "A" {
		t.Fatalf("readings %+v", readings)
	}
	c, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	if err != nil || c.Status != observation.CombinedComplete || c.Score.Total != 6 {
		t.Fatalf("combined %+v, %v", c, err)
	}
	rec := auditRecord(obsNow, nil)
	saved, err := s.SaveNEWS2(ctx, &rec, patient, c)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.SaveNEWS2(ctx, nil, patient, c)
	if err != nil || again.ID != saved.ID {
		t.Fatalf("saving the same set again: %v, %v", again.ID, err)
	}
	latest, err := s.LatestNEWS2(ctx, patient)
	if err != nil || !reflect.DeepEqual(latest, saved) || latest.Risk != observation.RiskMedium || len(latest.Parameters) != 7 {
		t.Fatalf("latest score %+v, %v", latest, err)
	}
	var events int
	for _, e := range clinicalEvents(t, pool, patient, "observation") {
		if e == observation.EventNEWS2Scored+" "+saved.ID.String() {
			events++
		}
	}
	if events != 1 {
		t.Fatalf("%d news2-scored events", events)
	}
	if _, err := s.LatestNEWS2(ctx, pgtest.Patient(t, pool)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("no score: %v", err)
	}
	// A later set: the history has both, oldest first; a window before
	// the first has neither; limit keeps the newest.
	record(t, s, vital(patient, observation.CodeRespiratoryRate, 26, "/min", at(1)))
	readings2, err := s.NEWS2Readings(ctx, patient, obsNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := observation.CombineNEWS2(readings2, observation.SpO2Scale1, 0)
	if err != nil {
		t.Fatal(err)
	}
	later, err := s.SaveNEWS2(ctx, nil, patient, c2)
	if err != nil {
		t.Fatal(err)
	}
	history, err := s.NEWS2History(ctx, patient, obsNow.Add(-time.Hour), obsNow, 100)
	if err != nil || len(history) != 2 || history[0].ID != saved.ID || history[1].ID != later.ID || history[1].Total != 7 || !history[1].RedScore {
		t.Fatalf("history %+v, %v", history, err)
	}
	if h, err := s.NEWS2History(ctx, patient, obsNow.Add(-time.Hour), obsNow, 1); err != nil || len(h) != 1 || h[0].ID != later.ID {
		t.Fatalf("history limited to one: %+v, %v", h, err)
	}
	if h, err := s.NEWS2History(ctx, patient, obsNow.Add(-3*time.Hour), obsNow.Add(-2*time.Hour), 100); err != nil || len(h) != 0 {
		t.Fatalf("history before the first set: %+v, %v", h, err)
	}
	incomplete, _ := observation.CombineNEWS2(readings[:3], observation.SpO2Scale1, 0)
	if _, err := s.SaveNEWS2(ctx, nil, patient, incomplete); !errors.Is(err, observation.ErrIncompleteNEWS2) {
		t.Fatalf("incomplete set: %v", err)
	}
}

// A patient is on Scale 1 until a clinician decides otherwise; each
// decision revokes the one before, and the history stays.
func TestSpO2ScaleDecisions(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	doctor := uuid.Must(uuid.NewV7())
	d, err := s.SpO2Scale(ctx, patient)
	if err != nil || d.Scale != observation.SpO2Scale1 || d.ID != uuid.Nil {
		t.Fatalf("default %+v, %v", d, err)
	}
	rec := auditRecord(obsNow, nil)
	two, err := s.SetSpO2Scale(ctx, &rec, patient, observation.SpO2Scale2, doctor, "COPD with type 2 respiratory failure; target 88-92%")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := s.SpO2Scale(ctx, patient); d.ID != two.ID || d.Scale != observation.SpO2Scale2 || d.DecidedBy != doctor {
		t.Fatalf("in force %+v", d)
	}
	one, err := s.SetSpO2Scale(ctx, nil, patient, observation.SpO2Scale1, doctor, "hypercapnia resolved")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := s.SpO2Scale(ctx, patient); d.ID != one.ID || d.Scale != observation.SpO2Scale1 {
		t.Fatalf("in force %+v", d)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM spo2_scale_decisions WHERE id = $1 AND revoked_by = $2`, two.ID, doctor); n != 1 {
		t.Fatal("the earlier decision was not revoked")
	}
	if got := clinicalEvents(t, pool, patient, "observation"); len(got) != 2 {
		t.Fatalf("events %v", got)
	}
	if _, err := s.SetSpO2Scale(ctx, nil, uuid.Must(uuid.NewV7()), observation.SpO2Scale2, doctor, "x"); !slices.Equal(fieldsOf(err), []string{"patientId"}) {
		t.Fatalf("unknown patient: %v", err)
	}
	if _, err := s.SetSpO2Scale(ctx, nil, patient, observation.SpO2Scale2, uuid.Nil, "x"); !errors.Is(err, observation.ErrNoDecider) {
		t.Fatalf("no practitioner: %v", err)
	}
}

// Writes create the monthly partitions they need, on either side of a month
// boundary, and again if an operator dropped one.
func TestObservationPartitionsAcrossAMonthBoundary(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	october := time.Date(2026, 10, 31, 23, 59, 59, 999999000, time.UTC)
	november := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	obs := record(t, s,
		vital(patient, observation.CodeHeartRate, 70, "/min", october),
		vital(patient, observation.CodeHeartRate, 71, "/min", november),
	)
	partitionOf := func(id uuid.UUID) string {
		var name string
		if err := pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM observations WHERE id = $1`, id).Scan(&name); err != nil {
			t.Fatal(err)
		}
		return name
	}
	if a, b := partitionOf(obs[0].ID), partitionOf(obs[1].ID); a != "observations_y2026m10" || b != "observations_y2026m11" {
		t.Fatalf("partitions %s and %s", a, b)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
		WHERE c.relname = 'observations' AND p.partdefid <> 0`); n != 0 {
		t.Fatal("observations has a default partition")
	}
	if _, err := pool.Exec(ctx, `DROP TABLE observations_y2026m10`); err != nil {
		t.Fatal(err)
	}
	late := record(t, s, vital(patient, observation.CodeHeartRate, 72, "/min", october.Add(-time.Hour)))
	if got := partitionOf(late[0].ID); got != "observations_y2026m10" {
		t.Fatalf("after the drop: %s", got)
	}
	if err := s.EnsurePartitions(ctx, time.Date(2025, 12, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE c.relname IN ('observations_y2025m12', 'observations_y2026m01', 'observations_y2026m02')`); n != 3 {
		t.Fatalf("%d of 3 months created ahead", n)
	}
}
