package postgres_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	procedureflow "github.com/zarish-sphere/zarish/workflows/procedure"
)

// Sizes of BenchmarkFindAndHold's hospital: 200 resources, and 5,000
// booked allocations of them over the 30 days of the window.
const (
	findRooms, findStaff, findEquipment = 40, 120, 40
	findBookedAllocations               = 5000
	findWindowDays                      = 30
	// findMaxHolds is how many of the benchmark's holds accumulate before
	// they are released, so any -benchtime finds room in the window.
	findMaxHolds = 200
	// findCaseResources is what each existing case takes: a room, two
	// members of staff and a piece of equipment (and its patient).
	findCaseResources = 4
)

// BenchmarkFindAndHold measures what the ProcedureScheduling workflow's
// HoldSlot activity does for a new request, called directly on the real
// store (target: p95 under 50 ms): it lists the directory's 200 active
// resources (40 rooms, 120 members of staff, 40 pieces of equipment, open
// 07:00–19:00 Monday to Friday in Asia/Dhaka), reads the busy times of the
// 65 that may serve the case over the 30-day window and the 14 days after
// it, finds the earliest slot (procedure.FindSlot) and holds it — lapsed
// holds swept, the allocations inserted under the exclusion constraint —
// for a two-hour case needing an operating theatre, a surgeon, an
// anaesthetist and a C-arm. 5,000 booked allocations are there first: 1,250
// cases of 30 minutes to 4 hours, each stored, held and booked through the
// store and taking a room, two members of staff and a piece of equipment
// at random, in working hours.
//
// Each iteration is a new request for a patient of its own, stored with
// the timer stopped; its hold stays. So the holds accumulate, as those of
// requests not yet booked do: iteration i finds the slot after the i-1
// held before it, and reads their rows as well as the 5,000 booked ones,
// which makes each search no easier than the first (200 holds reach about
// eight working days into the window). Every 200 holds
// are released, the timer stopped, so any -benchtime finds room; run it
// with -benchtime 200x. It reports p50 and p95 of one find-and-hold, and
// the mean time of its parts: the directory read (list-ms), the busy times
// (busy-ms), the hold (hold-ms) and the rest, the search itself with the
// activity's own work (search-ms).
func BenchmarkFindAndHold(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	store := postgres.NewProcedureStore(pool)
	rng := rand.New(rand.NewPCG(2026, 30))
	// The window opens at the next midnight in UTC, a working day's start
	// or not, and lasts 30 days.
	from := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	window := procedure.Period{From: from, To: from.AddDate(0, 0, findWindowDays)}
	resources := findDirectory(b, ctx, store)
	findBookings(b, ctx, pool, store, rng, resources, window)
	// As autovacuum would have by the time the first request came.
	if _, err := pool.Exec(ctx, `ANALYZE procedure_allocations; ANALYZE procedure_resources; ANALYZE procedures`); err != nil {
		b.Fatal(err)
	}

	timed := &timedStore{ProcedureStore: store}
	hold := activities.New(timed)
	var (
		durations []time.Duration
		held      []uuid.UUID
		last      time.Time // the latest slot held
		furthest  time.Duration
	)
	noOverlap := func() {
		var overlapping int
		err := pool.QueryRow(ctx, `
			SELECT count(*) FROM procedure_allocations a JOIN procedure_allocations b
				ON a.kind = b.kind AND a.resource_id = b.resource_id AND a.procedure_id < b.procedure_id AND a.during && b.during`).Scan(&overlapping)
		if err != nil || overlapping != 0 {
			b.Fatalf("%d overlapping pairs of allocations: %v", overlapping, err)
		}
	}
	for b.Loop() {
		b.StopTimer()
		pat := pgtest.Patient(b, pool)
		p := findProcedure(b, ctx, store, pat, 2*time.Hour, window)
		b.StartTimer()

		start := time.Now()
		res, err := hold.HoldSlot(ctx, activities.HoldRequest{Procedure: p, Window: window,
			ExpiresAt: time.Now().Add(procedureflow.DefaultHoldFor)})
		durations = append(durations, time.Since(start))

		b.StopTimer()
		if err != nil || !res.Held || res.Slot == nil {
			b.Fatalf("hold %d: %+v, %v", len(durations), res, err)
		}
		s := res.Slot
		if s.From.Before(window.From) || s.To.After(window.To) || s.To.Sub(s.From) != 2*time.Hour || len(s.Team) != 2 {
			b.Fatalf("hold %d: slot %s–%s with team %v, want two hours in the window with two practitioners", len(durations), s.From, s.To, s.Team)
		}
		if s.From.Before(last) {
			b.Fatalf("hold %d: slot at %s, before the one held before it (%s): the earlier holds were not read", len(durations), s.From, last)
		}
		last, furthest = s.From, max(furthest, s.From.Sub(window.From))
		allocs, err := store.Allocations(ctx, p.Request.ID)
		if err != nil || len(allocs) != findCaseResources+1 {
			b.Fatalf("hold %d: %d allocations stored, want %d: %v", len(durations), len(allocs), findCaseResources+1, err)
		}
		if held = append(held, p.Request.ID); len(held) == findMaxHolds {
			noOverlap()
			for _, id := range held {
				if err := store.Release(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			held, last = nil, time.Time{}
		}
		b.StartTimer()
	}
	b.StopTimer()
	noOverlap()
	slices.Sort(durations)
	at := func(q float64) float64 {
		return float64(durations[int(math.Ceil(q*float64(len(durations))))-1]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	// Where the mean goes: the three store calls, and the rest — the
	// search itself and the activity's own work.
	var total time.Duration
	for _, d := range durations {
		total += d
	}
	n := float64(len(durations)) * float64(time.Millisecond)
	b.ReportMetric(float64(timed.list)/n, "list-ms")
	b.ReportMetric(float64(timed.busy)/n, "busy-ms")
	b.ReportMetric(float64(timed.hold)/n, "hold-ms")
	b.ReportMetric(float64(total-timed.list-timed.busy-timed.hold)/n, "search-ms")
	b.Logf("%d holds; the latest slot %.1f days into the window", len(durations), furthest.Hours()/24)
}

// timedStore adds up the time the activity spends in each store call.
type timedStore struct {
	*postgres.ProcedureStore
	list, busy, hold time.Duration
}

func (s *timedStore) ListResources(ctx context.Context, kind procedure.ResourceKind, activeOnly bool) ([]procedure.Resource, error) {
	defer s.add(&s.list, time.Now())
	return s.ProcedureStore.ListResources(ctx, kind, activeOnly)
}

func (s *timedStore) Busy(ctx context.Context, ids []uuid.UUID, patientID uuid.UUID, span procedure.Period,
	now time.Time) (map[uuid.UUID][]procedure.Busy, error) {
	defer s.add(&s.busy, time.Now())
	return s.ProcedureStore.Busy(ctx, ids, patientID, span, now)
}

func (s *timedStore) Hold(ctx context.Context, id uuid.UUID, allocs []procedure.Allocation, expiresAt time.Time) error {
	defer s.add(&s.hold, time.Now())
	return s.ProcedureStore.Hold(ctx, id, allocs, expiresAt)
}

func (s *timedStore) add(to *time.Duration, since time.Time) { *to += time.Since(since) }

// findDirectory stores the benchmark's 200 resources (as the domain's
// BenchmarkFindSlot lays them out) and returns them.
func findDirectory(b *testing.B, ctx context.Context, store *postgres.ProcedureStore) []procedure.Resource {
	b.Helper()
	var hours []procedure.Hours
	for d := time.Monday; d <= time.Friday; d++ {
		hours = append(hours, procedure.Hours{Weekday: d, From: "07:00", To: "19:00"})
	}
	var out []procedure.Resource
	add := func(r procedure.Resource) {
		r.ID, r.Name, r.TimeZone, r.Hours = uuid.Must(uuid.NewV7()), string(r.Kind)+" "+strconv.Itoa(len(out)+1), "Asia/Dhaka", hours
		r, err := procedure.NewResource(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := store.CreateResource(ctx, nil, r); err != nil {
			b.Fatal(err)
		}
		out = append(out, r)
	}
	for i := range findRooms {
		// Half the rooms are theatres; each has another capability too.
		capabilities := []string{procedure.Capabilities[1+i%(len(procedure.Capabilities)-1)]}
		if i%2 == 0 {
			capabilities = append(capabilities, "operating-theatre")
		}
		add(procedure.Resource{Kind: procedure.KindRoom, Turnover: 30 * time.Minute, Capabilities: capabilities})
	}
	for i := range findStaff {
		practitioner := uuid.Must(uuid.NewV7())
		add(procedure.Resource{Kind: procedure.KindStaff, PractitionerID: &practitioner,
			Skills: []string{procedure.Skills[i%len(procedure.Skills)]}})
	}
	kinds := []string{"c-arm", "ultrasound", "ventilator", "laparoscopy-tower"}
	for i := range findEquipment {
		add(procedure.Resource{Kind: procedure.KindEquipment, EquipmentKind: kinds[i%len(kinds)], Turnover: 15 * time.Minute})
	}
	return out
}

// findBookings books 1,250 cases on the directory through the store, each
// stored, held and booked, for a patient of its own: a room, two members of
// staff and a piece of equipment picked at random, 30 minutes to 4 hours at
// a random start in the working hours of a working day of window, placed
// where none of the four is taken (turnover included).
func findBookings(b *testing.B, ctx context.Context, pool *pgxpool.Pool, store *postgres.ProcedureStore, rng *rand.Rand,
	resources []procedure.Resource, window procedure.Period) {
	b.Helper()
	dhaka, err := time.LoadLocation("Asia/Dhaka")
	if err != nil {
		b.Fatal(err)
	}
	var days []time.Time // each working day's opening
	for d := window.From.In(dhaka); d.Before(window.To); d = d.AddDate(0, 0, 1) {
		y, m, day := d.Date()
		if open := time.Date(y, m, day, 7, 0, 0, 0, dhaka); open.Weekday() != time.Saturday && open.Weekday() != time.Sunday &&
			!open.Before(window.From) && open.Add(12*time.Hour).Before(window.To) {
			days = append(days, open)
		}
	}
	byKind := map[procedure.ResourceKind][]procedure.Resource{}
	for _, r := range resources {
		byKind[r.Kind] = append(byKind[r.Kind], r)
	}
	taken := map[uuid.UUID][]procedure.Period{} // each resource's allocations, turnover included
	free := func(r procedure.Resource, p procedure.Period) bool {
		p.To = p.To.Add(r.Turnover)
		return !slices.ContainsFunc(taken[r.ID], p.Overlaps)
	}
	const cases = findBookedAllocations / findCaseResources
	type booking struct {
		patient uuid.UUID
		period  procedure.Period
		picks   []procedure.Resource
	}
	bookings := make([]booking, 0, cases)
	for len(bookings) < cases {
		d := time.Duration(6+rng.IntN(43)) * 5 * time.Minute
		open := days[rng.IntN(len(days))]
		at := open.Add(time.Duration(rng.IntN(int((12*time.Hour-d)/(5*time.Minute))+1)) * 5 * time.Minute)
		period := procedure.Period{From: at, To: at.Add(d)}
		staff := byKind[procedure.KindStaff]
		first := rng.IntN(len(staff))
		second := (first + 1 + rng.IntN(len(staff)-1)) % len(staff)
		picks := []procedure.Resource{byKind[procedure.KindRoom][rng.IntN(findRooms)], staff[first], staff[second],
			byKind[procedure.KindEquipment][rng.IntN(findEquipment)]}
		if !slices.ContainsFunc(picks, func(r procedure.Resource) bool { return !free(r, period) }) {
			for _, r := range picks {
				taken[r.ID] = append(taken[r.ID], procedure.Period{From: period.From, To: period.To.Add(r.Turnover)})
			}
			bookings = append(bookings, booking{period: period, picks: picks})
		}
	}
	patients := make([]patient.Patient, cases)
	for i := range patients {
		p, err := patient.NewPatient(uuid.Must(uuid.NewV7()), patient.FormatMRN(int64(i+1)), patient.Details{
			Name: patient.Name{Given: []string{"Booked"}, Family: "Patient" + strconv.Itoa(i)}, BirthDate: "1970-03-09", Sex: "male",
		}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		patients[i], bookings[i].patient = p, p.ID
	}
	if err := postgres.CopyPatients(ctx, pool, patients); err != nil {
		b.Fatal(err)
	}

	started := time.Now()
	next := make(chan booking)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for c := range next {
				p := findProcedure(b, ctx, store, c.patient, c.period.To.Sub(c.period.From), window)
				allocs := []procedure.Allocation{{Kind: procedure.KindPatient, ResourceID: c.patient, Period: c.period,
					Priority: procedure.PriorityElective}}
				for _, r := range c.picks {
					allocs = append(allocs, procedure.Allocation{Kind: r.Kind, ResourceID: r.ID, Period: c.period, Turnover: r.Turnover,
						Priority: procedure.PriorityElective})
				}
				if err := store.Hold(ctx, p.Request.ID, allocs, time.Now().Add(time.Hour)); err != nil {
					b.Error(err)
					continue
				}
				if err := store.Book(ctx, p.Request.ID, time.Now()); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, c := range bookings {
		next <- c
	}
	close(next)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	var booked int
	err = pool.QueryRow(ctx, `SELECT count(*) FROM procedure_allocations WHERE state = 'booked' AND kind <> 'patient'`).Scan(&booked)
	if err != nil || booked != findBookedAllocations {
		b.Fatalf("%d booked allocations of resources, want %d: %v", booked, findBookedAllocations, err)
	}
	b.Logf("booked %d cases (%d allocations of resources) in %s", cases, booked, time.Since(started).Round(time.Millisecond))
}

// findRequirements are what the benchmark's requests need.
var findRequirements = []procedure.Requirement{
	{Type: procedure.KindRoom, Capability: "operating-theatre"},
	{Type: procedure.KindStaff, Skill: "surgeon"},
	{Type: procedure.KindStaff, Skill: "anaesthetist"},
	{Type: procedure.KindEquipment, Kind: "c-arm"},
}

// findProcedure stores a new elective laparoscopic cholecystectomy of
// duration for the patient, to be done within window, and returns it.
func findProcedure(b *testing.B, ctx context.Context, store *postgres.ProcedureStore, patientID uuid.UUID, d time.Duration,
	window procedure.Period) procedure.Procedure {
	p, err := procedure.NewProcedure(procedure.Request{ID: uuid.Must(uuid.NewV7()), PatientID: patientID,
		Procedure: procedure.Coding{System: procedure.SystemSNOMED, Code: "45595009", Display: "Laparoscopic cholecystectomy"},
		Duration:  d, Requirements: findRequirements, Window: window, Priority: procedure.PriorityElective,
		RequesterID: procRequester, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}, nil)
	if err != nil {
		b.Error(err)
		return p
	}
	if _, _, err := store.Create(ctx, nil, nil, p); err != nil {
		b.Error(err)
	}
	return p
}
