package procedure_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/procedure"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	procedurewf "github.com/zarish-sphere/zarish/workflows/procedure"
)

var (
	// t0 is when every test's procedure is requested and its workflow
	// starts: a Tuesday, 08:00 UTC.
	t0          = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	procID      = uuid.MustParse("0193f200-0000-7000-8000-0000000000d1")
	electiveID  = uuid.MustParse("0193f200-0000-7000-8000-0000000000d2")
	emergencyID = uuid.MustParse("0193f200-0000-7000-8000-0000000000d3")
	patient     = uuid.MustParse("0193f200-0000-7000-8000-0000000000aa")
	other       = uuid.MustParse("0193f200-0000-7000-8000-0000000000ab") // another patient
	encounterID = uuid.MustParse("0193f200-0000-7000-8000-0000000000e1")
	requester   = uuid.MustParse("0193f200-0000-7000-8000-000000000001")
	clerk       = uuid.MustParse("0193f200-0000-7000-8000-000000000002")
	endoscopist = uuid.MustParse("0193f200-0000-7000-8000-000000000003") // the practitioner
	nurse       = uuid.MustParse("0193f200-0000-7000-8000-000000000004") // the practitioner

	// The directory's resources.
	roomID  = uuid.MustParse("0193f200-0000-7000-8000-0000000000f1")
	staffID = uuid.MustParse("0193f200-0000-7000-8000-0000000000f2")
	nurseID = uuid.MustParse("0193f200-0000-7000-8000-0000000000f3")
	scopeID = uuid.MustParse("0193f200-0000-7000-8000-0000000000f4")
)

// The procedure every test requests: an upper GI endoscopy of 45 minutes.
const duration = 45 * time.Minute

// turnover is the room's, after each case.
const turnover = 15 * time.Minute

// day is the time of day on t0's date, in UTC; day(49*time.Hour) is
// Thursday 09:00.
func day(d time.Duration) time.Time { return t0.Truncate(24 * time.Hour).Add(d) }

// directory is the resource directory: an endoscopy room, an endoscopist,
// an anaesthetic nurse and a video endoscope, open 07:00–19:00 UTC every
// day.
func directory(t testing.TB) []procedure.Resource {
	t.Helper()
	var hours []procedure.Hours
	for d := time.Sunday; d <= time.Saturday; d++ {
		hours = append(hours, procedure.Hours{Weekday: d, From: "07:00", To: "19:00"})
	}
	rs := []procedure.Resource{
		{ID: roomID, Kind: procedure.KindRoom, Name: "Endoscopy room 1", Capabilities: []string{"endoscopy"}, Turnover: turnover},
		{ID: staffID, Kind: procedure.KindStaff, Name: "Dr Endoscopist", PractitionerID: &endoscopist, Skills: []string{"endoscopist"}},
		{ID: nurseID, Kind: procedure.KindStaff, Name: "Anaesthetic nurse", PractitionerID: &nurse, Skills: []string{"anaesthetic-nurse"}},
		{ID: scopeID, Kind: procedure.KindEquipment, Name: "Video endoscope", EquipmentKind: "video-endoscope"},
	}
	for i := range rs {
		rs[i].Hours = hours
		r, err := procedure.NewResource(rs[i])
		if err != nil {
			t.Fatal(err)
		}
		r.Version = 1
		rs[i] = r
	}
	return rs
}

// requirements are what the endoscopy needs.
var requirements = []procedure.Requirement{
	{Type: procedure.KindRoom, Capability: "endoscopy"},
	{Type: procedure.KindStaff, Skill: "endoscopist"},
	{Type: procedure.KindStaff, Skill: "anaesthetic-nurse"},
	{Type: procedure.KindEquipment, Kind: "video-endoscope"},
}

// request is an elective endoscopy of the patient in the encounter,
// requested at createdAt for the week from Thursday 09:00.
func request(id uuid.UUID, createdAt time.Time) procedure.Request {
	return procedure.Request{ID: id, PatientID: patient, EncounterID: &encounterID,
		Procedure:    procedure.Coding{System: procedure.SystemCPT, Code: "43235", Display: "Upper GI endoscopy"},
		Duration:     duration,
		Requirements: requirements,
		Window:       procedure.Period{From: day(57 * time.Hour), To: day(57*time.Hour + 7*24*time.Hour)},
		Priority:     procedure.PriorityElective, RequesterID: requester, CreatedAt: createdAt}
}

// store is the activities' store: the directory, every version of each
// procedure written, and the allocations, which it keeps free of overlaps
// as PostgreSQL's exclusion constraint does.
type store struct {
	t         testing.TB
	now       func() time.Time
	resources []procedure.Resource

	mu       sync.Mutex
	versions map[uuid.UUID][]procedure.Procedure // the created version first
	audits   map[uuid.UUID][]*audit.Record       // per version written after the first
	allocs   []procedure.Allocation
	ops      []string
}

func newStore(t testing.TB, now func() time.Time) *store {
	return &store{t: t, now: now, resources: directory(t), versions: map[uuid.UUID][]procedure.Procedure{},
		audits: map[uuid.UUID][]*audit.Record{}}
}

// create stores the procedure as the API does when it is requested.
func (s *store) create(p procedure.Procedure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[p.Request.ID] = []procedure.Procedure{p}
}

func (s *store) Record(_ context.Context, p procedure.Procedure, rec *audit.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.Request.ID
	vs, ok := s.versions[id]
	if !ok {
		return fmt.Errorf("procedure %s: %w", id, domain.ErrNotFound)
	}
	last := vs[len(vs)-1]
	if p.Version <= last.Version {
		return nil // recorded already
	}
	if p.Version != last.Version+1 {
		s.t.Errorf("procedure %s: version %d written after %d", id, p.Version, last.Version)
	}
	if len(p.Timeline) < len(last.Timeline) || !slices.EqualFunc(p.Timeline[:len(last.Timeline)], last.Timeline, sameEntry) {
		s.t.Errorf("procedure %s: version %d rewrites the timeline of version %d", id, p.Version, last.Version)
	}
	s.versions[id] = append(vs, p)
	s.audits[id] = append(s.audits[id], rec)
	s.ops = append(s.ops, fmt.Sprintf("record %s %d %s", short(id), p.Version, p.Last().Kind))
	return nil
}

func sameEntry(a, b procedure.Entry) bool {
	return a.Seq == b.Seq && a.Kind == b.Kind && a.At.Equal(b.At) && a.By == b.By && a.Status == b.Status && a.Note == b.Note
}

func (s *store) ListResources(_ context.Context, kind procedure.ResourceKind, activeOnly bool) ([]procedure.Resource, error) {
	var out []procedure.Resource
	for _, r := range s.resources {
		if (kind == "" || r.Kind == kind) && (!activeOnly || r.Active) {
			out = append(out, r)
		}
	}
	return out, nil
}

// during is the span an allocation takes: its period and turnover after.
func during(a procedure.Allocation) procedure.Period {
	return procedure.Period{From: a.Period.From, To: a.Period.To.Add(a.Turnover)}
}

func (s *store) Busy(_ context.Context, resourceIDs []uuid.UUID, patientID uuid.UUID, span procedure.Period,
	now time.Time) (map[uuid.UUID][]procedure.Busy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := map[uuid.UUID][]procedure.Busy{}
	for _, a := range s.allocs {
		asked := a.Kind == procedure.KindPatient && patientID != uuid.Nil && a.ResourceID == patientID ||
			a.Kind != procedure.KindPatient && slices.Contains(resourceIDs, a.ResourceID)
		if !asked || !during(a).Overlaps(span) || a.State == procedure.AllocationHeld && !a.ExpiresAt.After(now) {
			continue
		}
		busy[a.ResourceID] = append(busy[a.ResourceID], procedure.Busy{Period: during(a), ProcedureID: a.ProcedureID, Priority: a.Priority,
			Held: a.State == procedure.AllocationHeld})
	}
	for _, list := range busy {
		slices.SortFunc(list, func(a, b procedure.Busy) int { return cmp.Or(a.From.Compare(b.From), a.To.Compare(b.To)) })
	}
	return busy, nil
}

// taken refuses an allocation that overlaps another procedure's.
type taken struct{ a procedure.Allocation }

func (e *taken) Error() string {
	return fmt.Sprintf("slot taken: %s %s is allocated to procedure %s then", e.a.Kind, e.a.ResourceID, e.a.ProcedureID)
}

func (e *taken) Unwrap() error { return domain.ErrConflict }

// allocate replaces the procedure's allocations with rows in state, after
// deleting the lapsed holds the rows overlap (each such hold whole); an
// overlap with another procedure's allocation changes nothing. The caller
// holds the lock.
func (s *store) allocate(id uuid.UUID, rows []procedure.Allocation, state procedure.AllocationState, expiresAt *time.Time) error {
	if len(rows) == 0 {
		return fmt.Errorf("allocate procedure %s: nothing to allocate: %w", id, procedure.ErrInvalidArgument)
	}
	rows = slices.Clone(rows)
	for i := range rows {
		a := &rows[i]
		if a.ProcedureID != uuid.Nil && a.ProcedureID != id || a.ResourceID == uuid.Nil || !a.Period.To.After(a.Period.From) ||
			!a.Priority.Valid() || !a.Kind.Valid() && a.Kind != procedure.KindPatient {
			return fmt.Errorf("allocate procedure %s: %+v: %w", id, *a, procedure.ErrInvalidArgument)
		}
		if slices.ContainsFunc(rows[:i], func(b procedure.Allocation) bool { return b.Kind == a.Kind && b.ResourceID == a.ResourceID }) {
			return fmt.Errorf("allocate procedure %s: %s %s twice: %w", id, a.Kind, a.ResourceID, procedure.ErrInvalidArgument)
		}
		a.ProcedureID, a.State, a.ExpiresAt = id, state, expiresAt
	}
	now := s.now()
	overlaps := func(a, b procedure.Allocation) bool {
		return a.Kind == b.Kind && a.ResourceID == b.ResourceID && during(a).Overlaps(during(b))
	}
	lapsed := map[uuid.UUID]bool{}
	for _, a := range s.allocs {
		if a.State == procedure.AllocationHeld && !a.ExpiresAt.After(now) &&
			slices.ContainsFunc(rows, func(b procedure.Allocation) bool { return overlaps(a, b) }) {
			lapsed[a.ProcedureID] = true
		}
	}
	kept := slices.DeleteFunc(slices.Clone(s.allocs), func(a procedure.Allocation) bool {
		return a.ProcedureID == id || lapsed[a.ProcedureID] && a.State == procedure.AllocationHeld
	})
	for _, b := range rows {
		if i := slices.IndexFunc(kept, func(a procedure.Allocation) bool { return overlaps(a, b) }); i >= 0 {
			return fmt.Errorf("allocate procedure %s: %w", id, &taken{kept[i]})
		}
	}
	s.allocs = append(kept, rows...)
	return nil
}

func (s *store) Hold(_ context.Context, id uuid.UUID, allocs []procedure.Allocation, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if expiresAt.IsZero() {
		return fmt.Errorf("hold for procedure %s: no expiry: %w", id, procedure.ErrInvalidArgument)
	}
	if slices.ContainsFunc(s.allocs, func(a procedure.Allocation) bool {
		return a.ProcedureID == id && a.State == procedure.AllocationBooked
	}) {
		return fmt.Errorf("hold for procedure %s: it is booked already: %w", id, domain.ErrConflict)
	}
	if err := s.allocate(id, allocs, procedure.AllocationHeld, &expiresAt); err != nil {
		s.ops = append(s.ops, "hold "+short(id)+" refused")
		return err
	}
	s.ops = append(s.ops, "hold "+short(id))
	return nil
}

func (s *store) Book(_ context.Context, id uuid.UUID, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, held, lapsed := 0, 0, false
	for _, a := range s.allocs {
		if a.ProcedureID != id {
			continue
		}
		n++
		if a.State == procedure.AllocationHeld {
			held++
			lapsed = lapsed || !a.ExpiresAt.After(now)
		}
	}
	switch {
	case n == 0 || lapsed:
		s.ops = append(s.ops, "book "+short(id)+" refused")
		return fmt.Errorf("book procedure %s: the hold lapsed: %w", id, domain.ErrConflict)
	case held == 0:
		return nil
	}
	for i := range s.allocs {
		if a := &s.allocs[i]; a.ProcedureID == id {
			a.State, a.ExpiresAt = procedure.AllocationBooked, nil
		}
	}
	s.ops = append(s.ops, "book "+short(id))
	return nil
}

func (s *store) Release(_ context.Context, id uuid.UUID) error {
	s.mu.Lock()
	s.allocs = slices.DeleteFunc(s.allocs, func(a procedure.Allocation) bool { return a.ProcedureID == id })
	s.ops = append(s.ops, "release "+short(id))
	s.mu.Unlock()
	return nil
}

func (s *store) Swap(_ context.Context, id uuid.UUID, allocs []procedure.Allocation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.allocate(id, allocs, procedure.AllocationBooked, nil); err != nil {
		s.ops = append(s.ops, "swap "+short(id)+" refused")
		return err
	}
	s.ops = append(s.ops, "swap "+short(id))
	return nil
}

// put books allocations of another procedure in the store, as that
// procedure's run would have; the store refuses an overlap.
func (s *store) put(id uuid.UUID, allocs []procedure.Allocation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocate(id, allocs, procedure.AllocationBooked, nil)
}

// allocations are the procedure's, by kind and resource id.
func (s *store) allocations(id uuid.UUID) []procedure.Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []procedure.Allocation
	for _, a := range s.allocs {
		if a.ProcedureID == id {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b procedure.Allocation) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), slices.Compare(a.ResourceID[:], b.ResourceID[:]))
	})
	return out
}

// written is every version of the procedure stored, the created one first.
func (s *store) written(id uuid.UUID) []procedure.Procedure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.versions[id])
}

// audited is the audit record written with each version after the first.
func (s *store) audited(id uuid.UUID) []*audit.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.audits[id])
}

// log is the store's calls since the n-th, one a line.
func (s *store) log(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ops[min(n, len(s.ops)):])
}

// short names a procedure in the store's log by its id's last two digits.
func short(id uuid.UUID) string { s := id.String(); return s[len(s)-2:] }

// slotAllocations are the allocations a slot of the request takes on the
// whole directory, as HoldSlot makes them.
func slotAllocations(id, patientID uuid.UUID, priority procedure.Priority, p procedure.Period) []procedure.Allocation {
	return []procedure.Allocation{
		{ResourceID: patientID, Kind: procedure.KindPatient, Period: p, Priority: priority},
		{ResourceID: roomID, Kind: procedure.KindRoom, Period: p, Turnover: turnover, Priority: priority},
		{ResourceID: staffID, Kind: procedure.KindStaff, Period: p, Priority: priority},
		{ResourceID: nurseID, Kind: procedure.KindStaff, Period: p, Priority: priority},
		{ResourceID: scopeID, Kind: procedure.KindEquipment, Period: p, Priority: priority},
	}
}

// signalled is one signal the workflow sent another workflow.
type signalled struct {
	workflowID, name string
	arg              any
}

// harness runs the workflow with its real activities over store, whose
// clock is the test environment's, and mocked signals to other workflows,
// recording what each was asked.
type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	store *store

	mu       sync.Mutex
	signals  []signalled
	statuses []string // ProcedureStatus as upserted
	updates  int
	// onSignal, when set, stands in for the workflow a signal goes to.
	onSignal func(workflowID, name string, arg any)
	// alerts are the alerts the run raised; resolved those it resolved.
	alerts   []alert.Raise
	resolved []activities.ResolveRequest
}

// ResolveAlert records the resolution, as the alert workflow would take it.
func (h *harness) ResolveAlert(_ context.Context, alertID, by uuid.UUID, note string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resolved = append(h.resolved, activities.ResolveRequest{AlertID: alertID, By: by, Note: note})
	return nil
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment()}
	h.env.SetStartTime(t0)
	h.store = newStore(t, h.env.Now)
	procedurewf.Register(h.env, activities.New(h.store, activities.WithClock(h.env.Now), activities.WithAlerts(h)))
	// The alert escalation is another process: a stub stands in for it.
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in alertwf.Input) (alertwf.State, error) {
		h.mu.Lock()
		h.alerts = append(h.alerts, in.Raise)
		h.mu.Unlock()
		return alertwf.State{Raise: in.Raise, Status: alertwf.StatusOpen}, nil
	}, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	// The encounter, and the procedures an emergency bumps, are other
	// workflows.
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_, workflowID, _, name string, arg any) error {
			h.mu.Lock()
			h.signals = append(h.signals, signalled{workflowID: workflowID, name: name, arg: arg})
			on := h.onSignal
			h.mu.Unlock()
			if on != nil {
				on(workflowID, name, arg)
			}
			return nil
		})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		status, _ := sa.GetKeyword(procedurewf.SearchStatus)
		if p, _ := sa.GetKeyword(procedurewf.SearchPatientID); p != patient.String() {
			t.Errorf("PatientId upserted as %q", p)
		}
		h.mu.Lock()
		h.statuses = append(h.statuses, status)
		h.mu.Unlock()
	}).Return(nil)
	return h
}

// input is the endoscopy requested at t0, with edit applied to the
// request, stored as the API stores it.
func (h *harness) input(edit ...func(*procedure.Request)) procedurewf.Input {
	h.t.Helper()
	req := request(procID, t0)
	for _, e := range edit {
		e(&req)
	}
	p, err := procedure.NewProcedure(req, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.store.create(p)
	return procedurewf.Input{Procedure: p, Unit: "endoscopy", AutoBook: req.Priority == procedure.PriorityEmergency}
}

// at runs f at offset d after the workflow starts.
func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

// outcome is what became of an update.
type outcome struct {
	accepted bool
	rejected error
	failed   error
	state    procedurewf.State
}

// send sends an update at offset d; its outcome is known once the workflow
// has run.
func (h *harness) send(d time.Duration, name string, args ...any) *outcome {
	o := &outcome{}
	h.at(d, func() {
		h.updates++
		h.env.UpdateWorkflow(name, fmt.Sprintf("update-%d", h.updates), &testsuite.TestUpdateCallback{
			OnAccept: func() { o.accepted = true },
			OnReject: func(err error) { o.rejected = err },
			OnComplete: func(v any, err error) {
				o.failed = err
				if err != nil {
					return
				}
				s, ok := v.(procedurewf.State)
				if !ok {
					h.t.Errorf("%s returned %T", name, v)
				}
				o.state = s
			},
		}, args...)
	})
	return o
}

func (h *harness) state() procedurewf.State {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(procedurewf.QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var s procedurewf.State
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// query reads the state at offset d into s.
func (h *harness) query(d time.Duration, s *procedurewf.State) {
	h.at(d, func() { *s = h.state() })
}

// run executes the workflow to its end and returns its last state.
func (h *harness) run(in procedurewf.Input) procedurewf.State {
	h.t.Helper()
	h.env.ExecuteWorkflow(procedurewf.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var s procedurewf.State
	if err := h.env.GetWorkflowResult(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) sent() []signalled {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.signals)
}

func (h *harness) upserted() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.statuses, " ")
}

// The steps the tests take, each at an offset after the request.

func (h *harness) scheduled(d time.Duration) *outcome { return h.send(d, procedurewf.UpdateScheduled) }

func (h *harness) book(d time.Duration) *outcome {
	return h.send(d, procedurewf.UpdateBook, procedurewf.BookRequest{By: clerk})
}

func (h *harness) check(d time.Duration, code string) *outcome {
	return h.send(d, procedurewf.UpdateCheck, procedurewf.CheckRequest{Code: code, By: nurse})
}

// checkPhase ticks every item of the phases, a minute apart from d on.
func (h *harness) checkPhase(d time.Duration, phases ...procedure.Phase) []*outcome {
	var out []*outcome
	for _, it := range procedure.DefaultChecklist() {
		if slices.Contains(phases, it.Phase) {
			out = append(out, h.check(d+time.Duration(len(out))*time.Minute, it.Code))
		}
	}
	return out
}

func (h *harness) checkIn(d time.Duration) *outcome {
	return h.send(d, procedurewf.UpdateCheckIn, procedurewf.CheckInRequest{By: clerk})
}

func (h *harness) start(d time.Duration) *outcome {
	return h.send(d, procedurewf.UpdateStart, procedurewf.StartRequest{By: endoscopist})
}

func (h *harness) complete(d time.Duration) *outcome {
	return h.send(d, procedurewf.UpdateComplete, procedurewf.CompleteRequest{Completion: procedure.Completion{
		Outcome: procedure.OutcomeSuccessful, EndedAt: t0.Add(d), Team: []uuid.UUID{endoscopist, nurse}, By: endoscopist}})
}

func (h *harness) cancel(d time.Duration) *outcome {
	return h.send(d, procedurewf.UpdateCancel, procedurewf.CancelRequest{By: requester, Reason: "patient declined"})
}

func (h *harness) reschedule(d time.Duration, window procedure.Period) *outcome {
	return h.send(d, procedurewf.UpdateReschedule, procedurewf.RescheduleRequest{Window: window, Reason: "endoscopist on leave",
		By: requester})
}

// kinds names the entries of a timeline.
func kinds(s procedurewf.State) string {
	var out []string
	for _, e := range s.Timeline {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

// entry is the timeline's first entry of kind after the n-th, or fails the
// test.
func entry(t *testing.T, s procedurewf.State, kind procedure.EventKind, n int) procedure.Entry {
	t.Helper()
	for _, e := range s.Timeline[min(n, len(s.Timeline)):] {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s entry after %d: %s", kind, n, kinds(s))
	return procedure.Entry{}
}

func accepted(t *testing.T, what string, o *outcome) {
	t.Helper()
	if !o.accepted || o.rejected != nil || o.failed != nil {
		t.Fatalf("%s: accepted %v, rejected %v, failed %v", what, o.accepted, o.rejected, o.failed)
	}
}

// refused checks that the validator refused o as typ.
func refused(t *testing.T, what string, o *outcome, typ string) {
	t.Helper()
	if o.accepted || !refusedAs(o.rejected, typ) {
		t.Errorf("%s: accepted %v, rejected %v; want %s", what, o.accepted, o.rejected, typ)
	}
}

// refusedAs reports whether err is a refusal of the given type.
func refusedAs(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == typ
}

// allocated checks that the procedure holds exactly the directory and the
// patient over p, in state; it may run in a delayed callback, so it never
// stops the test.
func allocated(t *testing.T, s *store, id uuid.UUID, p procedure.Period, state procedure.AllocationState) {
	t.Helper()
	got := s.allocations(id)
	if len(got) != 5 {
		t.Errorf("%d allocations: %+v", len(got), got)
		return
	}
	for _, a := range got {
		if !a.Period.From.Equal(p.From) || !a.Period.To.Equal(p.To) || a.State != state {
			t.Errorf("allocation %s %s: %v–%v %s; want %v–%v %s", a.Kind, a.ResourceID, a.Period.From, a.Period.To, a.State,
				p.From, p.To, state)
		}
	}
}
