package procedure_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/procedure"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	procedurewf "github.com/zarish-sphere/zarish/workflows/procedure"
)

// An elective endoscopy from request to completion: the first search holds
// Thursday 09:00 on the whole directory (the scheduled Update answers with
// the hold), the clerk books it, the reminders go a day and two hours
// before, the checklist is ticked phase by phase — the start refused while
// the time-out is not done — and the patient is checked in, the procedure
// started and completed, which ends the run. The encounter hears of the
// procedure and of its end, and ProcedureStatus follows every status.
func TestRequestToCompletion(t *testing.T) {
	h := newHarness(t)
	in := h.input()
	slot := procedure.Period{From: day(57 * time.Hour), To: day(57*time.Hour + duration)}
	const before = 49 * time.Hour // from the request to the slot
	var linked []signalled
	h.at(time.Second, func() { linked = h.sent() })
	scheduled := h.scheduled(0)
	var held procedure.Procedure
	h.query(time.Minute, &held)
	booked := h.book(2 * time.Minute)
	var reminded procedure.Procedure
	h.query(before-time.Hour, &reminded)
	pre := h.checkPhase(26*time.Hour, procedure.PhasePreProcedure)
	earlySignOut := h.check(30*time.Hour, "sign-out.counts")
	checkedIn := h.checkIn(before - time.Hour)
	signIn := h.checkPhase(before-time.Hour+time.Minute, procedure.PhaseSignIn)
	early := h.start(before - 45*time.Minute)
	timeOut := h.checkPhase(before-30*time.Minute, procedure.PhaseTimeOut)
	started := h.start(before)
	signOut := h.checkPhase(before+30*time.Minute, procedure.PhaseSignOut)
	var logged int
	h.at(before+40*time.Minute-time.Second, func() { logged = len(h.store.log(0)) })
	completed := h.complete(before + 40*time.Minute)
	final := h.run(in)

	accepted(t, "scheduled", scheduled)
	s := scheduled.state
	if s.Status != procedure.StatusHeld || s.Slot == nil || !s.Slot.From.Equal(slot.From) || !s.Slot.To.Equal(slot.To) ||
		s.HoldExpiresAt == nil || !s.HoldExpiresAt.Equal(t0.Add(procedurewf.DefaultHoldFor)) {
		t.Fatalf("scheduled: %s, slot %+v, hold until %v", s.Status, s.Slot, s.HoldExpiresAt)
	}
	want := [][]uuid.UUID{{roomID}, {staffID}, {nurseID}, {scopeID}}
	if !slices.EqualFunc(s.Slot.Resources, want, slices.Equal) || !slices.Equal(s.Slot.Team, []uuid.UUID{endoscopist, nurse}) {
		t.Fatalf("slot resources %v, team %v", s.Slot.Resources, s.Slot.Team)
	}
	if held.Version != s.Version || kinds(held) != "requested held" {
		t.Fatalf("held: %s", kinds(held))
	}

	accepted(t, "book", booked)
	if b := booked.state; b.Status != procedure.StatusBooked || b.HoldExpiresAt != nil || b.Last().By != clerk ||
		!b.Last().At.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("booked: %s, %+v", b.Status, b.Last())
	}
	var remindedAt []time.Duration
	for _, e := range reminded.Timeline {
		if e.Kind == procedure.EventReminded {
			remindedAt = append(remindedAt, e.At.Sub(t0))
		}
	}
	if !slices.Equal(remindedAt, []time.Duration{before - 24*time.Hour, before - 2*time.Hour}) || reminded.Reminded != 2 {
		t.Fatalf("reminded at %v (%d sent)", remindedAt, reminded.Reminded)
	}

	for i, o := range pre {
		accepted(t, "pre-procedure item "+strings.Repeat("I", i+1), o)
	}
	refused(t, "a sign-out item before the start", earlySignOut, procedurewf.RefusedInvalidTransition)
	accepted(t, "check in", checkedIn)
	if c := checkedIn.state; c.Status != procedure.StatusCheckedIn || c.CheckedInAt == nil || !c.CheckedInAt.Equal(t0.Add(before-time.Hour)) {
		t.Fatalf("checked in: %s at %v", c.Status, c.CheckedInAt)
	}
	for _, o := range signIn {
		accepted(t, "sign-in item", o)
	}
	refused(t, "start before the time-out", early, procedurewf.RefusedChecklistIncomplete)
	if !strings.Contains(early.rejected.Error(), "time-out.team") || strings.Contains(early.rejected.Error(), "sign-in.") {
		t.Errorf("the refusal names %q", early.rejected)
	}
	for _, o := range timeOut {
		accepted(t, "time-out item", o)
	}
	accepted(t, "start", started)
	if st := started.state; st.Status != procedure.StatusInProgress || st.StartedAt == nil || !st.StartedAt.Equal(slot.From) {
		t.Fatalf("started: %s at %v", st.Status, st.StartedAt)
	}
	for _, o := range signOut {
		accepted(t, "sign-out item", o)
	}
	accepted(t, "complete", completed)

	const timeline = "requested held booked reminded checklist-item checklist-item checklist-item reminded checked-in " +
		"checklist-item checklist-item checklist-item checklist-item checklist-item checklist-item checklist-item " +
		"checklist-item checklist-item checklist-item checklist-item checklist-item checklist-item checklist-item " +
		"started checklist-item checklist-item checklist-item checklist-item checklist-item completed"
	if final.Status != procedure.StatusCompleted || kinds(final) != timeline || len(final.Undone()) != 0 {
		t.Fatalf("final %s: %s; undone %v", final.Status, kinds(final), final.Undone())
	}
	c := final.Completion
	if c == nil || c.Outcome != procedure.OutcomeSuccessful || !c.StartedAt.Equal(slot.From) ||
		!c.EndedAt.Equal(t0.Add(before+40*time.Minute)) {
		t.Fatalf("completion %+v", c)
	}
	written := h.store.written(procID)
	if len(written) != final.Version || kinds(written[len(written)-1]) != timeline {
		t.Fatalf("%d versions written, the last %s", len(written), kinds(written[len(written)-1]))
	}
	// A closed procedure holds no allocation: the room is free for the
	// next case as soon as this one ends.
	if a := h.store.allocations(procID); len(a) != 0 {
		t.Errorf("the completed procedure still holds %d allocations", len(a))
	}
	if want := []string{"release d1", fmt.Sprintf("record d1 %d completed", final.Version)}; !slices.Equal(h.store.log(logged), want) {
		t.Errorf("the completion wrote %v, want %v", h.store.log(logged), want)
	}
	if got := h.upserted(); got != "held booked checked-in in-progress completed" {
		t.Fatalf("ProcedureStatus upserts: %s", got)
	}
	order := encounterwf.OrderSignal{OrderID: procID, Kind: encounter.OrderProcedure}
	if len(linked) != 1 || linked[0] != (signalled{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderLinked, order}) {
		t.Fatalf("signals in the first second %+v", linked)
	}
	wantSignals := []signalled{
		{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderLinked, order},
		{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderClosed, order},
	}
	if got := h.sent(); !slices.Equal(got, wantSignals) {
		t.Fatalf("signals %+v", got)
	}
}
