package procedure_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

func TestSummaryOfACompletedProcedure(t *testing.T) {
	c := fxCompletion()
	c.Complications = []procedure.Coding{{System: procedure.SystemSNOMED, Code: "131148009"}}
	s := fxMust(t)(fxSignedOut(t).Complete(c, fxAt(1, 10, 40))).Summary()
	if s.ProcedureID != fxProcID || s.PatientID != fxPatient || s.ProcedureCode != "80146002" || s.ProcedureSystem != procedure.SystemSNOMED ||
		s.Priority != procedure.PriorityElective || s.Status != procedure.StatusCompleted || !s.RequestedAt.Equal(fxT0) {
		t.Fatalf("summary %+v", s)
	}
	if !s.PlannedStart.Equal(fxAt(1, 9, 0)) || !s.PlannedEnd.Equal(fxAt(1, 10, 30)) || s.RoomID != fxTheatre {
		t.Fatalf("planned %v–%v in %v", s.PlannedStart, s.PlannedEnd, s.RoomID)
	}
	want := []procedure.Assigned{{ID: fxTheatre, Kind: procedure.KindRoom}, {ID: fxSurgRes, Kind: procedure.KindStaff},
		{ID: fxAnaesRes, Kind: procedure.KindStaff}, {ID: fxScrub1, Kind: procedure.KindStaff}, {ID: fxScrub2, Kind: procedure.KindStaff}}
	if len(s.Resources) != len(want) {
		t.Fatalf("resources %v", s.Resources)
	}
	for i := range want {
		if s.Resources[i] != want[i] {
			t.Fatalf("resources %v", s.Resources)
		}
	}
	if !s.CheckedIn || !s.ActualStart.Equal(fxAt(1, 9, 5)) || !s.ActualEnd.Equal(fxAt(1, 10, 35)) ||
		*s.StartDelay != 5*time.Minute || !*s.OnTime || s.PlannedMinutes != 90 || *s.ActualMinutes != 90 || s.Complications != 1 {
		t.Fatalf("actual %+v", s)
	}
	if s.Cancelled || s.NoShow || s.Reschedules != 0 || s.Bumped != 0 {
		t.Fatalf("flags %+v", s)
	}
}

func TestSummaryOnTimeIsFifteenMinutes(t *testing.T) {
	for _, tt := range []struct {
		start  time.Time
		onTime bool
	}{
		{fxAt(1, 8, 45), true},
		{fxAt(1, 9, 15), true},
		{fxAt(1, 9, 16), false},
	} {
		s := fxMust(t)(fxCheckedIn(t).Start(fxSurgeon, tt.start)).Summary()
		if s.OnTime == nil || *s.OnTime != tt.onTime || *s.StartDelay != tt.start.Sub(fxAt(1, 9, 0)) || s.ActualEnd != nil || s.ActualMinutes != nil {
			t.Errorf("started %v: %+v", tt.start, s)
		}
	}
}

func TestSummaryOfOtherEnds(t *testing.T) {
	s := fxNew(t).Summary()
	if s.PlannedStart != nil || s.RoomID != uuid.Nil || s.Resources != nil || s.StartDelay != nil || s.OnTime != nil || s.PlannedMinutes != 90 {
		t.Fatalf("requested %+v", s)
	}
	s = fxMust(t)(fxBooked(t).Cancel(fxRequester, "declined", fxAt(0, 9, 0))).Summary()
	if !s.Cancelled || s.NoShow || s.PlannedStart == nil {
		t.Fatalf("cancelled %+v", s)
	}
	s = fxMust(t)(fxBooked(t).NoShow(fxAt(1, 9, 30))).Summary()
	if !s.NoShow || s.CheckedIn || s.Cancelled {
		t.Fatalf("no-show %+v", s)
	}
	p := fxMust(t)(fxBooked(t).Reschedule(fxSlot(2, 9, 0), fxScheduler, "list overran", fxAt(0, 9, 0)))
	s = fxMust(t)(p.Bump(uuid.Nil, fxEmergency, fxAt(0, 10, 0))).Summary()
	if s.Reschedules != 1 || s.Bumped != 1 || s.PlannedStart != nil {
		t.Fatalf("bumped %+v", s)
	}
}

func TestMetrics(t *testing.T) {
	from, to := fxAt(0, 0, 0), fxAt(7, 0, 0) // the week of Monday 7 December
	room1, room2 := uuid.MustParse("0193d000-0000-7000-8000-00000000c001"), uuid.MustParse("0193d000-0000-7000-8000-00000000c002")
	nurse := uuid.MustParse("0193d000-0000-7000-8000-00000000b001")
	ptr := func(t time.Time) *time.Time { return &t }
	dur := func(d time.Duration) *time.Duration { return &d }
	yes, no := true, false
	mins := func(m int) *int { return &m }
	res := []procedure.Assigned{{ID: room1, Kind: procedure.KindRoom}, {ID: nurse, Kind: procedure.KindStaff}}
	summaries := []procedure.Summary{
		// Completed on time, 10 minutes over, with a complication.
		{Status: procedure.StatusCompleted, RequestedAt: fxT0, PlannedStart: ptr(fxAt(1, 9, 0)), PlannedEnd: ptr(fxAt(1, 10, 0)),
			Resources: res, CheckedIn: true, ActualStart: ptr(fxAt(1, 9, 5)), ActualEnd: ptr(fxAt(1, 10, 15)),
			StartDelay: dur(5 * time.Minute), OnTime: &yes, PlannedMinutes: 60, ActualMinutes: mins(70), Complications: 1, Reschedules: 2},
		// Completed 25 minutes late, 10 minutes under.
		{Status: procedure.StatusCompleted, RequestedAt: fxT0, PlannedStart: ptr(fxAt(2, 9, 0)), PlannedEnd: ptr(fxAt(2, 10, 0)),
			Resources: res, CheckedIn: true, ActualStart: ptr(fxAt(2, 9, 25)), ActualEnd: ptr(fxAt(2, 10, 15)),
			StartDelay: dur(25 * time.Minute), OnTime: &no, PlannedMinutes: 60, ActualMinutes: mins(50)},
		// A no-show: its hour was booked and lost.
		{Status: procedure.StatusNoShow, RequestedAt: fxT0, PlannedStart: ptr(fxAt(3, 9, 0)), PlannedEnd: ptr(fxAt(3, 10, 0)),
			Resources: res, PlannedMinutes: 60, NoShow: true},
		// Cancelled: its slot is not booked time.
		{Status: procedure.StatusCancelled, RequestedAt: fxT0, PlannedStart: ptr(fxAt(4, 9, 0)), PlannedEnd: ptr(fxAt(4, 10, 0)),
			Resources: res, PlannedMinutes: 60, Cancelled: true, Bumped: 1},
		// Never scheduled: counted by its request time.
		{Status: procedure.StatusUnscheduled, RequestedAt: fxAt(0, 12, 0), PlannedMinutes: 30, Bumped: 2},
		// Booked over the end of the range in room 2: counted (it starts in
		// the range), but only its 30 minutes before midnight are booked time.
		{Status: procedure.StatusBooked, RequestedAt: fxT0, PlannedStart: ptr(fxAt(6, 23, 30)), PlannedEnd: ptr(fxAt(7, 1, 0)),
			Resources: []procedure.Assigned{{ID: room2, Kind: procedure.KindRoom}}, PlannedMinutes: 90},
		// Before the range: neither counted nor booked in it.
		{Status: procedure.StatusCompleted, RequestedAt: fxT0, PlannedStart: ptr(fxAt(-3, 9, 0)), PlannedEnd: ptr(fxAt(-3, 10, 0)),
			Resources: res, CheckedIn: true, PlannedMinutes: 60},
	}
	capacity := map[uuid.UUID]time.Duration{room1: 10 * time.Hour, room2: 2 * time.Hour, nurse: 0,
		uuid.MustParse("0193d000-0000-7000-8000-00000000e001"): 5 * time.Hour}

	m := procedure.Metrics(summaries, from, to, capacity)
	if m.Procedures != 6 || m.Rescheduled != 1 || m.Reschedules != 2 || m.Bumped != 2 || m.Bumps != 3 {
		t.Fatalf("counts %+v", m)
	}
	byStatus := map[procedure.Status]int{}
	for _, sc := range m.Statuses {
		byStatus[sc.Status] = sc.Count
	}
	if len(m.Statuses) != len(procedure.Statuses) || byStatus[procedure.StatusCompleted] != 2 || byStatus[procedure.StatusBooked] != 1 ||
		byStatus[procedure.StatusRequested] != 0 {
		t.Fatalf("statuses %v", m.Statuses)
	}
	rate := func(name string, r procedure.Rate, count, of int) {
		t.Helper()
		if r.Count != count || r.Of != of || math.Abs(r.Rate-float64(count)/float64(of)) > 1e-9 {
			t.Errorf("%s: %+v, want %d of %d", name, r, count, of)
		}
	}
	rate("on time", m.OnTimeStart, 1, 2)
	rate("cancellation", m.Cancellation, 1, 6)
	rate("no-show", m.NoShow, 1, 3)
	rate("complication", m.Complication, 1, 2)
	if m.StartDelay != (procedure.Mean{Count: 2, Mean: 15 * time.Minute}) || m.Overrun != (procedure.Mean{Count: 2, Mean: 0}) {
		t.Fatalf("delay %+v overrun %+v", m.StartDelay, m.Overrun)
	}

	// Room 1: three booked hours (two completed, one no-show) of ten; room
	// 2: the half hour before midnight of two; the nurse open for no time;
	// an unknown resource open and never booked.
	want := map[uuid.UUID]procedure.Utilisation{
		room1: {ResourceID: room1, Kind: procedure.KindRoom, BookedMinutes: 180, OpenMinutes: 600, Rate: 0.3},
		room2: {ResourceID: room2, Kind: procedure.KindRoom, BookedMinutes: 30, OpenMinutes: 120, Rate: 0.25},
		nurse: {ResourceID: nurse, Kind: procedure.KindStaff, BookedMinutes: 180, OpenMinutes: 0, Rate: 0},
		uuid.MustParse("0193d000-0000-7000-8000-00000000e001"): {ResourceID: uuid.MustParse("0193d000-0000-7000-8000-00000000e001"), OpenMinutes: 300},
	}
	if len(m.Resources) != len(want) {
		t.Fatalf("resources %+v", m.Resources)
	}
	for _, u := range m.Resources {
		if w := want[u.ResourceID]; u != w {
			t.Errorf("utilisation %+v, want %+v", u, w)
		}
	}
	if m.Resources[0].Kind != "" || m.Resources[1].Kind != procedure.KindRoom {
		t.Errorf("order %+v", m.Resources)
	}
	if len(m.Kinds) != 2 || m.Kinds[0] != (procedure.Utilisation{Kind: procedure.KindRoom, BookedMinutes: 210, OpenMinutes: 720, Rate: 210.0 / 720}) ||
		m.Kinds[1] != (procedure.Utilisation{Kind: procedure.KindStaff, BookedMinutes: 180}) {
		t.Fatalf("kinds %+v", m.Kinds)
	}
}

func TestMetricsWithNothingToMeasure(t *testing.T) {
	m := procedure.Metrics(nil, fxAt(0, 0, 0), fxAt(7, 0, 0), nil)
	zero := procedure.Rate{}
	if m.Procedures != 0 || m.OnTimeStart != zero || m.Cancellation != zero || m.NoShow != zero || m.Complication != zero ||
		m.StartDelay != (procedure.Mean{}) || m.Overrun != (procedure.Mean{}) || m.Resources == nil || len(m.Resources) != 0 || m.Kinds == nil {
		t.Fatalf("empty metrics %+v", m)
	}
	// A real procedure's summary goes through.
	m = procedure.Metrics([]procedure.Summary{fxCompleted(t).Summary()}, fxAt(0, 0, 0), fxAt(7, 0, 0), nil)
	if m.Procedures != 1 || m.OnTimeStart.Count != 1 || m.Overrun.Mean != 0 || m.Resources[0].BookedMinutes != 90 {
		t.Fatalf("one procedure %+v", m)
	}
}
