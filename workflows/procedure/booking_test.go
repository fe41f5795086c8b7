package procedure_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/procedure"
	procedurewf "github.com/zarish-sphere/zarish/workflows/procedure"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// thursday is the slot the first search finds: Thursday 09:00, 49 hours
// after the request.
var thursday = procedure.Period{From: day(57 * time.Hour), To: day(57*time.Hour + duration)}

// A hold nobody books lapses after ten minutes: its allocations go, then
// the procedure is recorded unscheduled, and a booking after that is
// refused. It is cancelled later, which ends the run.
func TestHoldNotBookedLapses(t *testing.T) {
	h := newHarness(t)
	in := h.input()
	var logged int
	h.at(time.Minute, func() {
		allocated(t, h.store, procID, thursday, procedure.AllocationHeld)
		logged = len(h.store.log(0))
	})
	var before, after procedure.Procedure
	h.query(procedurewf.DefaultHoldFor-time.Second, &before)
	h.query(procedurewf.DefaultHoldFor+time.Second, &after)
	var lapse []string
	h.at(procedurewf.DefaultHoldFor+time.Second, func() {
		lapse = h.store.log(logged)
		if a := h.store.allocations(procID); len(a) != 0 {
			t.Errorf("the lapsed hold keeps %d allocations", len(a))
		}
	})
	late := h.book(procedurewf.DefaultHoldFor + time.Minute)
	cancelled := h.cancel(time.Hour)
	final := h.run(in)

	if before.Status != procedure.StatusHeld {
		t.Fatalf("a second before the lapse: %s", before.Status)
	}
	if after.Status != procedure.StatusUnscheduled || after.Slot != nil || after.HoldExpiresAt != nil {
		t.Fatalf("after the lapse: %s, slot %+v", after.Status, after.Slot)
	}
	if e := after.Last(); e.Kind != procedure.EventHoldExpired || !e.At.Equal(t0.Add(procedurewf.DefaultHoldFor)) {
		t.Fatalf("lapse recorded as %+v", e)
	}
	if want := []string{"release d1", "record d1 3 hold-expired"}; !slices.Equal(lapse, want) {
		t.Fatalf("the lapse wrote %v, want %v", lapse, want)
	}
	if late.accepted || !refusedAs(late.rejected, procedurewf.RefusedInvalidTransition) && !refusedAs(late.rejected, procedurewf.RefusedHoldLapsed) {
		t.Fatalf("book after the lapse: accepted %v, rejected %v", late.accepted, late.rejected)
	}
	accepted(t, "cancel", cancelled)
	if final.Status != procedure.StatusCancelled || kinds(final) != "requested held hold-expired cancelled" {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}
	if got := h.upserted(); got != "held unscheduled cancelled" {
		t.Fatalf("ProcedureStatus upserts: %s", got)
	}
}

// Cancelling a booked procedure releases every allocation, and only then
// records the cancellation, with the audit record of the request that
// asked (the process's own steps have none); the run ends.
func TestCancelReleasesFirst(t *testing.T) {
	h := newHarness(t)
	in := h.input()
	h.book(2 * time.Minute)
	var logged int
	h.at(time.Hour-time.Second, func() {
		allocated(t, h.store, procID, thursday, procedure.AllocationBooked)
		logged = len(h.store.log(0))
	})
	rec := &audit.Record{ID: uuid.MustParse("0193f200-0000-7000-8000-0000000000f9"), Action: audit.ActionUpdate, Status: 200}
	cancelled := h.send(time.Hour, procedurewf.UpdateCancel, procedurewf.CancelRequest{By: requester, Reason: "patient declined",
		Audited: process.Audited{Audit: rec}})
	final := h.run(in)

	accepted(t, "cancel", cancelled)
	if a := h.store.audited(procID); len(a) != 3 || a[0] != nil || a[1] != nil || a[2] == nil || a[2].ID != rec.ID {
		t.Fatalf("audit records written %v", a)
	}
	if want := []string{"release d1", "record d1 4 cancelled"}; !slices.Equal(h.store.log(logged), want) {
		t.Fatalf("the cancellation wrote %v, want %v", h.store.log(logged), want)
	}
	if a := h.store.allocations(procID); len(a) != 0 {
		t.Fatalf("the cancelled procedure keeps %d allocations", len(a))
	}
	if final.Status != procedure.StatusCancelled || kinds(final) != "requested held booked cancelled" ||
		final.Last().By != requester || !strings.Contains(final.Last().Note, "patient declined") {
		t.Fatalf("final %s: %s, %+v", final.Status, kinds(final), final.Last())
	}
	if got := h.upserted(); got != "held booked cancelled" {
		t.Fatalf("ProcedureStatus upserts: %s", got)
	}
}

// A booked procedure moved to Saturday swaps its allocations in one call,
// and its reminders follow the new slot (Thursday's reminder never goes). A
// move into an evening, when the directory is closed, is refused as
// RefusedNoSlot naming why and offering Sunday morning, and the booking
// stays as it was.
func TestRescheduleSwapsOrRefuses(t *testing.T) {
	h := newHarness(t)
	in := h.input()
	saturday := procedure.Period{From: day(4*24*time.Hour + 7*time.Hour), To: day(4*24*time.Hour + 7*time.Hour + duration)}
	h.book(2 * time.Minute)
	var logged int
	h.at(time.Hour-time.Second, func() { logged = len(h.store.log(0)) })
	moved := h.reschedule(time.Hour, procedure.Period{From: saturday.From, To: day(5*24*time.Hour + 19*time.Hour)})
	var swap []string
	h.at(time.Hour+time.Second, func() {
		swap = h.store.log(logged)
		allocated(t, h.store, procID, saturday, procedure.AllocationBooked)
		logged = len(h.store.log(0))
	})
	evening := procedure.Period{From: day(5*24*time.Hour + 20*time.Hour), To: day(5*24*time.Hour + 23*time.Hour)}
	none := h.reschedule(2*time.Hour, evening)
	var stayed procedure.Procedure
	h.query(2*time.Hour+time.Second, &stayed)
	var refusedWrote []string
	h.at(2*time.Hour+time.Second, func() {
		refusedWrote = h.store.log(logged)
		allocated(t, h.store, procID, saturday, procedure.AllocationBooked)
	})
	var thursdayPassed procedure.Procedure
	h.query(50*time.Hour, &thursdayPassed)
	cancelled := h.cancel(80 * time.Hour)
	final := h.run(in)

	accepted(t, "reschedule", moved)
	if want := []string{"swap d1", "record d1 4 rescheduled"}; !slices.Equal(swap, want) {
		t.Fatalf("the reschedule wrote %v, want %v", swap, want)
	}
	m := moved.state
	if m.Status != procedure.StatusBooked || m.Slot == nil || !m.Slot.From.Equal(saturday.From) || m.Released == nil ||
		!m.Released.From.Equal(thursday.From) || m.Reschedules != 1 || m.Reminded != 0 || m.Last().By != requester {
		t.Fatalf("rescheduled: %s, slot %+v, released %+v, %d reschedules, %d reminded", m.Status, m.Slot, m.Released,
			m.Reschedules, m.Reminded)
	}

	if !none.accepted || !refusedAs(none.failed, procedurewf.RefusedNoSlot) {
		t.Fatalf("reschedule into the evening: accepted %v, rejected %v, failed %v", none.accepted, none.rejected, none.failed)
	}
	var app *temporal.ApplicationError
	var why procedurewf.NoSlot
	if !errors.As(none.failed, &app) || !app.HasDetails() || app.Details(&why) != nil {
		t.Fatalf("the refusal carries no NoSlot: %v", none.failed)
	}
	if why.Reason == "" || len(why.Blocking) == 0 || len(why.Alternatives) == 0 ||
		!why.Alternatives[0].From.Equal(day(6*24*time.Hour+7*time.Hour)) {
		t.Fatalf("no slot: %+v", why)
	}
	if len(refusedWrote) != 0 {
		t.Fatalf("the refused reschedule wrote %v", refusedWrote)
	}
	if stayed.Version != m.Version || !stayed.Slot.From.Equal(saturday.From) || stayed.Status != procedure.StatusBooked {
		t.Fatalf("after the refusal: %s v%d, slot %+v", stayed.Status, stayed.Version, stayed.Slot)
	}

	// Thursday's reminders were never sent; Saturday's first is due on
	// Friday at 07:00.
	if thursdayPassed.Reminded != 0 || strings.Contains(kinds(thursdayPassed), "reminded") {
		t.Fatalf("by Thursday: %s", kinds(thursdayPassed))
	}
	accepted(t, "cancel", cancelled)
	if r := entry(t, final, procedure.EventReminded, 0); !r.At.Equal(saturday.From.Add(-24 * time.Hour)) {
		t.Fatalf("reminded at %v", r.At)
	}
	if kinds(final) != "requested held booked rescheduled reminded cancelled" || len(h.store.allocations(procID)) != 0 {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}
}

// A booked patient who never checks in is a no-show thirty minutes after
// the start: the allocations go, then the no-show is recorded, and the run
// ends.
func TestNoShow(t *testing.T) {
	h := newHarness(t)
	in := h.input()
	h.book(2 * time.Minute)
	var logged int
	h.at(49*time.Hour, func() {
		allocated(t, h.store, procID, thursday, procedure.AllocationBooked)
		logged = len(h.store.log(0))
	})
	final := h.run(in)

	if final.Status != procedure.StatusNoShow || kinds(final) != "requested held booked reminded reminded no-show" {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}
	if e := final.Last(); !e.At.Equal(thursday.From.Add(procedure.NoShowGrace)) {
		t.Fatalf("no-show at %v", e.At)
	}
	if want := []string{"release d1", "record d1 6 no-show"}; !slices.Equal(h.store.log(logged), want) {
		t.Fatalf("the no-show wrote %v, want %v", h.store.log(logged), want)
	}
	if got := h.upserted(); got != "held booked no-show" {
		t.Fatalf("ProcedureStatus upserts: %s", got)
	}
	if s := h.sent(); len(s) != 2 || s[1].name != "order-closed" {
		t.Fatalf("signals %+v", s)
	}
}

// A request whose window holds no slot — an evening, when the directory is
// closed — answers unscheduled, saying why and offering the next morning's
// slots; nothing is allocated. Rescheduled into the next day, it searches
// again and holds.
func TestNoSlotAnswersUnscheduled(t *testing.T) {
	h := newHarness(t)
	in := h.input(func(r *procedure.Request) {
		r.Window = procedure.Period{From: day(20 * time.Hour), To: day(23 * time.Hour)}
	})
	scheduled := h.scheduled(0)
	var empty bool
	h.at(time.Minute, func() { empty = len(h.store.allocations(procID)) == 0 })
	tomorrow := procedure.Period{From: day(24 * time.Hour), To: day(48 * time.Hour)}
	again := h.reschedule(time.Hour, tomorrow)
	cancelled := h.cancel(time.Hour + 5*time.Minute)
	final := h.run(in)

	accepted(t, "scheduled", scheduled)
	s := scheduled.state
	if s.Status != procedure.StatusUnscheduled || s.Slot != nil || s.Search == nil || kinds(s) != "requested no-slot" {
		t.Fatalf("scheduled: %s, %s, search %+v", s.Status, kinds(s), s.Search)
	}
	o := s.Search
	if !strings.Contains(o.Reason, "closed") || len(o.Blocking) == 0 || len(o.Alternatives) != procedure.MaxAlternatives ||
		!o.Alternatives[0].From.Equal(day(31*time.Hour)) || !o.At.Equal(t0) {
		t.Fatalf("search outcome %+v", o)
	}
	if !empty {
		t.Fatal("an unscheduled procedure holds allocations")
	}
	accepted(t, "reschedule", again)
	if a := again.state; a.Status != procedure.StatusHeld || !a.Slot.From.Equal(day(31*time.Hour)) || a.Search != nil ||
		!a.Request.Window.From.Equal(tomorrow.From) {
		t.Fatalf("rescheduled: %s, slot %+v, window %+v", a.Status, a.Slot, a.Request.Window)
	}
	accepted(t, "cancel", cancelled)
	if kinds(final) != "requested no-slot held cancelled" {
		t.Fatalf("final %s", kinds(final))
	}
	if got := h.upserted(); got != "unscheduled held cancelled" {
		t.Fatalf("ProcedureStatus upserts: %s", got)
	}
}

// An urgent request with no slot alerts its unit, owned by the requester,
// and the alert is resolved once a reschedule holds a slot.
func TestUrgentUnscheduledAlertsItsUnit(t *testing.T) {
	h := newHarness(t)
	in := h.input(func(r *procedure.Request) {
		r.Priority = procedure.PriorityUrgent
		r.Window = procedure.Period{From: day(20 * time.Hour), To: day(23 * time.Hour)}
	})
	in.Unit = "ward-3"
	h.scheduled(0)
	again := h.reschedule(time.Hour, procedure.Period{From: day(24 * time.Hour), To: day(48 * time.Hour)})
	h.book(time.Hour + time.Minute)
	h.cancel(2 * time.Hour)
	h.run(in)

	accepted(t, "reschedule", again)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.alerts) != 1 {
		t.Fatalf("alerts %+v", h.alerts)
	}
	a := h.alerts[0]
	if a.Category != procedurewf.CategoryUnscheduled || a.Severity != alert.SeverityUrgent || a.Unit != "ward-3" ||
		a.OwnerID == nil || *a.OwnerID != requester || a.Source != procedurewf.Source(procID) || !strings.Contains(a.Message, "could not be scheduled") {
		t.Fatalf("alert %+v", a)
	}
	if len(h.resolved) != 1 || h.resolved[0].AlertID != a.AlertID || h.resolved[0].Note != "A slot is held for the procedure." {
		t.Fatalf("resolved %+v", h.resolved)
	}
}
