package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var planNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

// newCarePlan stores an active plan for patient with one activity due at due.
func newCarePlan(t *testing.T, s *postgres.CarePlanStore, patient uuid.UUID, due time.Time, created time.Time) careplan.CarePlan {
	t.Helper()
	p, err := careplan.New(uuid.Must(uuid.NewV7()), patient, nil, careplan.Content{
		Title: "Falls prevention", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: created},
		Activities: []careplan.ActivityInput{{Title: "Falls risk review", OwnerID: uuid.New(),
			Schedule: careplan.Schedule{DueAt: due, Repeat: "P1D"}}},
	}, uuid.NewV7, created)
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := s.Create(context.Background(), nil, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestCarePlanLifecycle(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewCarePlanStore(pool)
	patient, nurse := pgtest.Patient(t, pool), uuid.New()

	rec := auditRecord(planNow, nil)
	p, err := careplan.New(uuid.Must(uuid.NewV7()), patient, nil, careplan.Content{
		Title: "Wound care", Unit: "ward-3", Status: careplan.StatusActive, Period: careplan.Period{Start: planNow},
		Activities: []careplan.ActivityInput{{Title: "Dressing change", OwnerID: nurse,
			Schedule: careplan.Schedule{DueAt: planNow.Add(time.Hour)}}},
	}, uuid.NewV7, planNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, nil, &rec, p); err != nil {
		t.Fatal(err)
	}
	var entity string
	var auditPatient uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT entity_type || '/' || entity_id, patient_id FROM audit_events WHERE id = $1`, rec.ID).
		Scan(&entity, &auditPatient); err != nil {
		t.Fatalf("audit record of the create: %v", err)
	}
	if entity != "CarePlan/"+p.ID.String() || auditPatient != patient {
		t.Fatalf("audit names %s of %s", entity, auditPatient)
	}
	if _, _, err := s.Create(ctx, nil, nil, p); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("same id twice: %v", err)
	}

	got, err := s.Get(ctx, p.ID)
	if err != nil || got.Version != 1 || len(got.Activities) != 1 || !got.Activities[0].Schedule.DueAt.Equal(planNow.Add(time.Hour)) {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown plan: %v", err)
	}

	activity := p.Activities[0].ID
	done, err := s.Update(ctx, p.ID, nil, func(cur careplan.CarePlan) (careplan.CarePlan, error) {
		return cur.SetActivityStatus(activity, careplan.ActivityCompleted, nurse, "clean, dry", planNow.Add(2*time.Hour))
	})
	if err != nil || done.Version != 2 || done.Activities[0].Status != careplan.ActivityCompleted {
		t.Fatalf("complete activity: %+v, %v", done, err)
	}
	// A refused change writes nothing.
	if _, err := s.Update(ctx, p.ID, nil, func(cur careplan.CarePlan) (careplan.CarePlan, error) {
		return cur.SetActivityStatus(activity, careplan.ActivityInProgress, nurse, "", planNow)
	}); !errors.Is(err, careplan.ErrInvalidTransition) {
		t.Fatalf("reopen a completed activity: %v", err)
	}
	// A change that changes nothing writes nothing.
	same, err := s.Update(ctx, p.ID, nil, func(cur careplan.CarePlan) (careplan.CarePlan, error) { return cur, nil })
	if err != nil || same.Version != 2 {
		t.Fatalf("no-op update: %+v, %v", same, err)
	}
	revised, err := s.Update(ctx, p.ID, nil, func(cur careplan.CarePlan) (careplan.CarePlan, error) {
		return cur.Revise(careplan.Content{Title: "Wound care", Unit: "ward-3", Status: careplan.StatusCompleted,
			Period: cur.Period, Activities: []careplan.ActivityInput{{ID: activity, Title: "Dressing change", OwnerID: nurse,
				Schedule: cur.Activities[0].Schedule}}}, uuid.NewV7, planNow.Add(3*time.Hour))
	})
	if err != nil || revised.Version != 3 || revised.Status != careplan.StatusCompleted || len(revised.Activities[0].History) != 1 {
		t.Fatalf("complete plan: %+v, %v", revised, err)
	}
	if _, err := s.Update(ctx, uuid.New(), nil, func(cur careplan.CarePlan) (careplan.CarePlan, error) { return cur, nil }); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update of an unknown plan: %v", err)
	}

	want := []string{
		"careplan.created " + p.ID.String(),
		"careplan.activity-updated " + p.ID.String(),
		"careplan.updated " + p.ID.String(),
	}
	if got := clinicalEvents(t, pool, patient, "careplan"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}

func TestCarePlanListAndOverdue(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewCarePlanStore(pool)
	patient, other := uuid.New(), uuid.New()
	pgtest.Patients(t, pool, patient, other)

	overdue := newCarePlan(t, s, patient, planNow.Add(-time.Hour), planNow.Add(-3*time.Hour))
	later := newCarePlan(t, s, patient, planNow.Add(time.Hour), planNow.Add(-2*time.Hour))
	held := newCarePlan(t, s, patient, planNow.Add(-time.Hour), planNow.Add(-time.Hour))
	held, err := s.Update(ctx, held.ID, nil, func(cur careplan.CarePlan) (careplan.CarePlan, error) {
		c := careplan.Content{Title: cur.Title, Unit: cur.Unit, Status: careplan.StatusOnHold, Period: cur.Period}
		for _, a := range cur.Activities {
			c.Activities = append(c.Activities, careplan.ActivityInput{ID: a.ID, Title: a.Title, OwnerID: a.OwnerID, Schedule: a.Schedule})
		}
		return cur.Revise(c, uuid.NewV7, planNow)
	})
	if err != nil {
		t.Fatal(err)
	}
	newCarePlan(t, s, other, planNow.Add(-time.Hour), planNow)

	ids := func(page careplan.Page) []uuid.UUID {
		var out []uuid.UUID
		for _, p := range page.CarePlans {
			out = append(out, p.ID)
		}
		return out
	}
	cases := []struct {
		name string
		f    careplan.Filter
		want []uuid.UUID
	}{
		{"patient, newest first", careplan.Filter{PatientID: patient}, []uuid.UUID{held.ID, later.ID, overdue.ID}},
		{"status", careplan.Filter{PatientID: patient, Status: careplan.StatusOnHold}, []uuid.UUID{held.ID}},
		{"overdue (active plans only)", careplan.Filter{PatientID: patient, Overdue: true, Now: planNow}, []uuid.UUID{overdue.ID}},
		{"overdue later on", careplan.Filter{PatientID: patient, Overdue: true, Now: planNow.Add(2 * time.Hour)}, []uuid.UUID{later.ID, overdue.ID}},
	}
	for _, tc := range cases {
		page, err := s.List(ctx, tc.f)
		if err != nil || !slices.Equal(ids(page), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, ids(page), err, tc.want)
		}
	}

	// Pages of one, following the cursor, see each plan once.
	var seen []uuid.UUID
	f := careplan.Filter{PatientID: patient, Limit: 1}
	for range 5 {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ids(page)...)
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	if !slices.Equal(seen, []uuid.UUID{held.ID, later.ID, overdue.ID}) {
		t.Fatalf("paged: %v", seen)
	}
	if _, err := s.List(ctx, careplan.Filter{Cursor: "not-a-cursor"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}

	due, err := s.OverdueActivities(ctx, patient, planNow.Add(2*time.Hour))
	if err != nil || len(due) != 2 || due[0].PlanID != overdue.ID || due[1].PlanID != later.ID ||
		!due[0].DueAt.Equal(planNow.Add(-time.Hour)) {
		t.Fatalf("overdue activities: %+v, %v", due, err)
	}
	if none, err := s.OverdueActivities(ctx, uuid.New(), planNow); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("patient without plans: %v, %v", none, err)
	}
}
