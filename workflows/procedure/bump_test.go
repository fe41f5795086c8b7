package procedure_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
	procedurewf "github.com/zarish-sphere/zarish/workflows/procedure"
)

// An emergency finds the whole directory booked all day by an elective
// case of another patient: its run tells that case's run it is bumped,
// and once the case has let go (the stand-in releases it as its run
// would), the emergency holds the next slot and books it on its own,
// without waiting for anybody.
func TestEmergencyBumpsElective(t *testing.T) {
	h := newHarness(t)
	today := procedure.Period{From: day(7 * time.Hour), To: day(19 * time.Hour)}
	if err := h.store.put(electiveID, slotAllocations(electiveID, other, procedure.PriorityElective, today)); err != nil {
		t.Fatal(err)
	}
	h.onSignal = func(workflowID, name string, arg any) {
		if workflowID == procedurewf.WorkflowID(electiveID) && name == procedurewf.SignalBumped {
			_ = h.store.Release(context.Background(), electiveID)
		}
	}
	in := h.input(func(r *procedure.Request) {
		r.Priority = procedure.PriorityEmergency
		r.Window = procedure.Period{From: t0, To: t0.Add(8 * time.Hour)}
	})
	scheduled := h.scheduled(0)
	var s procedure.Procedure
	h.query(time.Minute, &s)
	next := procedure.Period{From: t0.Add(5 * time.Minute), To: t0.Add(5*time.Minute + duration)}
	h.at(time.Minute, func() { allocated(t, h.store, procID, next, procedure.AllocationBooked) })
	cancelled := h.cancel(20 * time.Minute)
	final := h.run(in)

	// The bumped case had two seconds to let go; the next five-minute
	// start after that is 08:05.
	accepted(t, "scheduled", scheduled)
	if a := scheduled.state; a.Slot == nil || !a.Slot.From.Equal(next.From) {
		t.Fatalf("scheduled: %s, slot %+v, search %+v", a.Status, a.Slot, a.Search)
	}
	if s.Status != procedure.StatusBooked || s.Slot == nil || !s.Slot.From.Equal(next.From) || kinds(s) != "requested held booked" {
		t.Fatalf("a minute on: %s, %s, slot %+v", s.Status, kinds(s), s.Slot)
	}
	if b := s.Last(); b.By != uuid.Nil || !b.At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("booked %+v", b)
	}
	var bumps []signalled
	for _, sg := range h.sent() {
		if sg.name == procedurewf.SignalBumped {
			bumps = append(bumps, sg)
		}
	}
	want := signalled{procedurewf.WorkflowID(electiveID), procedurewf.SignalBumped, procedurewf.Bumped{EmergencyID: procID}}
	if len(bumps) != 1 || bumps[0] != want {
		t.Fatalf("bump signals %+v", bumps)
	}
	accepted(t, "cancel", cancelled)
	if final.Status != procedure.StatusCancelled || len(h.store.allocations(procID)) != 0 {
		t.Fatalf("final %s", final.Status)
	}
	if got := h.upserted(); got != "held booked cancelled" {
		t.Fatalf("ProcedureStatus upserts: %s", got)
	}
}

// A booked elective case told that an emergency needs its slot releases
// it, is recorded bumped, and searches again once the emergency has had
// its turn (it searches two seconds after telling the case): the emergency
// now has Thursday 09:00, so with the room's turnover the case books 10:00
// on its own.
func TestBookedElectiveGivesWay(t *testing.T) {
	h := newHarness(t)
	in := h.input()
	h.book(2 * time.Minute)
	var logged int
	h.at(time.Hour-time.Second, func() { logged = len(h.store.log(0)) })
	h.at(time.Hour, func() { h.env.SignalWorkflow(procedurewf.SignalBumped, procedurewf.Bumped{EmergencyID: emergencyID}) })
	// The emergency's run searches again two seconds after it told the
	// case, and takes the slot the case gave up.
	h.at(time.Hour+2*time.Second, func() {
		if err := h.store.put(emergencyID, slotAllocations(emergencyID, other, procedure.PriorityEmergency, thursday)); err != nil {
			t.Errorf("the emergency could not take the slot given up: %v", err)
		}
	})
	var moved procedure.Procedure
	h.query(time.Hour+time.Minute, &moved)
	var bumpWrote []string
	h.at(time.Hour+time.Minute, func() { bumpWrote = h.store.log(logged) })
	cancelled := h.cancel(2 * time.Hour)
	final := h.run(in)

	want := []string{"release d1", "record d1 4 bumped", "hold d1", "record d1 5 held", "book d1", "record d1 6 booked"}
	if !slices.Equal(bumpWrote, want) {
		t.Fatalf("the bump wrote %v, want %v", bumpWrote, want)
	}
	ten := procedure.Period{From: thursday.From.Add(duration + turnover), To: thursday.From.Add(2*duration + turnover)}
	if moved.Status != procedure.StatusBooked || moved.Slot == nil || !moved.Slot.From.Equal(ten.From) || moved.Bumped != 1 ||
		moved.Released == nil || !moved.Released.From.Equal(thursday.From) || kinds(moved) != "requested held booked bumped held booked" {
		t.Fatalf("after the bump: %s, %s, slot %+v, released %+v", moved.Status, kinds(moved), moved.Slot, moved.Released)
	}
	if b := entry(t, moved, procedure.EventBumped, 0); !b.At.Equal(t0.Add(time.Hour)) || b.Status != procedure.StatusUnscheduled {
		t.Fatalf("bumped %+v", b)
	}
	if again := entry(t, moved, procedure.EventHeld, 3).At.Sub(t0); again <= time.Hour+2*time.Second || again > time.Hour+time.Minute {
		t.Fatalf("held again %v after the request", again)
	}
	accepted(t, "cancel", cancelled)
	if final.Status != procedure.StatusCancelled || len(h.store.allocations(procID)) != 0 ||
		len(h.store.allocations(emergencyID)) != 5 {
		t.Fatalf("final %s, allocations %d, the emergency's %d", final.Status, len(h.store.allocations(procID)),
			len(h.store.allocations(emergencyID)))
	}
	if got := h.upserted(); got != "held booked unscheduled held booked cancelled" {
		t.Fatalf("ProcedureStatus upserts: %s", got)
	}
}
