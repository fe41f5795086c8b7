package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// caseResources are what one case takes: a room, a member of staff, a
// piece of equipment and the patient.
type caseResources struct{ room, staff, equipment, patient uuid.UUID }

// newCaseResources is a room, a surgeon and a C-arm of their own, for
// patient.
func newCaseResources(patient uuid.UUID) caseResources {
	return caseResources{room: uuid.Must(uuid.NewV7()), staff: uuid.Must(uuid.NewV7()), equipment: uuid.Must(uuid.NewV7()), patient: patient}
}

// of names the resource of kind.
func (c caseResources) of(kind procedure.ResourceKind) uuid.UUID {
	switch kind {
	case procedure.KindRoom:
		return c.room
	case procedure.KindStaff:
		return c.staff
	case procedure.KindEquipment:
		return c.equipment
	}
	return c.patient
}

// caseKinds are the kinds one case takes, the patient among them.
var caseKinds = []procedure.ResourceKind{procedure.KindRoom, procedure.KindStaff, procedure.KindEquipment, procedure.KindPatient}

// caseAllocs are the allocations of a case of c from start for d: the room
// needs 30 minutes of cleaning after it and the C-arm 10 of checks.
func caseAllocs(c caseResources, start time.Time, d time.Duration, priority procedure.Priority) []procedure.Allocation {
	turnover := map[procedure.ResourceKind]time.Duration{procedure.KindRoom: 30 * time.Minute, procedure.KindEquipment: 10 * time.Minute}
	var out []procedure.Allocation
	for _, k := range caseKinds {
		out = append(out, procedure.Allocation{Kind: k, ResourceID: c.of(k), Period: procedure.Period{From: start, To: start.Add(d)},
			Turnover: turnover[k], Priority: priority})
	}
	return out
}

// newProcedureID stores a new procedure of patient and returns its id.
func newProcedureID(t *testing.T, s *postgres.ProcedureStore, patient uuid.UUID) uuid.UUID {
	t.Helper()
	return storedProc(t, s, newProc(t, patient, nil, procNow, procedure.PriorityElective)).Request.ID
}

// overlappingAllocations counts the pairs of allocations of different
// procedures that take one resource (or patient) at once, turnover
// included, computed from the columns rather than the stored range; of
// booked allocations only when bookedOnly.
func overlappingAllocations(t *testing.T, pool *pgxpool.Pool, bookedOnly bool) int {
	t.Helper()
	return countRows(t, pool, `
		SELECT count(*) FROM procedure_allocations a JOIN procedure_allocations b
			ON a.kind = b.kind AND a.resource_id = b.resource_id AND a.procedure_id < b.procedure_id
			AND a.starts_at < b.ends_at + b.turnover AND b.starts_at < a.ends_at + a.turnover
		WHERE NOT $1 OR a.state = 'booked' AND b.state = 'booked'`, bookedOnly)
}

// wantSlotTaken fails unless err is a *SlotTaken naming one of the
// resources of c of the kinds given (any kind when none is), and a
// conflict.
func wantSlotTaken(err error, c caseResources, kinds ...procedure.ResourceKind) error {
	var taken *postgres.SlotTaken
	if !errors.As(err, &taken) || !errors.Is(err, domain.ErrConflict) {
		return fmt.Errorf("%v, want a taken slot", err)
	}
	if len(kinds) == 0 {
		kinds = caseKinds
	}
	for _, k := range kinds {
		if taken.Kind == k && taken.ResourceID == c.of(k) {
			return nil
		}
	}
	return fmt.Errorf("taken slot names %s %s, want one of %v of %+v", taken.Kind, taken.ResourceID, kinds, c)
}

// Fifty procedures hold the same room, surgeon, C-arm and patient at once
// for cases starting a minute apart, each overlapping every other: exactly
// one gets them, every other is told which resource is taken, and no two
// allocations of any resource overlap.
func TestProcedureHoldRaceOnOneSlot(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat := pgtest.Patient(t, pool)
	shared := newCaseResources(pat)
	const n = 50
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = newProcedureID(t, s, pat)
	}

	start := procNow.Add(48 * time.Hour)
	expires := time.Now().Add(10 * time.Minute)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Hold(ctx, ids[i], caseAllocs(shared, start.Add(time.Duration(i)*time.Minute), time.Hour, procedure.PriorityElective), expires)
		})
	}
	wg.Wait()

	var winners []uuid.UUID
	for i, err := range errs {
		if err == nil {
			winners = append(winners, ids[i])
			continue
		}
		if err := wantSlotTaken(err, shared); err != nil {
			t.Errorf("hold %d: %v", i, err)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d holds of one slot succeeded, want 1", len(winners))
	}
	if n := overlappingAllocations(t, pool, false); n != 0 {
		t.Fatalf("%d overlapping pairs of allocations", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM procedure_allocations WHERE procedure_id = $1 AND state = 'held'`, winners[0]); n != 4 ||
		countRows(t, pool, `SELECT count(*) FROM procedure_allocations`) != 4 {
		t.Fatalf("the winner holds %d allocations; the table holds others", n)
	}
}

// A booked room turns away a crowd of fifty holds for it at once, each
// told the room is taken, though the surgeon, C-arm and patient they also
// ask for are free: writers of one resource take turns, so none of them is
// aborted as a deadlock instead.
func TestProcedureHoldCrowdTurnedAwayByOneBooking(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat := pgtest.Patient(t, pool)
	shared := newCaseResources(pat)
	start := procNow.Add(48 * time.Hour)
	expires := time.Now().Add(10 * time.Minute)

	booked := newProcedureID(t, s, pgtest.Patient(t, pool))
	if err := s.Swap(ctx, booked, []procedure.Allocation{{Kind: procedure.KindRoom, ResourceID: shared.room,
		Period: procedure.Period{From: start, To: start.Add(2 * time.Hour)}, Priority: procedure.PriorityElective}}); err != nil {
		t.Fatal(err)
	}
	const n = 50
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = newProcedureID(t, s, pat)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Hold(ctx, ids[i], caseAllocs(shared, start.Add(time.Duration(i)*time.Minute), time.Hour, procedure.PriorityElective), expires)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err := wantSlotTaken(err, shared, procedure.KindRoom); err != nil {
			t.Errorf("hold %d: %v", i, err)
		}
	}
	if n := countRows(t, pool, `SELECT count(*) FROM procedure_allocations`); n != 1 {
		t.Fatalf("%d allocations, want the booking alone", n)
	}
}

// Fifty procedures each share one resource with a dozen others — a room, a
// surgeon, a C-arm or the patient — at overlapping times: one per shared
// resource gets it, each other is refused naming that very resource, and
// no resource of any kind is taken twice at once.
func TestProcedureHoldRaceNamesTheResourceOfEachKind(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	shared := newCaseResources(pgtest.Patient(t, pool))
	const n = 50
	own := make([]caseResources, n)
	ids := make([]uuid.UUID, n)
	for i := range n {
		kind := caseKinds[i%len(caseKinds)]
		patient := shared.patient
		if kind != procedure.KindPatient {
			patient = pgtest.Patient(t, pool)
		}
		own[i] = newCaseResources(patient)
		switch kind {
		case procedure.KindRoom:
			own[i].room = shared.room
		case procedure.KindStaff:
			own[i].staff = shared.staff
		case procedure.KindEquipment:
			own[i].equipment = shared.equipment
		}
		ids[i] = newProcedureID(t, s, patient)
	}

	start := procNow.Add(48 * time.Hour)
	expires := time.Now().Add(10 * time.Minute)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Hold(ctx, ids[i], caseAllocs(own[i], start.Add(time.Duration(i)*time.Minute), time.Hour, procedure.PriorityElective), expires)
		})
	}
	wg.Wait()

	won := map[procedure.ResourceKind]int{}
	for i, err := range errs {
		kind := caseKinds[i%len(caseKinds)]
		if err == nil {
			won[kind]++
			continue
		}
		if err := wantSlotTaken(err, shared, kind); err != nil {
			t.Errorf("hold %d sharing the %s: %v", i, kind, err)
		}
	}
	for _, k := range caseKinds {
		if won[k] != 1 {
			t.Errorf("%d holds sharing the %s succeeded, want 1", won[k], k)
		}
	}
	if n := overlappingAllocations(t, pool, false); n != 0 {
		t.Fatalf("%d overlapping pairs of allocations", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM procedure_allocations`); n != 4*len(caseKinds) {
		t.Fatalf("%d allocations, want the four winners' four each", n)
	}
}

// Holds race confirmations on one slot: half the procedures hold it and
// book at once; the other half hold it with an expiry already past, so any
// hold of theirs lapses as it is made, and book anyway. A lapsed hold from
// before the race is in the way of all of them. Every booking of a lapsed
// hold is refused, the first live hold wins and is booked, every other live
// hold is told the slot is taken, and what is left is the one booking.
func TestProcedureHoldsRaceConfirmations(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat := pgtest.Patient(t, pool)
	shared := newCaseResources(pat)
	start := procNow.Add(48 * time.Hour)

	stale := newProcedureID(t, s, pat)
	if err := s.Hold(ctx, stale, caseAllocs(shared, start.Add(-30*time.Minute), time.Hour, procedure.PriorityElective),
		time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}

	const n = 50
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = newProcedureID(t, s, pat)
	}
	holdErrs, bookErrs := make([]error, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			confirms := i%2 == 0
			expires := time.Now().Add(time.Minute)
			if !confirms {
				expires = time.Now().Add(-time.Minute - time.Duration(i)*time.Millisecond)
			}
			holdErrs[i] = s.Hold(ctx, ids[i], caseAllocs(shared, start.Add(time.Duration(i)*time.Minute), time.Hour,
				procedure.PriorityElective), expires)
			if holdErrs[i] == nil {
				bookErrs[i] = s.Book(ctx, ids[i], time.Now())
			}
		})
	}
	wg.Wait()

	var booked []uuid.UUID
	for i := range n {
		confirms := i%2 == 0
		switch {
		case holdErrs[i] != nil:
			if err := wantSlotTaken(holdErrs[i], shared); err != nil {
				t.Errorf("hold %d: %v", i, err)
			}
		case !confirms:
			if !errors.Is(bookErrs[i], postgres.ErrHoldLapsed) || !errors.Is(bookErrs[i], domain.ErrConflict) {
				t.Errorf("booking %d of a lapsed hold: %v", i, bookErrs[i])
			}
		case bookErrs[i] != nil:
			t.Errorf("booking %d of a live hold: %v", i, bookErrs[i])
		default:
			booked = append(booked, ids[i])
		}
	}
	if len(booked) != 1 {
		t.Fatalf("%d procedures booked the slot, want 1", len(booked))
	}
	if n := overlappingAllocations(t, pool, false); n != 0 {
		t.Fatalf("%d overlapping pairs of allocations", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM procedure_allocations`); n != 4 ||
		countRows(t, pool, `SELECT count(*) FROM procedure_allocations WHERE procedure_id = $1 AND state = 'booked' AND expires_at IS NULL`, booked[0]) != 4 {
		t.Fatalf("%d allocations left, want the booking's four", n)
	}
	if err := s.Book(ctx, stale, time.Now()); !errors.Is(err, postgres.ErrHoldLapsed) {
		t.Fatalf("booking the hold the race swept away: %v", err)
	}
}

// A hold is booked whole or not at all: a procedure holding nothing, or
// whose hold lapsed at the time the booking names, is refused and keeps
// what it had; booking twice changes nothing; holding again replaces the
// hold; a booked procedure moves only by a swap; a release frees it all.
func TestProcedureHoldBookRelease(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat := pgtest.Patient(t, pool)
	c := newCaseResources(pat)
	id := newProcedureID(t, s, pat)
	start := procNow.Add(48 * time.Hour)
	now := time.Now().Truncate(time.Microsecond)
	expires := now.Add(10 * time.Minute)

	if err := s.Book(ctx, id, now); !errors.Is(err, postgres.ErrHoldLapsed) {
		t.Fatalf("booking without a hold: %v", err)
	}
	if err := s.Hold(ctx, id, caseAllocs(c, start, time.Hour, procedure.PriorityUrgent), expires); err != nil {
		t.Fatal(err)
	}
	// Held again, an hour later: the new hold replaces the first.
	later := start.Add(time.Hour)
	if err := s.Hold(ctx, id, caseAllocs(c, later, time.Hour, procedure.PriorityUrgent), expires); err != nil {
		t.Fatalf("holding again: %v", err)
	}
	got, err := s.Allocations(ctx, id)
	if err != nil || len(got) != 4 {
		t.Fatalf("allocations: %+v, %v", got, err)
	}
	for _, a := range got {
		want := map[procedure.ResourceKind]time.Duration{procedure.KindRoom: 30 * time.Minute, procedure.KindEquipment: 10 * time.Minute}[a.Kind]
		if a.ProcedureID != id || a.ResourceID != c.of(a.Kind) || !a.Period.From.Equal(later) || !a.Period.To.Equal(later.Add(time.Hour)) ||
			a.Turnover != want || a.State != procedure.AllocationHeld || a.ExpiresAt == nil || !a.ExpiresAt.Equal(expires) ||
			a.Priority != procedure.PriorityUrgent {
			t.Errorf("allocation %+v", a)
		}
	}

	// The caller's clock says the hold lapsed: refused, and still held.
	if err := s.Book(ctx, id, expires); !errors.Is(err, postgres.ErrHoldLapsed) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("booking a lapsed hold: %v", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM procedure_allocations WHERE procedure_id = $1 AND state = 'held'`, id); n != 4 {
		t.Fatalf("a refused booking left %d of 4 holds", n)
	}
	if err := s.Book(ctx, id, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Book(ctx, id, expires.Add(time.Hour)); err != nil {
		t.Fatalf("booking twice: %v", err)
	}
	got, err = s.Allocations(ctx, id)
	if err != nil || len(got) != 4 {
		t.Fatalf("allocations: %+v, %v", got, err)
	}
	for _, a := range got {
		if a.State != procedure.AllocationBooked || a.ExpiresAt != nil || !a.Period.From.Equal(later) {
			t.Errorf("booked allocation %+v", a)
		}
	}
	err = s.Hold(ctx, id, caseAllocs(c, start, time.Hour, procedure.PriorityUrgent), expires)
	var taken *postgres.SlotTaken
	if !errors.Is(err, domain.ErrConflict) || errors.As(err, &taken) {
		t.Fatalf("holding a booked procedure: %v", err)
	}

	// Another procedure is refused the booked slot; released, it is free.
	other := newProcedureID(t, s, pat)
	if err := s.Hold(ctx, other, caseAllocs(newCaseResources(pat), later.Add(30*time.Minute), time.Hour, procedure.PriorityElective), expires); err == nil {
		t.Fatal("the patient was held twice at once")
	} else if err := wantSlotTaken(err, c, procedure.KindPatient); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, id); err != nil {
		t.Fatalf("releasing twice: %v", err)
	}
	if got, err := s.Allocations(ctx, id); err != nil || len(got) != 0 || got == nil {
		t.Fatalf("allocations after the release: %+v, %v", got, err)
	}
	if err := s.Hold(ctx, other, caseAllocs(c, later.Add(30*time.Minute), time.Hour, procedure.PriorityElective), expires); err != nil {
		t.Fatalf("the released slot: %v", err)
	}

	// A hold that lapsed is swept by the next hold of its resources, whole:
	// its booking is then refused.
	lapsed := newProcedureID(t, s, pat)
	early := newCaseResources(pgtest.Patient(t, pool))
	early.room = c.room
	if err := s.Hold(ctx, lapsed, caseAllocs(early, start, time.Hour, procedure.PriorityElective), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	third := newProcedureID(t, s, pat)
	if err := s.Hold(ctx, third, []procedure.Allocation{{Kind: procedure.KindRoom, ResourceID: c.room,
		Period: procedure.Period{From: start.Add(-time.Hour), To: start.Add(10 * time.Minute)}, Priority: procedure.PriorityElective}}, expires); err != nil {
		t.Fatalf("holding over a lapsed hold: %v", err)
	}
	if got, err := s.Allocations(ctx, lapsed); err != nil || len(got) != 0 {
		t.Fatalf("the lapsed hold kept %+v, %v", got, err)
	}
	if err := s.Book(ctx, lapsed, time.Now()); !errors.Is(err, postgres.ErrHoldLapsed) {
		t.Fatalf("booking a swept hold: %v", err)
	}

	bad := []struct {
		name   string
		allocs []procedure.Allocation
	}{
		{"nothing", nil},
		{"the room twice", append(caseAllocs(c, start, time.Hour, procedure.PriorityElective),
			procedure.Allocation{Kind: procedure.KindRoom, ResourceID: c.room, Period: procedure.Period{From: start, To: start.Add(time.Hour)},
				Priority: procedure.PriorityElective})},
		{"an end before the start", caseAllocs(c, start, -time.Hour, procedure.PriorityElective)},
		{"no priority", caseAllocs(c, start, time.Hour, "")},
		{"another procedure's", []procedure.Allocation{{ProcedureID: other, Kind: procedure.KindRoom, ResourceID: uuid.Must(uuid.NewV7()),
			Period: procedure.Period{From: start, To: start.Add(time.Hour)}, Priority: procedure.PriorityElective}}},
	}
	fresh := newProcedureID(t, s, pat)
	for _, tc := range bad {
		if err := s.Hold(ctx, fresh, tc.allocs, expires); !errors.Is(err, procedure.ErrInvalidArgument) {
			t.Errorf("holding %s: %v", tc.name, err)
		}
	}
	if err := s.Hold(ctx, uuid.Must(uuid.NewV7()), caseAllocs(newCaseResources(pat), start.Add(240*time.Hour), time.Hour,
		procedure.PriorityElective), expires); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("holding for a procedure never created: %v", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM procedure_allocations WHERE procedure_id = $1`, fresh); n != 0 {
		t.Fatalf("refused holds left %d allocations", n)
	}
}

// A swap that collides with another booking changes nothing: the patient
// keeps the old slot, never none nor two. A swap to a free time moves every
// allocation at once, booked, and sweeps a lapsed hold in its way.
func TestProcedureSwapThatCollidesKeepsTheOldBooking(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat, otherPat := pgtest.Patient(t, pool), pgtest.Patient(t, pool)
	c := newCaseResources(pat)
	start := procNow.Add(48 * time.Hour)
	expires := time.Now().Add(10 * time.Minute)

	book := func(id uuid.UUID, allocs []procedure.Allocation) {
		t.Helper()
		if err := s.Hold(ctx, id, allocs, expires); err != nil {
			t.Fatal(err)
		}
		if err := s.Book(ctx, id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	mine := newProcedureID(t, s, pat)
	book(mine, caseAllocs(c, start, time.Hour, procedure.PriorityElective))
	// Another patient's case in the same room at 11:00.
	theirs := newProcedureID(t, s, otherPat)
	their := newCaseResources(otherPat)
	their.room = c.room
	book(theirs, caseAllocs(their, start.Add(3*time.Hour), time.Hour, procedure.PriorityElective))
	before, err := s.Allocations(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}

	// To 10:45: the room's turnover after it would run into 11:00.
	err = s.Swap(ctx, mine, caseAllocs(c, start.Add(2*time.Hour+45*time.Minute), time.Hour, procedure.PriorityElective))
	if err := wantSlotTaken(err, c, procedure.KindRoom); err != nil {
		t.Fatalf("swap into their case: %v", err)
	}
	if after, err := s.Allocations(ctx, mine); err != nil || !sameAllocations(after, before) {
		t.Fatalf("the refused swap changed the booking:\n got %+v\nwant %+v (%v)", after, before, err)
	}

	// To 13:00, where a lapsed hold of a third case lies.
	stale := newProcedureID(t, s, pat)
	staleRes := newCaseResources(pgtest.Patient(t, pool))
	staleRes.room = c.room
	if err := s.Hold(ctx, stale, caseAllocs(staleRes, start.Add(5*time.Hour), time.Hour, procedure.PriorityElective), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	moved := start.Add(5 * time.Hour)
	if err := s.Swap(ctx, mine, caseAllocs(c, moved, time.Hour, procedure.PriorityElective)); err != nil {
		t.Fatalf("swap to a free time: %v", err)
	}
	after, err := s.Allocations(ctx, mine)
	if err != nil || len(after) != 4 {
		t.Fatalf("after the swap: %+v, %v", after, err)
	}
	for _, a := range after {
		if !a.Period.From.Equal(moved) || a.State != procedure.AllocationBooked || a.ExpiresAt != nil {
			t.Errorf("swapped allocation %+v", a)
		}
	}
	if n := countRows(t, pool, `SELECT count(*) FROM procedure_allocations WHERE procedure_id = $1`, stale); n != 0 {
		t.Fatalf("the lapsed hold kept %d allocations", n)
	}
	// The old time is free again.
	if err := s.Hold(ctx, stale, caseAllocs(staleRes, start, time.Hour, procedure.PriorityElective), expires); err != nil {
		t.Fatalf("the slot the swap left: %v", err)
	}
	if n := overlappingAllocations(t, pool, false); n != 0 {
		t.Fatalf("%d overlapping pairs of allocations", n)
	}
}

// sameAllocations compares allocations by value, times as instants.
func sameAllocations(a, b []procedure.Allocation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ProcedureID != y.ProcedureID || x.ResourceID != y.ResourceID || x.Kind != y.Kind || !x.Period.From.Equal(y.Period.From) ||
			!x.Period.To.Equal(y.Period.To) || x.Turnover != y.Turnover || x.State != y.State || x.Priority != y.Priority ||
			(x.ExpiresAt == nil) != (y.ExpiresAt == nil) || x.ExpiresAt != nil && !x.ExpiresAt.Equal(*y.ExpiresAt) {
			return false
		}
	}
	return true
}

// Busy gives the slot search every span the resources and the patient are
// taken over the range — bookings and live holds with their turnover — in
// time order, and not the room's blocked periods, which the search reads
// from the resource; Bumpable names the elective bookings an emergency may
// take the room from.
func TestProcedureBusyAndBumpable(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat := pgtest.Patient(t, pool)
	day := procNow.Add(48 * time.Hour)
	now := time.Now()

	room := theatre("Theatre 3")
	blocked := procedure.Period{From: day.Add(7 * time.Hour), To: day.Add(8 * time.Hour)}
	room.Blocked = []procedure.Blocked{{Period: blocked, Reason: "deep clean"},
		{Period: procedure.Period{From: day.Add(-48 * time.Hour), To: day.Add(-47 * time.Hour)}, Reason: "before the range"}}
	if err := s.CreateResource(ctx, nil, room); err != nil {
		t.Fatal(err)
	}
	c := newCaseResources(pat)
	c.room = room.ID

	// 09:00 booked elective; 11:00 a live urgent hold in the room (another
	// patient); 13:00 a lapsed hold; the room blocked from 15:00; 16:00
	// booked urgent; tomorrow booked elective.
	hold := func(res caseResources, at time.Time, priority procedure.Priority, expires time.Time) uuid.UUID {
		t.Helper()
		id := newProcedureID(t, s, res.patient)
		if err := s.Hold(ctx, id, caseAllocs(res, at, time.Hour, priority), expires); err != nil {
			t.Fatal(err)
		}
		return id
	}
	book := func(res caseResources, at time.Time, priority procedure.Priority) uuid.UUID {
		t.Helper()
		id := hold(res, at, priority, now.Add(time.Hour))
		if err := s.Book(ctx, id, now); err != nil {
			t.Fatal(err)
		}
		return id
	}
	inRoom := func() caseResources {
		r := newCaseResources(pgtest.Patient(t, pool))
		r.room = room.ID
		return r
	}
	nine := book(c, day.Add(time.Hour), procedure.PriorityElective)
	eleven := hold(inRoom(), day.Add(3*time.Hour), procedure.PriorityUrgent, now.Add(time.Hour))
	hold(inRoom(), day.Add(5*time.Hour), procedure.PriorityElective, now.Add(-time.Minute))
	sixteen := book(inRoom(), day.Add(8*time.Hour), procedure.PriorityUrgent)
	tomorrow := book(inRoom(), day.Add(25*time.Hour), procedure.PriorityElective)
	_ = tomorrow

	span := procedure.Period{From: day, To: day.Add(12 * time.Hour)}
	busy, err := s.Busy(ctx, []uuid.UUID{room.ID, c.staff}, pat, span, now)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		from, to time.Duration
		by       uuid.UUID
		priority procedure.Priority
	}
	check := func(what string, got []procedure.Busy, wants ...want) {
		t.Helper()
		ok := len(got) == len(wants)
		for i := 0; ok && i < len(got); i++ {
			w := wants[i]
			ok = got[i].From.Equal(day.Add(w.from)) && got[i].To.Equal(day.Add(w.to)) && got[i].ProcedureID == w.by && got[i].Priority == w.priority
		}
		if !ok {
			t.Errorf("%s busy: %+v, want %+v", what, got, wants)
		}
	}
	check("room", busy[room.ID],
		want{time.Hour, 2*time.Hour + 30*time.Minute, nine, procedure.PriorityElective},
		want{3 * time.Hour, 4*time.Hour + 30*time.Minute, eleven, procedure.PriorityUrgent},
		want{8 * time.Hour, 9*time.Hour + 30*time.Minute, sixteen, procedure.PriorityUrgent})
	check("surgeon", busy[c.staff], want{time.Hour, 2 * time.Hour, nine, procedure.PriorityElective})
	check("patient", busy[pat], want{time.Hour, 2 * time.Hour, nine, procedure.PriorityElective})
	if len(busy) != 3 {
		t.Errorf("busy for %d ids, want the room, the surgeon and the patient", len(busy))
	}
	// Another patient is not busy with this one's case, nor is anyone
	// outside the range.
	if busy, err := s.Busy(ctx, []uuid.UUID{c.staff}, pgtest.Patient(t, pool), procedure.Period{From: day.Add(2 * time.Hour), To: day.Add(3 * time.Hour)}, now); err != nil || len(busy) != 0 {
		t.Errorf("busy after the case: %+v, %v", busy, err)
	}

	bumpable, err := s.Bumpable(ctx, []uuid.UUID{room.ID}, span)
	if err != nil || len(bumpable) != 1 || bumpable[0] != nine {
		t.Fatalf("bumpable: %v, %v; want the 09:00 elective alone", bumpable, err)
	}
	// The room's turnover after 09:00 still counts.
	if got, err := s.Bumpable(ctx, []uuid.UUID{room.ID}, procedure.Period{From: day.Add(2*time.Hour + 15*time.Minute), To: day.Add(3 * time.Hour)}); err != nil || len(got) != 1 {
		t.Fatalf("bumpable during the turnover: %v, %v", got, err)
	}
	if got, err := s.Bumpable(ctx, []uuid.UUID{uuid.Must(uuid.NewV7())}, span); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("bumpable on another room: %v, %v", got, err)
	}
}
