package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var encounterNow = time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)

func newEncounter(t *testing.T, s *postgres.EncounterStore, patient uuid.UUID, class encounter.Class, location string, at time.Time) encounter.State {
	t.Helper()
	st, err := encounter.New(encounter.Details{EncounterID: uuid.Must(uuid.NewV7()), PatientID: patient, Class: class,
		Reason: "chest pain", Location: location, Priority: "urgent"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordCreated(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return st
}

// recorder returns a function that takes a transition's result and records
// its last entry twice, as a retried activity would.
func recorder(t *testing.T, s *postgres.EncounterStore) func(encounter.State, error) encounter.State {
	return func(st encounter.State, err error) encounter.State {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := s.RecordTransition(context.Background(), st, st.Last(), nil); err != nil {
				t.Fatal(err)
			}
		}
		return st
	}
}

func TestEncounterReadModelFollowsTransitions(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewEncounterStore(pool)
	patient, nurse, doctor, lab := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	pgtest.Patients(t, pool, patient)
	at := func(m int) time.Time { return encounterNow.Add(time.Duration(m) * time.Minute) }

	record := recorder(t, s)
	st := newEncounter(t, s, patient, encounter.ClassEmergency, "ed-triage", encounterNow)
	if err := s.RecordCreated(ctx, st); err != nil { // a retry
		t.Fatal(err)
	}
	st = record(st.Arrive(nurse, at(1)))
	st = record(st.Triage(nurse, at(5), encounter.AcuityEmergent, "chest pain"))
	st = record(st.Start(doctor, at(20), doctor))
	st, _ = st.LinkOrder(lab, encounter.OrderDiagnostic, at(25))
	st = record(st, nil)
	st = record(st.Transfer(nurse, at(60), "ward-3"))
	st, _ = st.CloseOrder(lab, at(90))
	st = record(st, nil)
	discharged := record(st.Discharge(doctor, at(180), encounter.DispositionHome, false, ""))

	// A late retry of an older transition must not roll the row back.
	if err := s.RecordTransition(ctx, st, st.Last(), nil); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetEncounter(ctx, st.Details.EncounterID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != encounter.StatusDischarged || got.Location != "ward-3" || got.Acuity != encounter.AcuityEmergent ||
		got.ChiefComplaint != "chest pain" || got.Attending == nil || *got.Attending != doctor ||
		got.Disposition != encounter.DispositionHome || got.EndedAt == nil || !got.EndedAt.Equal(at(180)) ||
		got.TriagedAt == nil || !got.TriagedAt.Equal(at(5)) || got.Version != len(discharged.Timeline) {
		t.Fatalf("encounter %+v", got)
	}
	if len(got.Timeline) != 8 || got.Timeline[7].Kind != encounter.EventDischarged || got.Timeline[1].By != nurse {
		t.Fatalf("timeline %+v", got.Timeline)
	}
	if len(got.Locations) != 2 || got.Locations[0].Until == nil || !got.Locations[0].Until.Equal(at(60)) ||
		got.Locations[1].Location != "ward-3" || got.Locations[1].Until == nil {
		t.Fatalf("locations %+v", got.Locations)
	}
	if len(got.Orders) != 1 || got.Orders[0].ID != lab || got.Orders[0].Status != encounter.OrderClosed {
		t.Fatalf("orders %+v", got.Orders)
	}

	// One event per transition, none for order changes, each written once.
	rows, err := pool.Query(ctx, `SELECT type, data FROM outbox WHERE key = $1 AND type LIKE 'encounter.%' ORDER BY time`, patient.String())
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	var last []byte
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ, &last); err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
	}
	want := []string{"encounter.created", "encounter.arrived", "encounter.triaged", "encounter.started", "encounter.transferred", "encounter.discharged"}
	if len(types) != len(want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events %v, want %v", types, want)
		}
	}
	var summary postgres.EncounterChanged
	if err := json.Unmarshal(last, &summary); err != nil {
		t.Fatal(err)
	}
	if summary.Summary == nil || len(summary.Summary.Timeline) != 8 || len(summary.Summary.Locations) != 2 || len(summary.Summary.Orders) != 1 {
		t.Fatalf("discharge summary %+v", summary.Summary)
	}
}

func TestRecordTransitionOfAnUnknownEncounter(t *testing.T) {
	s := postgres.NewEncounterStore(pgtest.NewPool(t))
	st, _ := encounter.New(encounter.Details{EncounterID: uuid.New(), PatientID: uuid.New(), Class: encounter.ClassVirtual, Location: "tele"}, encounterNow)
	st, _ = st.Arrive(uuid.New(), encounterNow.Add(time.Minute))
	if err := s.RecordTransition(context.Background(), st, st.Last(), nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
	if _, err := s.GetEncounter(context.Background(), uuid.New()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}

func TestListEncountersFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewEncounterStore(pool)
	alice, bob := uuid.New(), uuid.New()
	pgtest.Patients(t, pool, alice, bob)
	var aliceIDs []uuid.UUID
	for i := range 5 {
		st := newEncounter(t, s, alice, encounter.ClassEmergency, "ed", encounterNow.Add(time.Duration(i)*time.Hour))
		aliceIDs = append(aliceIDs, st.Details.EncounterID)
	}
	record := recorder(t, s)
	bobs := newEncounter(t, s, bob, encounter.ClassOutpatient, "clinic-2", encounterNow.Add(30*time.Minute))
	record(bobs.Arrive(uuid.New(), encounterNow.Add(40*time.Minute)))
	bobsCancelled := newEncounter(t, s, bob, encounter.ClassOutpatient, "clinic-2", encounterNow.Add(50*time.Minute))
	record(bobsCancelled.Cancel(uuid.New(), encounterNow.Add(55*time.Minute), "booked twice"))

	// Pages of two through alice's five, newest first.
	var seen []uuid.UUID
	cursor := ""
	for {
		page, err := s.ListEncounters(ctx, encounter.Filter{PatientID: alice, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Encounters {
			seen = append(seen, e.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 5 || seen[0] != aliceIDs[4] || seen[4] != aliceIDs[0] {
		t.Fatalf("pages %v", seen)
	}

	tests := []struct {
		name string
		f    encounter.Filter
		want int
	}{
		{"all", encounter.Filter{}, 7},
		{"arrived", encounter.Filter{Status: encounter.StatusArrived}, 1},
		{"outpatient", encounter.Filter{Class: encounter.ClassOutpatient}, 2},
		{"open of bob", encounter.Filter{PatientID: bob, Open: true}, 1},
		{"open", encounter.Filter{Open: true}, 6},
		{"at ed", encounter.Filter{Location: "ed"}, 5},
		{"window", encounter.Filter{From: encounterNow.Add(time.Hour), To: encounterNow.Add(3 * time.Hour)}, 2},
		{"planned emergency of alice", encounter.Filter{PatientID: alice, Status: encounter.StatusPlanned, Class: encounter.ClassEmergency}, 5},
	}
	for _, tc := range tests {
		page, err := s.ListEncounters(ctx, tc.f)
		if err != nil || len(page.Encounters) != tc.want {
			t.Errorf("%s: %d encounters, %v; want %d", tc.name, len(page.Encounters), err, tc.want)
		}
	}
	if _, err := s.ListEncounters(ctx, encounter.Filter{Cursor: "not-a-cursor"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}
