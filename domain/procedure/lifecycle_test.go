package procedure_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

// fxNew is the request as a new procedure, with the default reminders.
func fxNew(t *testing.T) procedure.Procedure {
	t.Helper()
	return fxMust(t)(procedure.NewProcedure(fxRequest(), nil))
}

// fxHeld holds Tuesday 09:00–10:30 at 08:01 until 08:16.
func fxHeld(t *testing.T) procedure.Procedure {
	t.Helper()
	return fxMust(t)(fxNew(t).Hold(fxSlot(1, 9, 0), fxAt(0, 8, 16), fxAt(0, 8, 1)))
}

// fxBooked books the hold at 08:05.
func fxBooked(t *testing.T) procedure.Procedure {
	t.Helper()
	return fxMust(t)(fxHeld(t).Book(fxScheduler, fxAt(0, 8, 5)))
}

// fxChecked has every item of the given phases done by the nurse at at.
func fxChecked(t *testing.T, p procedure.Procedure, at time.Time, phases ...procedure.Phase) procedure.Procedure {
	t.Helper()
	for _, code := range p.Undone(phases...) {
		p = fxMust(t)(p.Check(code, fxNurse, "", at))
	}
	return p
}

// fxCheckedIn is booked with the checklist up to time out done, checked in
// on Tuesday at 08:00.
func fxCheckedIn(t *testing.T) procedure.Procedure {
	t.Helper()
	p := fxChecked(t, fxBooked(t), fxAt(1, 7, 30), procedure.PhasePreProcedure, procedure.PhaseSignIn, procedure.PhaseTimeOut)
	return fxMust(t)(p.CheckIn(fxNurse, fxAt(1, 8, 0)))
}

// fxStarted started at 09:05.
func fxStarted(t *testing.T) procedure.Procedure {
	t.Helper()
	return fxMust(t)(fxCheckedIn(t).Start(fxSurgeon, fxAt(1, 9, 5)))
}

// fxSignedOut has the sign-out done at 10:30.
func fxSignedOut(t *testing.T) procedure.Procedure {
	t.Helper()
	return fxChecked(t, fxStarted(t), fxAt(1, 10, 30), procedure.PhaseSignOut)
}

// fxCompletion is an uneventful case that ended at 10:35.
func fxCompletion() procedure.Completion {
	return procedure.Completion{Outcome: procedure.OutcomeSuccessful, EndedAt: fxAt(1, 10, 35),
		Team: []uuid.UUID{fxSurgeon, fxNurse}, By: fxSurgeon}
}

func fxCompleted(t *testing.T) procedure.Procedure {
	t.Helper()
	return fxMust(t)(fxSignedOut(t).Complete(fxCompletion(), fxAt(1, 10, 40)))
}

func fxUnscheduled(t *testing.T) procedure.Procedure {
	t.Helper()
	return fxMust(t)(fxNew(t).NoSlotFound("no theatre free", fxAt(0, 8, 1)))
}

func fxKinds(p procedure.Procedure) string {
	var out []string
	for _, e := range p.Timeline {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

// fxRefused checks that a refusal wraps want and leaves p as it was: the
// procedure returned is p, and p itself did not change.
func fxRefused(t *testing.T, p procedure.Procedure, want error, change func(procedure.Procedure) (procedure.Procedure, error)) error {
	t.Helper()
	before, _ := json.Marshal(p)
	got, err := change(p)
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	after, _ := json.Marshal(p)
	if string(before) != string(after) || !reflect.DeepEqual(got, p) {
		t.Fatalf("a refusal changed the procedure")
	}
	return err
}

// fxTimelineIsSound checks every entry's sequence and the version.
func fxTimelineIsSound(t *testing.T, p procedure.Procedure) {
	t.Helper()
	for i, e := range p.Timeline {
		if e.Seq != i+1 || (i > 0 && e.At.Before(p.Timeline[i-1].At)) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if p.Version != len(p.Timeline) || !p.UpdatedAt.Equal(p.Last().At) || p.Last().Status != p.Status {
		t.Fatalf("version %d of %d entries, updated %v, last %+v", p.Version, len(p.Timeline), p.UpdatedAt, p.Last())
	}
}

func TestNewProcedure(t *testing.T) {
	p := fxNew(t)
	if p.Status != procedure.StatusRequested || p.Request.Priority != procedure.PriorityElective || p.Slot != nil {
		t.Fatalf("new %+v", p)
	}
	if !slices.Equal(p.Reminders, []time.Duration{24 * time.Hour, 2 * time.Hour}) || p.Reminded != 0 {
		t.Fatalf("reminders %v", p.Reminders)
	}
	if len(p.Checklist) != 22 || !reflect.DeepEqual(p.Checklist, procedure.DefaultChecklist()) {
		t.Fatalf("checklist %v", p.Checklist)
	}
	e := p.Last()
	if fxKinds(p) != "requested" || e.By != fxRequester || !e.At.Equal(fxT0) || e.Status != procedure.StatusRequested ||
		e.Note != "elective Appendectomy (80146002), 1 h 30 min, between 2026-12-07 08:00–2026-12-21 08:00 UTC" {
		t.Fatalf("timeline %+v", p.Timeline)
	}
	fxTimelineIsSound(t, p)
	if (procedure.Procedure{}).Last() != (procedure.Entry{}) {
		t.Fatal("an empty procedure has a last entry")
	}

	r := fxRequest()
	r.Procedure.Display, r.Notes, r.Priority = "  Appendectomy ", " nil by mouth from midnight ", procedure.PriorityUrgent
	p = fxMust(t)(procedure.NewProcedure(r, []time.Duration{2 * time.Hour, 48 * time.Hour, 24 * time.Hour}))
	if p.Request.Procedure.Display != "Appendectomy" || p.Request.Notes != "nil by mouth from midnight" || p.Request.Priority != procedure.PriorityUrgent {
		t.Fatalf("request %+v", p.Request)
	}
	if !slices.Equal(p.Reminders, []time.Duration{48 * time.Hour, 24 * time.Hour, 2 * time.Hour}) {
		t.Fatalf("reminders %v, want longest first", p.Reminders)
	}
	if p = fxMust(t)(procedure.NewProcedure(fxRequest(), []time.Duration{})); len(p.Reminders) != 0 {
		t.Fatalf("no reminders asked, %v kept", p.Reminders)
	}
}

func TestNewProcedureRefusals(t *testing.T) {
	_, err := procedure.NewProcedure(procedure.Request{}, nil)
	if !errors.Is(err, procedure.ErrInvalidArgument) || len(fxFields(err)) == 0 {
		t.Fatalf("empty request: %v", err)
	}
	_, err = procedure.NewProcedure(fxRequest(), []time.Duration{time.Hour, 0, time.Hour, 31 * 24 * time.Hour})
	if got := fxFields(err); !slices.Equal(got, []string{"reminders[1]", "reminders[2]", "reminders[3]"}) {
		t.Fatalf("reminders: %v", err)
	}
	_, err = procedure.NewProcedure(fxRequest(), make([]time.Duration, 6))
	if got := fxFields(err); !slices.Equal(got, []string{"reminders"}) {
		t.Fatalf("six reminders: %v", err)
	}
}

func TestHappyPath(t *testing.T) {
	p := fxNew(t)

	p = fxMust(t)(p.Hold(fxSlot(1, 9, 0), fxAt(0, 8, 16), fxAt(0, 8, 1)))
	if p.Status != procedure.StatusHeld || p.Slot == nil || !p.HoldExpiresAt.Equal(fxAt(0, 8, 16)) ||
		p.Last().Note != "held for 2026-12-08 09:00–10:30 UTC until 2026-12-07 08:16 UTC" {
		t.Fatalf("held %+v", p.Last())
	}
	if _, ok := p.NextReminder(); ok {
		t.Fatal("a reminder for a hold")
	}

	p = fxMust(t)(p.Book(fxScheduler, fxAt(0, 8, 5)))
	if p.Status != procedure.StatusBooked || p.HoldExpiresAt != nil || p.Last().By != fxScheduler ||
		p.Last().Note != "booked for 2026-12-08 09:00–10:30 UTC" {
		t.Fatalf("booked %+v", p.Last())
	}

	// A day and two hours before the start.
	for i, due := range []time.Time{fxAt(0, 9, 0), fxAt(1, 7, 0)} {
		next, ok := p.NextReminder()
		if !ok || !next.Equal(due) {
			t.Fatalf("reminder %d due %v %v, want %v", i, next, ok, due)
		}
		fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
			return p.Remind(due.Add(-time.Minute))
		})
		p = fxMust(t)(p.Remind(due))
		if p.Reminded != i+1 || p.Status != procedure.StatusBooked {
			t.Fatalf("reminded %d", p.Reminded)
		}
	}
	if p.Timeline[3].Note != "reminder sent 24 h before the start at 2026-12-08 09:00 UTC" ||
		p.Timeline[4].Note != "reminder sent 2 h before the start at 2026-12-08 09:00 UTC" {
		t.Fatalf("reminders %+v", p.Timeline[3:])
	}
	if _, ok := p.NextReminder(); ok {
		t.Fatal("a third reminder")
	}
	fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) { return p.Remind(fxAt(1, 8, 0)) })

	p = fxMust(t)(p.Check("consent", fxNurse, "signed in clinic", fxAt(1, 7, 30)))
	if it, _ := p.Item("consent"); it.DoneAt == nil || !it.DoneAt.Equal(fxAt(1, 7, 30)) || it.DoneBy != fxNurse || it.Note != "signed in clinic" {
		t.Fatalf("consent %+v", it)
	}
	if e := p.Last(); e.Kind != procedure.EventChecked || e.Status != procedure.StatusBooked || e.Note != "checked consent: Consent signed (signed in clinic)" {
		t.Fatalf("check entry %+v", e)
	}
	p = fxChecked(t, p, fxAt(1, 7, 45), procedure.PhasePreProcedure, procedure.PhaseSignIn, procedure.PhaseTimeOut)

	p = fxMust(t)(p.CheckIn(fxNurse, fxAt(1, 8, 0)))
	if p.Status != procedure.StatusCheckedIn || !p.CheckedInAt.Equal(fxAt(1, 8, 0)) {
		t.Fatalf("checked in %+v", p)
	}
	if _, ok := p.NoShowAt(); ok {
		t.Fatal("a checked-in patient can become a no-show")
	}

	p = fxMust(t)(p.Start(fxSurgeon, fxAt(1, 9, 5)))
	if p.Status != procedure.StatusInProgress || !p.StartedAt.Equal(fxAt(1, 9, 5)) ||
		p.Last().Note != "started, planned for 2026-12-08 09:00 UTC (5 min late)" {
		t.Fatalf("started %+v", p.Last())
	}

	p = fxChecked(t, p, fxAt(1, 10, 30), procedure.PhaseSignOut)
	c := fxCompletion()
	c.Complications = []procedure.Coding{{System: procedure.SystemSNOMED, Code: "131148009", Display: " Bleeding "}}
	c.Notes = " uneventful apart from minor bleeding "
	p = fxMust(t)(p.Complete(c, fxAt(1, 10, 40)))
	if p.Status != procedure.StatusCompleted || p.Completion == nil || !p.Completion.StartedAt.Equal(fxAt(1, 9, 5)) ||
		p.Completion.Notes != "uneventful apart from minor bleeding" || p.Completion.Complications[0].Display != "Bleeding" {
		t.Fatalf("completed %+v", p.Completion)
	}
	if e := p.Last(); e.By != fxSurgeon || e.Note != "completed, successful, after 1 h 30 min, 1 complication" {
		t.Fatalf("completed %+v", e)
	}

	want := "requested held booked reminded reminded" + strings.Repeat(" checklist-item", 17) + " checked-in started" +
		strings.Repeat(" checklist-item", 5) + " completed"
	if fxKinds(p) != want {
		t.Fatalf("timeline %s", fxKinds(p))
	}
	fxTimelineIsSound(t, p)
	if len(p.Undone()) != 0 {
		t.Fatalf("undone %v", p.Undone())
	}
}

func TestRemindersAlreadyPastAtBookingAreSkipped(t *testing.T) {
	// Booked on Monday at 13:00 for Tuesday 12:00: the day-before reminder
	// (Monday 12:00) is past; the two-hour one is due Tuesday 10:00.
	p := fxMust(t)(fxNew(t).Hold(fxSlot(1, 12, 0), fxAt(0, 13, 15), fxAt(0, 13, 0)))
	p = fxMust(t)(p.Book(fxScheduler, fxAt(0, 13, 0)))
	if next, ok := p.NextReminder(); p.Reminded != 1 || !ok || !next.Equal(fxAt(1, 10, 0)) {
		t.Fatalf("next reminder %v %v (reminded %d)", next, ok, p.Reminded)
	}
	// Booked an hour before the start: none is left.
	p = fxMust(t)(fxNew(t).Hold(fxSlot(1, 12, 0), fxAt(1, 11, 15), fxAt(1, 11, 0)))
	p = fxMust(t)(p.Book(fxScheduler, fxAt(1, 11, 0)))
	if _, ok := p.NextReminder(); ok {
		t.Fatal("a reminder after the start")
	}
}

func TestHoldExpiry(t *testing.T) {
	p := fxHeld(t)
	err := fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Book(fxScheduler, fxAt(0, 8, 16))
	})
	if p.CanBook(fxScheduler, fxAt(0, 8, 16)) == nil || !strings.Contains(err.Error(), "expired at 2026-12-07 08:16 UTC") {
		t.Fatalf("book at expiry: %v", err)
	}
	if p.CanBook(uuid.Nil, fxAt(0, 8, 15)) != nil {
		t.Fatal("the process may book before expiry")
	}
	fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) { return p.Expire(fxAt(0, 8, 15)) })

	p = fxMust(t)(p.Expire(fxAt(0, 8, 16)))
	if p.Status != procedure.StatusUnscheduled || p.Slot != nil || p.HoldExpiresAt != nil ||
		p.Last().Note != "the hold on 2026-12-08 09:00–10:30 UTC expired unbooked" {
		t.Fatalf("expired %+v", p)
	}
	fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) { return p.Expire(fxAt(0, 9, 0)) })

	// Unscheduled, it may be held again.
	p = fxMust(t)(p.Hold(fxSlot(2, 9, 0), fxAt(0, 9, 15), fxAt(0, 9, 0)))
	p = fxMust(t)(p.Book(fxScheduler, fxAt(0, 9, 1)))
	if fxKinds(p) != "requested held hold-expired held booked" {
		t.Fatalf("timeline %s", fxKinds(p))
	}
	fxTimelineIsSound(t, p)
}

func TestHoldRefusals(t *testing.T) {
	at, expires := fxAt(0, 8, 1), fxAt(0, 8, 16)
	for _, tt := range []struct {
		name    string
		slot    func() procedure.Slot
		expires time.Time
	}{
		{"empty", func() procedure.Slot { return procedure.Slot{} }, expires},
		{"too short", func() procedure.Slot { s := fxSlot(1, 9, 0); s.To = s.To.Add(-time.Minute); return s }, expires},
		{"before the window", func() procedure.Slot { return fxSlot(0, 7, 0) }, expires},
		{"after the window", func() procedure.Slot { return fxSlot(14, 7, 0) }, expires},
		{"started", func() procedure.Slot { return fxSlot(0, 8, 0) }, expires},
		{"a requirement missing", func() procedure.Slot { s := fxSlot(1, 9, 0); s.Resources = s.Resources[:3]; return s }, expires},
		{"one scrub nurse", func() procedure.Slot { s := fxSlot(1, 9, 0); s.Resources[3] = s.Resources[3][:1]; return s }, expires},
		{"an empty id", func() procedure.Slot { s := fxSlot(1, 9, 0); s.Resources[1][0] = uuid.Nil; return s }, expires},
		{"one resource twice", func() procedure.Slot { s := fxSlot(1, 9, 0); s.Resources[3][1] = fxScrub1; return s }, expires},
		{"expiring now", func() procedure.Slot { return fxSlot(1, 9, 0) }, at},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fxRefused(t, fxNew(t), procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) {
				return p.Hold(tt.slot(), tt.expires, at)
			})
		})
	}
	// A slot may start at the window's start and end at its end.
	r := fxRequest()
	r.Window = procedure.Period{From: fxAt(1, 9, 0), To: fxAt(1, 10, 30)}
	fxMust(t)(fxMust(t)(procedure.NewProcedure(r, nil)).Hold(fxSlot(1, 9, 0), expires, at))

	for _, p := range []procedure.Procedure{fxHeld(t), fxBooked(t), fxCompleted(t)} {
		fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
			return p.Hold(fxSlot(2, 9, 0), expires, at)
		})
	}
}

func TestNoSlotFound(t *testing.T) {
	p := fxUnscheduled(t)
	if p.Status != procedure.StatusUnscheduled || p.Search == nil || p.Search.Reason != "no theatre free" ||
		p.Last().Note != "no slot free in the window 2026-12-07 08:00–2026-12-21 08:00 UTC: no theatre free" {
		t.Fatalf("unscheduled %+v", p.Last())
	}
	p = fxMust(t)(p.NoSlotFound("", fxAt(0, 9, 0)))
	if p.Status != procedure.StatusUnscheduled || fxKinds(p) != "requested no-slot no-slot" ||
		p.Last().Note != "no slot free in the window 2026-12-07 08:00–2026-12-21 08:00 UTC" {
		t.Fatalf("still unscheduled %+v", p.Timeline)
	}
	fxTimelineIsSound(t, p)

	// What the search said is kept, copied, and cut to length.
	alt := fxSlot(15, 9, 0)
	o := procedure.SearchOutcome{Reason: strings.Repeat("r", 1200), Alternatives: []procedure.Slot{alt},
		Blocking: []procedure.Blocker{{Requirement: 0, ResourceIDs: []uuid.UUID{fxTheatre}, Why: "blocked for maintenance"}}}
	p = fxMust(t)(p.SearchFailed(o, fxAt(0, 10, 0)))
	o.Alternatives[0].Resources[0][0] = uuid.Nil
	o.Blocking[0].ResourceIDs[0] = uuid.Nil
	if s := p.Search; len([]rune(s.Reason)) != procedure.MaxNoteLen || !strings.HasSuffix(s.Reason, "…") || !s.At.Equal(fxAt(0, 10, 0)) ||
		s.Alternatives[0].Resources[0][0] != fxTheatre || s.Blocking[0].ResourceIDs[0] != fxTheatre || len([]rune(p.Last().Note)) > procedure.MaxNoteLen {
		t.Fatalf("search %+v", s)
	}

	// A hold clears it.
	p = fxMust(t)(p.Hold(fxSlot(1, 9, 0), fxAt(0, 10, 15), fxAt(0, 10, 0)))
	if p.Search != nil {
		t.Fatal("a held procedure keeps its failed search")
	}
	fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.NoSlotFound("x", fxAt(0, 10, 1))
	})
}

func TestReschedule(t *testing.T) {
	p := fxMust(t)(fxBooked(t).Remind(fxAt(0, 9, 0)))
	next := fxSlot(3, 14, 0)
	p = fxMust(t)(p.Reschedule(next, fxScheduler, " surgeon on leave ", fxAt(0, 10, 0)))
	if p.Status != procedure.StatusBooked || p.Reschedules != 1 || p.Reminded != 0 || !p.Slot.From.Equal(fxAt(3, 14, 0)) {
		t.Fatalf("rescheduled %+v", p)
	}
	if e := p.Last(); e.Kind != procedure.EventRescheduled || e.By != fxScheduler ||
		e.Note != "rescheduled from 2026-12-08 09:00–10:30 UTC to 2026-12-10 14:00–15:30 UTC: surgeon on leave" {
		t.Fatalf("entry %+v", e)
	}
	if due, ok := p.NextReminder(); !ok || !due.Equal(fxAt(2, 14, 0)) {
		t.Fatalf("next reminder %v", due)
	}
	fxTimelineIsSound(t, p)

	// Rescheduled a second time, late: the day-before reminder is skipped.
	p = fxMust(t)(p.Reschedule(fxSlot(3, 16, 0), fxScheduler, "list overran", fxAt(2, 17, 0)))
	if p.Reschedules != 2 || p.Reminded != 1 {
		t.Fatalf("second reschedule: %d, reminded %d", p.Reschedules, p.Reminded)
	}

	b := fxBooked(t)
	for _, tt := range []struct {
		name   string
		p      procedure.Procedure
		slot   procedure.Slot
		by     uuid.UUID
		reason string
		want   error
	}{
		{"held", fxHeld(t), next, fxScheduler, "why", procedure.ErrInvalidTransition},
		{"checked in", fxCheckedIn(t), next, fxScheduler, "why", procedure.ErrInvalidTransition},
		{"no reason", b, next, fxScheduler, "  ", procedure.ErrInvalidArgument},
		{"long reason", b, next, fxScheduler, strings.Repeat("r", 1001), procedure.ErrInvalidArgument},
		{"nobody", b, next, uuid.Nil, "why", procedure.ErrInvalidArgument},
		{"the same slot", b, fxSlot(1, 9, 0), fxScheduler, "why", procedure.ErrInvalidArgument},
		{"outside the window", b, fxSlot(20, 9, 0), fxScheduler, "why", procedure.ErrInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.CanReschedule(tt.slot, tt.by, tt.reason, fxAt(0, 10, 0)); !errors.Is(err, tt.want) {
				t.Fatalf("CanReschedule: %v", err)
			}
			fxRefused(t, tt.p, tt.want, func(p procedure.Procedure) (procedure.Procedure, error) {
				return p.Reschedule(tt.slot, tt.by, tt.reason, fxAt(0, 10, 0))
			})
		})
	}
}

func TestBump(t *testing.T) {
	for _, p := range []procedure.Procedure{fxHeld(t), fxMust(t)(fxBooked(t).Remind(fxAt(0, 9, 0)))} {
		next := fxMust(t)(p.Bump(uuid.Nil, fxEmergency, fxAt(0, 10, 0)))
		if next.Status != procedure.StatusUnscheduled || next.Bumped != 1 || next.Slot != nil || next.HoldExpiresAt != nil || next.Reminded != 0 {
			t.Fatalf("bumped %+v", next)
		}
		if e := next.Last(); e.Kind != procedure.EventBumped ||
			e.Note != "bumped from 2026-12-08 09:00–10:30 UTC by emergency procedure "+fxEmergency.String() {
			t.Fatalf("entry %+v", e)
		}
		fxTimelineIsSound(t, next)
		// It waits for another slot.
		next = fxMust(t)(next.Hold(fxSlot(2, 9, 0), fxAt(0, 10, 15), fxAt(0, 10, 1)))
		if next.Bumped != 1 {
			t.Fatal("a new hold forgot the bump")
		}
	}

	fxRefused(t, fxNew(t), procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Bump(uuid.Nil, fxEmergency, fxAt(0, 10, 0))
	})
	fxRefused(t, fxCheckedIn(t), procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Bump(uuid.Nil, fxEmergency, fxAt(0, 10, 0))
	})
	fxRefused(t, fxBooked(t), procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Bump(uuid.Nil, uuid.Nil, fxAt(0, 10, 0))
	})
	r := fxRequest()
	r.Priority = procedure.PriorityEmergency
	p := fxMust(t)(fxMust(t)(procedure.NewProcedure(r, nil)).Hold(fxSlot(1, 9, 0), fxAt(0, 8, 16), fxAt(0, 8, 1)))
	fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Bump(uuid.Nil, fxEmergency, fxAt(0, 10, 0))
	})
}

func TestNoShow(t *testing.T) {
	p := fxBooked(t)
	due, ok := p.NoShowAt()
	if !ok || !due.Equal(fxAt(1, 9, 30)) {
		t.Fatalf("no-show at %v %v", due, ok)
	}
	fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) { return p.NoShow(fxAt(1, 9, 29)) })
	p = fxMust(t)(p.NoShow(fxAt(1, 9, 30)))
	if p.Status != procedure.StatusNoShow || !p.Status.Closed() || p.Slot == nil ||
		p.Last().Note != "the patient had not checked in 30 min after the start at 2026-12-08 09:00 UTC" {
		t.Fatalf("no-show %+v", p.Last())
	}
	if _, ok := p.NoShowAt(); ok {
		t.Fatal("a no-show twice")
	}
	fxTimelineIsSound(t, p)
	for _, p := range []procedure.Procedure{fxHeld(t), fxCheckedIn(t), p} {
		fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) { return p.NoShow(fxAt(2, 0, 0)) })
	}
}

func TestCancelFromEachOpenStatus(t *testing.T) {
	for _, tt := range []struct {
		status procedure.Status
		make   func(*testing.T) procedure.Procedure
	}{
		{procedure.StatusRequested, fxNew},
		{procedure.StatusUnscheduled, fxUnscheduled},
		{procedure.StatusHeld, fxHeld},
		{procedure.StatusBooked, fxBooked},
		{procedure.StatusCheckedIn, fxCheckedIn},
		{procedure.StatusInProgress, fxStarted},
	} {
		t.Run(string(tt.status), func(t *testing.T) {
			p := tt.make(t)
			if p.Status != tt.status {
				t.Fatalf("fixture is %s", p.Status)
			}
			fxRefused(t, p, procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) {
				return p.Cancel(fxRequester, " ", fxAt(0, 12, 0))
			})
			fxRefused(t, p, procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) {
				return p.Cancel(uuid.Nil, "patient declined", fxAt(0, 12, 0))
			})
			if err := p.CanCancel(fxRequester, "patient declined", fxAt(0, 12, 0)); err != nil {
				t.Fatal(err)
			}
			next := fxMust(t)(p.Cancel(fxRequester, " patient declined ", fxAt(1, 12, 0)))
			e := next.Last()
			if next.Status != procedure.StatusCancelled || next.HoldExpiresAt != nil || e.By != fxRequester ||
				!strings.HasPrefix(e.Note, "cancelled while "+string(tt.status)) || !strings.HasSuffix(e.Note, ": patient declined") {
				t.Fatalf("cancelled %+v", e)
			}
			if _, ok := next.NextReminder(); ok {
				t.Fatal("a reminder for a cancelled procedure")
			}
			fxTimelineIsSound(t, next)
		})
	}
	booked := fxMust(t)(fxBooked(t).Cancel(fxRequester, "patient declined", fxAt(0, 12, 0)))
	if booked.Last().Note != "cancelled while booked for 2026-12-08 09:00–10:30 UTC: patient declined" {
		t.Fatalf("note %q", booked.Last().Note)
	}
	noShow := fxMust(t)(fxBooked(t).NoShow(fxAt(1, 10, 0)))
	for _, p := range []procedure.Procedure{booked, noShow, fxCompleted(t)} {
		if p.CanCancel(fxRequester, "why", fxAt(2, 0, 0)) == nil {
			t.Errorf("%s: CanCancel allowed it", p.Status)
		}
		fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
			return p.Cancel(fxRequester, "why", fxAt(2, 0, 0))
		})
	}
}

func TestCheckRefusals(t *testing.T) {
	done := fxMust(t)(fxBooked(t).Check("consent", fxNurse, "", fxAt(0, 9, 0)))
	cancelled := fxMust(t)(fxBooked(t).Cancel(fxRequester, "declined", fxAt(0, 9, 0)))
	for _, tt := range []struct {
		name string
		p    procedure.Procedure
		code string
		by   uuid.UUID
		note string
		want error
	}{
		{"unknown item", fxBooked(t), "time-out.coffee", fxNurse, "", procedure.ErrInvalidArgument},
		{"done twice", done, "consent", fxNurse, "", procedure.ErrInvalidTransition},
		{"sign-out before the start", fxCheckedIn(t), "sign-out.counts", fxNurse, "", procedure.ErrInvalidTransition},
		{"closed", cancelled, "fasting", fxNurse, "", procedure.ErrInvalidTransition},
		{"completed", fxCompleted(t), "fasting", fxNurse, "", procedure.ErrInvalidTransition},
		{"nobody", fxBooked(t), "fasting", uuid.Nil, "", procedure.ErrInvalidArgument},
		{"long note", fxBooked(t), "fasting", fxNurse, strings.Repeat("n", 1001), procedure.ErrInvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.CanCheck(tt.code, tt.by, tt.note, fxAt(1, 9, 0)); !errors.Is(err, tt.want) {
				t.Fatalf("CanCheck: %v", err)
			}
			fxRefused(t, tt.p, tt.want, func(p procedure.Procedure) (procedure.Procedure, error) {
				return p.Check(tt.code, tt.by, tt.note, fxAt(1, 9, 0))
			})
		})
	}
	// Pre-procedure, sign-in and time-out items may be checked from the
	// request on; sign-out ones once started.
	fxMust(t)(fxNew(t).Check("time-out.imaging", fxNurse, "no imaging needed", fxT0))
	fxMust(t)(fxStarted(t).Check("sign-out.counts", fxNurse, "", fxAt(1, 10, 0)))
}

func TestCheckInOpensADayBefore(t *testing.T) {
	p := fxBooked(t)
	fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.CheckIn(fxNurse, fxAt(0, 8, 59))
	})
	fxRefused(t, p, procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.CheckIn(uuid.Nil, fxAt(1, 8, 0))
	})
	if err := p.CanCheckIn(fxNurse, fxAt(0, 9, 0)); err != nil {
		t.Fatal(err)
	}
	fxMust(t)(p.CheckIn(fxNurse, fxAt(0, 9, 0)))
	// Late, before the no-show is recorded, is still a check-in.
	fxMust(t)(p.CheckIn(fxNurse, fxAt(1, 9, 40)))
	for _, p := range []procedure.Procedure{fxHeld(t), fxCheckedIn(t), fxUnscheduled(t)} {
		fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
			return p.CheckIn(fxNurse, fxAt(1, 8, 0))
		})
	}
}

func TestStartNeedsTheChecklistUpToTimeOut(t *testing.T) {
	p := fxChecked(t, fxBooked(t), fxAt(1, 7, 0), procedure.PhasePreProcedure, procedure.PhaseSignIn)
	p = fxMust(t)(p.Check("time-out.team", fxNurse, "", fxAt(1, 7, 0)))
	p = fxMust(t)(p.CheckIn(fxNurse, fxAt(1, 8, 0)))
	err := fxRefused(t, p, procedure.ErrChecklistIncomplete, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Start(fxSurgeon, fxAt(1, 9, 0))
	})
	if !errors.Is(err, procedure.ErrInvalidTransition) || !errors.Is(p.CanStart(fxSurgeon, fxAt(1, 9, 0)), procedure.ErrChecklistIncomplete) {
		t.Fatalf("not a transition refusal: %v", err)
	}
	for _, code := range []string{"time-out.confirm", "time-out.antibiotic", "time-out.imaging"} {
		if !strings.Contains(err.Error(), code) {
			t.Errorf("%q does not name %s", err, code)
		}
	}
	if strings.Contains(err.Error(), "time-out.team") || strings.Contains(err.Error(), "sign-out") {
		t.Errorf("%q names items done or of a later phase", err)
	}

	p = fxChecked(t, p, fxAt(1, 8, 30), procedure.PhaseTimeOut)
	fxRefused(t, p, procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Start(fxSurgeon, fxAt(1, 7, 59))
	})
	fxRefused(t, p, procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Start(uuid.Nil, fxAt(1, 9, 0))
	})
	if p = fxMust(t)(p.Start(fxSurgeon, fxAt(1, 8, 50))); p.Last().Note != "started, planned for 2026-12-08 09:00 UTC (10 min early)" {
		t.Fatalf("note %q", p.Last().Note)
	}
	fxRefused(t, fxBooked(t), procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Start(fxSurgeon, fxAt(1, 9, 0))
	})
}

func TestCompleteRefusals(t *testing.T) {
	p := fxSignedOut(t)
	at := fxAt(1, 10, 40)
	for _, tt := range []struct {
		name   string
		change func(c *procedure.Completion)
		fields []string
	}{
		{"no outcome", func(c *procedure.Completion) { c.Outcome = "" }, []string{"outcome"}},
		{"unknown outcome", func(c *procedure.Completion) { c.Outcome = "stopped" }, []string{"outcome"}},
		{"nobody", func(c *procedure.Completion) { c.By = uuid.Nil }, []string{"by"}},
		{"ended before it started", func(c *procedure.Completion) { c.EndedAt = fxAt(1, 9, 5) }, []string{"endedAt"}},
		{"ends in the future", func(c *procedure.Completion) { c.EndedAt = at.Add(time.Minute) }, []string{"endedAt"}},
		{"no end", func(c *procedure.Completion) { c.EndedAt = time.Time{} }, []string{"endedAt"}},
		{"started before check-in", func(c *procedure.Completion) { c.StartedAt = fxAt(1, 7, 0) }, []string{"startedAt"}},
		{"no team", func(c *procedure.Completion) { c.Team = nil }, []string{"team"}},
		{"an empty and a repeated member", func(c *procedure.Completion) { c.Team = []uuid.UUID{fxSurgeon, uuid.Nil, fxSurgeon} },
			[]string{"team[1]", "team[2]"}},
		{"a complication in ICD-10", func(c *procedure.Completion) {
			c.Complications = []procedure.Coding{{System: "http://hl7.org/fhir/sid/icd-10", Code: "T81.0"}}
		}, []string{"complications[0].system", "complications[0].code"}},
		{"an uncoded complication", func(c *procedure.Completion) {
			c.Complications = []procedure.Coding{{System: procedure.SystemSNOMED, Code: "131148009"}, {System: procedure.SystemSNOMED, Display: "bleeding"}}
		}, []string{"complications[1].code"}},
		{"long notes", func(c *procedure.Completion) { c.Notes = strings.Repeat("n", 2001) }, []string{"notes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fxCompletion()
			tt.change(&c)
			if err := p.CanComplete(c, at); !slices.Equal(fxFields(err), tt.fields) {
				t.Fatalf("CanComplete: %v, want %v", err, tt.fields)
			}
			fxRefused(t, p, procedure.ErrInvalidArgument, func(p procedure.Procedure) (procedure.Procedure, error) { return p.Complete(c, at) })
		})
	}

	// The sign-out must be done.
	started := fxStarted(t)
	started = fxMust(t)(started.Check("sign-out.procedure-recorded", fxNurse, "", fxAt(1, 10, 30)))
	err := fxRefused(t, started, procedure.ErrChecklistIncomplete, func(p procedure.Procedure) (procedure.Procedure, error) {
		return p.Complete(fxCompletion(), at)
	})
	if !errors.Is(err, procedure.ErrInvalidTransition) || !strings.Contains(err.Error(), "sign-out.counts") ||
		strings.Contains(err.Error(), "sign-out.procedure-recorded") {
		t.Fatalf("sign-out: %v", err)
	}
	for _, p := range []procedure.Procedure{fxCheckedIn(t), fxCompleted(t)} {
		fxRefused(t, p, procedure.ErrInvalidTransition, func(p procedure.Procedure) (procedure.Procedure, error) {
			return p.Complete(fxCompletion(), at)
		})
	}
	// A recorded start of its own is kept.
	c := fxCompletion()
	c.StartedAt = fxAt(1, 9, 10)
	if done := fxMust(t)(p.Complete(c, at)); !done.Completion.StartedAt.Equal(fxAt(1, 9, 10)) || !done.StartedAt.Equal(fxAt(1, 9, 5)) {
		t.Fatalf("completion %+v", done.Completion)
	}
}

func TestChangesDoNotAliasTheVersionBefore(t *testing.T) {
	slot := fxSlot(1, 9, 0)
	held := fxMust(t)(fxNew(t).Hold(slot, fxAt(0, 8, 16), fxAt(0, 8, 1)))
	slot.Resources[0][0] = uuid.Nil
	if held.Slot.Resources[0][0] != fxTheatre {
		t.Fatal("the hold kept the caller's slot")
	}

	booked := fxMust(t)(held.Book(fxScheduler, fxAt(0, 8, 5)))
	before, _ := json.Marshal(booked)
	next := fxMust(t)(booked.Check("consent", fxNurse, "", fxAt(0, 9, 0)))
	next.Checklist[1].Note = "changed"
	next.Timeline[0].Note = "changed"
	next.Slot.Resources[3][1] = uuid.Nil
	next.Reminders[0] = time.Minute
	next.Request.Requirements[0].Capability = "changed"
	if after, _ := json.Marshal(booked); string(after) != string(before) {
		t.Fatal("changing the next version changed the one before")
	}

	done := fxCompleted(t)
	c := fxCompletion()
	team := c.Team
	signed := fxSignedOut(t)
	got := fxMust(t)(signed.Complete(c, fxAt(1, 10, 40)))
	team[0] = uuid.Nil
	if got.Completion.Team[0] != fxSurgeon || !reflect.DeepEqual(done.Completion, got.Completion) {
		t.Fatal("the completion kept the caller's team")
	}
}

func TestOutcomes(t *testing.T) {
	for _, o := range []procedure.Outcome{procedure.OutcomeSuccessful, procedure.OutcomePartiallySuccessful, procedure.OutcomeUnsuccessful} {
		if !o.Valid() {
			t.Errorf("%s", o)
		}
	}
	if procedure.Outcome("stopped").Valid() {
		t.Error("stopped is not an outcome")
	}
}
