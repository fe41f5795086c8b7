package procedure_test

import (
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/procedure"
	procedurewf "github.com/zarish-sphere/zarish/workflows/procedure"
)

// Steps the procedure's status forbids are refused by their validators,
// before anything runs: nothing reaches the store, and the state stays as
// it was.
func TestRefusedStepsWriteNothing(t *testing.T) {
	h := newHarness(t)
	in := h.input()
	checkInHeld := h.checkIn(time.Minute)
	booked := h.book(2 * time.Minute)
	var logged int
	var before procedure.Procedure
	h.at(3*time.Minute-time.Second, func() { logged = len(h.store.log(0)) })
	h.query(3*time.Minute-time.Second, &before)
	steps := []struct {
		what string
		o    *outcome
		typ  string
	}{
		{"book twice", h.book(3 * time.Minute), procedurewf.RefusedInvalidTransition},
		{"complete before the start", h.complete(4 * time.Minute), procedurewf.RefusedInvalidTransition},
		{"start before the check-in", h.start(5 * time.Minute), procedurewf.RefusedInvalidTransition},
		{"a sign-out item before the start", h.check(6*time.Minute, "sign-out.counts"), procedurewf.RefusedInvalidTransition},
		{"an item not on the checklist", h.check(7*time.Minute, "sign-in.horoscope"), procedurewf.RefusedInvalidArgument},
		{"check in two days early", h.checkIn(8 * time.Minute), procedurewf.RefusedInvalidTransition},
		{"reschedule without a reason", h.send(9*time.Minute, procedurewf.UpdateReschedule, procedurewf.RescheduleRequest{
			Window: thursday, By: requester}), procedurewf.RefusedInvalidArgument},
		{"cancel without a reason", h.send(10*time.Minute, procedurewf.UpdateCancel, procedurewf.CancelRequest{By: requester}),
			procedurewf.RefusedInvalidArgument},
	}
	var after procedure.Procedure
	h.query(11*time.Minute, &after)
	var wrote []string
	h.at(11*time.Minute, func() { wrote = h.store.log(logged) })
	cancelled := h.cancel(12 * time.Minute)
	final := h.run(in)

	refused(t, "check in while held", checkInHeld, procedurewf.RefusedInvalidTransition)
	accepted(t, "book", booked)
	for _, s := range steps {
		refused(t, s.what, s.o, s.typ)
	}
	if len(wrote) != 0 {
		t.Fatalf("the refused steps wrote %v", wrote)
	}
	if before.Status != procedure.StatusBooked || after.Version != before.Version || kinds(after) != "requested held booked" {
		t.Fatalf("after the refusals: %s v%d, %s", after.Status, after.Version, kinds(after))
	}
	accepted(t, "cancel", cancelled)
	if final.Status != procedure.StatusCancelled || len(h.store.written(procID)) != final.Version {
		t.Fatalf("final %s, %d versions written", final.Status, len(h.store.written(procID)))
	}
}
