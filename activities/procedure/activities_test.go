package procedure_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

var (
	now     = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC) // a Monday
	patient = uuid.MustParse("0193f300-0000-7000-8000-0000000000aa")
	procID  = uuid.MustParse("0193f300-0000-7000-8000-0000000000d1")
	other   = uuid.MustParse("0193f300-0000-7000-8000-0000000000d2")
	roomID  = uuid.MustParse("0193f300-0000-7000-8000-0000000000b1")
	staffID = uuid.MustParse("0193f300-0000-7000-8000-0000000000b2")
	doctor  = uuid.MustParse("0193f300-0000-7000-8000-000000000001")
)

// store answers the activities from fixed busy times; Hold refuses with a
// taken slot the first refuse times, and records what it was asked.
type store struct {
	resources []procedure.Resource
	busy      map[uuid.UUID][]procedure.Busy
	refuse    int
	holds     [][]procedure.Allocation
	swaps     [][]procedure.Allocation
	booked    error
}

func (s *store) Record(context.Context, procedure.Procedure, *audit.Record) error { return nil }
func (s *store) ListResources(context.Context, procedure.ResourceKind, bool) ([]procedure.Resource, error) {
	return s.resources, nil
}

func (s *store) Busy(_ context.Context, _ []uuid.UUID, _ uuid.UUID, _ procedure.Period, _ time.Time) (map[uuid.UUID][]procedure.Busy, error) {
	out := map[uuid.UUID][]procedure.Busy{}
	for k, v := range s.busy {
		out[k] = append([]procedure.Busy(nil), v...)
	}
	return out, nil
}

func (s *store) Hold(_ context.Context, _ uuid.UUID, allocs []procedure.Allocation, _ time.Time) error {
	s.holds = append(s.holds, allocs)
	if s.refuse > 0 {
		s.refuse--
		return &procedure.SlotTaken{Kind: procedure.KindRoom, ResourceID: roomID}
	}
	return nil
}
func (s *store) Book(context.Context, uuid.UUID, time.Time) error { return s.booked }
func (s *store) Release(context.Context, uuid.UUID) error         { return nil }
func (s *store) Swap(_ context.Context, _ uuid.UUID, allocs []procedure.Allocation) error {
	s.swaps = append(s.swaps, allocs)
	return nil
}

func hours() []procedure.Hours {
	var h []procedure.Hours
	for d := time.Sunday; d <= time.Saturday; d++ {
		h = append(h, procedure.Hours{Weekday: d, From: "08:00", To: "17:00"})
	}
	return h
}

func newStore(t *testing.T) *store {
	t.Helper()
	room, err := procedure.NewResource(procedure.Resource{ID: roomID, Kind: procedure.KindRoom, Name: "Endoscopy 1",
		Capabilities: []string{"endoscopy"}, Hours: hours(), Turnover: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	staff, err := procedure.NewResource(procedure.Resource{ID: staffID, Kind: procedure.KindStaff, Name: "Dr. Karim",
		Skills: []string{"endoscopist"}, PractitionerID: &doctor, Hours: hours()})
	if err != nil {
		t.Fatal(err)
	}
	return &store{resources: []procedure.Resource{room, staff}, busy: map[uuid.UUID][]procedure.Busy{}}
}

func requested(t *testing.T, priority procedure.Priority) procedure.Procedure {
	t.Helper()
	p, err := procedure.NewProcedure(procedure.Request{ID: procID, PatientID: patient, RequesterID: doctor,
		Procedure: procedure.Coding{System: procedure.SystemSNOMED, Code: "73761001", Display: "Colonoscopy"},
		Duration:  time.Hour, Priority: priority, CreatedAt: now,
		Requirements: []procedure.Requirement{{Type: procedure.KindRoom, Capability: "endoscopy"}, {Type: procedure.KindStaff, Skill: "endoscopist"}},
		Window:       procedure.Period{From: now.Add(2 * time.Hour), To: now.Add(11 * time.Hour)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hold(t *testing.T, s *store, req activities.HoldRequest) (activities.HoldResult, error) {
	t.Helper()
	return activities.New(s, activities.WithClock(func() time.Time { return now })).HoldSlot(context.Background(), req)
}

// A slot taken between the read and the write is searched for again; the
// allocations take each resource with its turnover, and the patient.
func TestHoldSlotSearchesAgainWhenTheSlotIsTaken(t *testing.T) {
	s := newStore(t)
	s.refuse = 2
	p := requested(t, procedure.PriorityElective)
	res, err := hold(t, s, activities.HoldRequest{Procedure: p, Window: p.Request.Window, ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil || !res.Held || res.Slot == nil || len(s.holds) != 3 {
		t.Fatalf("held %+v after %d tries, %v", res, len(s.holds), err)
	}
	if !res.Slot.From.Equal(now.Add(2*time.Hour)) || len(res.Slot.Team) != 1 || res.Slot.Team[0] != doctor {
		t.Fatalf("slot %+v", res.Slot)
	}
	allocs := s.holds[2]
	kinds := map[procedure.ResourceKind]procedure.Allocation{}
	for _, a := range allocs {
		kinds[a.Kind] = a
	}
	if len(allocs) != 3 || kinds[procedure.KindPatient].ResourceID != patient || kinds[procedure.KindRoom].Turnover != 15*time.Minute ||
		kinds[procedure.KindStaff].ResourceID != staffID {
		t.Fatalf("allocations %+v", allocs)
	}
	// Taken every time: the activity gives up with an error to retry later.
	s = newStore(t)
	s.refuse = 100
	if _, err := hold(t, s, activities.HoldRequest{Procedure: p, Window: p.Request.Window, ExpiresAt: now.Add(10 * time.Minute)}); err == nil {
		t.Fatal("a slot taken every time was held")
	}
}

// A reschedule's search ignores the procedure's own allocations and swaps
// instead of holding; nothing free answers why with alternatives.
func TestHoldSlotSwapsAndExplains(t *testing.T) {
	s := newStore(t)
	p := requested(t, procedure.PriorityElective)
	mine := procedure.Busy{Period: procedure.Period{From: now.Add(2 * time.Hour), To: now.Add(3*time.Hour + 15*time.Minute)}, ProcedureID: procID}
	s.busy[roomID] = []procedure.Busy{mine}
	res, err := hold(t, s, activities.HoldRequest{Procedure: p, Window: p.Request.Window, Swap: true})
	if err != nil || !res.Held || !res.Slot.From.Equal(now.Add(2*time.Hour)) || len(s.swaps) != 1 || len(s.holds) != 0 {
		t.Fatalf("swap %+v, %d swaps %d holds, %v", res, len(s.swaps), len(s.holds), err)
	}
	s.busy[roomID] = []procedure.Busy{{Period: procedure.Period{From: now, To: now.Add(12 * time.Hour)}, ProcedureID: other,
		Priority: procedure.PriorityUrgent}}
	res, err = hold(t, s, activities.HoldRequest{Procedure: p, Window: p.Request.Window, ExpiresAt: now.Add(10 * time.Minute)})
	if err != nil || res.Held || res.NoSlot == nil || res.NoSlot.Reason == "" || len(res.NoSlot.Alternatives) == 0 || !res.NoSlot.At.Equal(now) {
		t.Fatalf("no slot %+v, %v", res, err)
	}
}

// An emergency with nothing free names the booked elective cases to move
// instead of holding; a held elective case is never one of them.
func TestHoldSlotNamesTheElectiveCasesAnEmergencyBumps(t *testing.T) {
	s := newStore(t)
	p := requested(t, procedure.PriorityEmergency)
	day := procedure.Period{From: now, To: now.Add(12 * time.Hour)}
	s.busy[roomID] = []procedure.Busy{{Period: day, ProcedureID: other, Priority: procedure.PriorityElective}}
	res, err := hold(t, s, activities.HoldRequest{Procedure: p, Window: p.Request.Window, ExpiresAt: now.Add(time.Minute), Bump: true})
	if err != nil || res.Held || len(res.Bumps) != 1 || res.Bumps[0] != other || len(s.holds) != 0 {
		t.Fatalf("bump %+v, %v", res, err)
	}
	s.busy[roomID] = []procedure.Busy{{Period: day, ProcedureID: other, Priority: procedure.PriorityElective, Held: true}}
	res, err = hold(t, s, activities.HoldRequest{Procedure: p, Window: p.Request.Window, ExpiresAt: now.Add(time.Minute), Bump: true})
	if err != nil || len(res.Bumps) != 0 || res.NoSlot == nil {
		t.Fatalf("a held elective case bumped: %+v, %v", res, err)
	}
}

// A lapsed hold is a refusal that is never retried.
func TestBookHoldLapsed(t *testing.T) {
	s := newStore(t)
	s.booked = procedure.ErrHoldLapsed
	err := activities.New(s).BookHold(context.Background(), activities.BookRequest{ProcedureID: procID})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != activities.TypeHoldLapsed || !app.NonRetryable() {
		t.Fatalf("lapsed: %v", err)
	}
	s.booked = errors.New("connection refused")
	if err := activities.New(s).BookHold(context.Background(), activities.BookRequest{ProcedureID: procID}); errors.As(err, &app) {
		t.Fatalf("a lost connection made final: %v", err)
	}
	if err := activities.New(s).RecordProcedure(context.Background(), activities.RecordRequest{}); process.ErrorType(err) != process.TypeInvalidInput {
		t.Fatalf("an empty record: %v", err)
	}
}
