package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/migrations"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var (
	procNow       = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	procRequester = uuid.MustParse("0193c000-0000-7000-8000-0000000000e1")
	procSurgeon   = uuid.MustParse("0193c000-0000-7000-8000-0000000000e2")
)

// newProc is a laparoscopic cholecystectomy requested for patient at
// created, to be done within the week after it.
func newProc(t *testing.T, patient uuid.UUID, enc *uuid.UUID, created time.Time, priority procedure.Priority) procedure.Procedure {
	t.Helper()
	// Nanoseconds, as a clock gives them: the store keeps microseconds in
	// its columns, and the list's cursor still finds its place.
	created = created.Add(123)
	return procedure.Procedure{
		Request: procedure.Request{
			ID: uuid.Must(uuid.NewV7()), PatientID: patient, EncounterID: enc,
			Procedure: procedure.Coding{System: procedure.SystemSNOMED, Code: "45595009", Display: "Laparoscopic cholecystectomy"},
			Duration:  90 * time.Minute,
			Requirements: []procedure.Requirement{{Type: procedure.KindRoom, Capability: "operating-theatre"},
				{Type: procedure.KindStaff, Skill: "surgeon"}, {Type: procedure.KindStaff, Skill: "anaesthetist"}},
			Window:   procedure.Period{From: created, To: created.Add(7 * 24 * time.Hour)},
			Priority: priority, RequesterID: procRequester, CreatedAt: created,
		},
		Status:    procedure.StatusRequested,
		Checklist: []procedure.ChecklistItem{{Code: "consent", Phase: procedure.PhasePreProcedure, Text: "Consent signed"}},
		Timeline:  []procedure.Entry{{Seq: 1, Kind: procedure.EventRequested, At: created, By: procRequester, Status: procedure.StatusRequested}},
		Version:   1,
		UpdatedAt: created,
	}
}

// procStep is p after one more timeline entry of kind, in status at at.
func procStep(p procedure.Procedure, kind procedure.EventKind, status procedure.Status, at time.Time) procedure.Procedure {
	p.Timeline = append(slices.Clone(p.Timeline), procedure.Entry{Seq: len(p.Timeline) + 1, Kind: kind, At: at, Status: status})
	p.Status, p.Version, p.UpdatedAt = status, p.Version+1, at
	return p
}

// procSlotted is p held and booked on the slot from start for its
// duration, on resources.
func procSlotted(p procedure.Procedure, start time.Time, resources ...uuid.UUID) procedure.Procedure {
	expires := start.Add(-24 * time.Hour)
	p.Slot = &procedure.Slot{Period: procedure.Period{From: start, To: start.Add(p.Request.Duration)}, Resources: [][]uuid.UUID{resources}}
	p.HoldExpiresAt = &expires
	p = procStep(p, procedure.EventHeld, procedure.StatusHeld, p.UpdatedAt.Add(time.Minute))
	p.HoldExpiresAt = nil
	return procStep(p, procedure.EventBooked, procedure.StatusBooked, p.UpdatedAt.Add(time.Minute))
}

// storedProc creates p and returns it.
func storedProc(t *testing.T, s *postgres.ProcedureStore, p procedure.Procedure) procedure.Procedure {
	t.Helper()
	if _, _, err := s.Create(context.Background(), nil, nil, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordProc records p and returns it.
func recordProc(t *testing.T, s *postgres.ProcedureStore, p procedure.Procedure) procedure.Procedure {
	t.Helper()
	if err := s.Record(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

func procIDs(ps []procedure.Procedure) []uuid.UUID {
	out := []uuid.UUID{}
	for _, p := range ps {
		out = append(out, p.Request.ID)
	}
	return out
}

// theatre is an operating theatre open on weekdays, with 30 minutes of
// turnover.
func theatre(name string) procedure.Resource {
	return procedure.Resource{ID: uuid.Must(uuid.NewV7()), Kind: procedure.KindRoom, Name: name,
		Capabilities: []string{"operating-theatre"}, TimeZone: "Asia/Dhaka",
		Hours:    []procedure.Hours{{Weekday: time.Monday, From: "08:00", To: "17:00"}, {Weekday: time.Tuesday, From: "08:00", To: "17:00"}},
		Turnover: 30 * time.Minute, Active: true}
}

// The directory keeps each resource as given, at version 1 and then one
// more per update; a duplicate id, a stale version or a change of kind is
// refused and changes nothing; each write is audited with it.
func TestProcedureResourceDirectory(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	audits := postgres.NewAuditStore(pool)

	room := theatre("Theatre 2")
	rec := auditRecord(procNow, nil)
	if err := s.CreateResource(ctx, &rec, room); err != nil {
		t.Fatal(err)
	}
	audited, err := audits.Get(ctx, rec.ID)
	if err != nil || audited.EntityType != "Schedule" || audited.EntityID != room.ID.String() {
		t.Fatalf("audit record: %+v, %v", audited, err)
	}
	want := room
	want.Version = 1
	if got, err := s.GetResource(ctx, room.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("stored resource:\n got %+v\nwant %+v (%v)", got, want, err)
	}
	if err := s.CreateResource(ctx, nil, room); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("the same id twice: %v", err)
	}

	practitioner := procSurgeon
	surgeon := procedure.Resource{ID: uuid.Must(uuid.NewV7()), Kind: procedure.KindStaff, Name: "Dr Rahman",
		PractitionerID: &practitioner, Skills: []string{"surgeon"}, Active: true}
	carm := procedure.Resource{ID: uuid.Must(uuid.NewV7()), Kind: procedure.KindEquipment, Name: "C-arm 1", EquipmentKind: "c-arm", Active: true}
	closed := theatre("Theatre 1")
	closed.Active = false
	for _, r := range []procedure.Resource{surgeon, carm, closed} {
		if err := s.CreateResource(ctx, nil, r); err != nil {
			t.Fatal(err)
		}
	}

	// Blocked for maintenance, and renamed: version 2, as given.
	changed := want
	changed.Name = "Theatre 2 (laparoscopic)"
	changed.Blocked = []procedure.Blocked{{Period: procedure.Period{From: procNow, To: procNow.Add(4 * time.Hour)}, Reason: "laminar flow service"}}
	again := auditRecord(procNow, nil)
	updated, err := s.UpdateResource(ctx, &again, changed, 1)
	if err != nil || updated.Version != 2 {
		t.Fatalf("update: %+v, %v", updated, err)
	}
	changed.Version = 2
	if got, err := s.GetResource(ctx, room.ID); err != nil || !reflect.DeepEqual(got, changed) || !reflect.DeepEqual(updated, changed) {
		t.Fatalf("updated resource:\n got %+v\nwant %+v (%v)", got, changed, err)
	}
	if _, err := s.UpdateResource(ctx, nil, want, 1); !errors.Is(err, domain.ErrVersionMismatch) {
		t.Fatalf("a stale version: %v", err)
	}
	asStaff := changed
	asStaff.Kind = procedure.KindStaff
	if _, err := s.UpdateResource(ctx, nil, asStaff, 2); !errors.Is(err, procedure.ErrInvalidArgument) {
		t.Fatalf("a room turned into staff: %v", err)
	}
	if got, err := s.GetResource(ctx, room.ID); err != nil || !reflect.DeepEqual(got, changed) {
		t.Fatalf("a refused update changed the resource: %+v, %v", got, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events WHERE id = $1 AND entity_id = $2`, again.ID, room.ID.String()); n != 1 {
		t.Fatal("the update is not audited")
	}
	ghost := theatre("Nowhere")
	if _, err := s.UpdateResource(ctx, nil, ghost, 1); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update of an unknown resource: %v", err)
	}
	if _, err := s.GetResource(ctx, ghost.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("get of an unknown resource: %v", err)
	}
	if err := s.CreateResource(ctx, nil, procedure.Resource{ID: uuid.Must(uuid.NewV7()), Kind: procedure.KindPatient, Name: "x"}); err == nil {
		t.Fatal("a patient was added to the directory")
	}

	ids := func(rs []procedure.Resource) []uuid.UUID {
		out := []uuid.UUID{}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	cases := []struct {
		name   string
		kind   procedure.ResourceKind
		active bool
		want   []uuid.UUID
	}{
		{"everything, by kind and name", "", false, []uuid.UUID{carm.ID, closed.ID, room.ID, surgeon.ID}},
		{"what can be booked", "", true, []uuid.UUID{carm.ID, room.ID, surgeon.ID}},
		{"rooms", procedure.KindRoom, false, []uuid.UUID{closed.ID, room.ID}},
		{"open rooms", procedure.KindRoom, true, []uuid.UUID{room.ID}},
		{"staff", procedure.KindStaff, true, []uuid.UUID{surgeon.ID}},
	}
	for _, tc := range cases {
		got, err := s.ListResources(ctx, tc.kind, tc.active)
		if err != nil || !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, ids(got), err, tc.want)
		}
	}
}

// Create stores the procedure, its requested event, its workflow start and
// its audit record in one transaction; a repeated key with the same body
// answers the first procedure as it is now, another body is refused and
// stores nothing; a patient or encounter that does not exist is refused
// naming the field.
func TestProcedureCreateIsOneIdempotentWrite(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	audits := postgres.NewAuditStore(pool)
	pat, other := pgtest.Patient(t, pool), pgtest.Patient(t, pool)
	enc := newEncounter(t, postgres.NewEncounterStore(pool), pat, encounter.ClassInpatient, "ward-3", procNow).Details.EncounterID

	idem := &domain.Idempotency{Scope: "client POST /v1/procedures", Key: "k-1", Hash: sha256.Sum256([]byte(`{"a":1}`))}
	rec := auditRecord(procNow, nil)
	first := newProc(t, pat, &enc, procNow, procedure.PriorityElective)
	start := outbox.WorkflowStart{WorkflowID: "procedure/" + first.Request.ID.String(), WorkflowType: "ProcedureScheduling",
		TaskQueue: "procedures", Grace: time.Minute}
	got, replay, err := s.Create(ctx, idem, &rec, first, start)
	if err != nil || replay || got.Request.ID != first.Request.ID {
		t.Fatalf("create: %+v replay %v, %v", got, replay, err)
	}
	audited, err := audits.Get(ctx, rec.ID)
	if err != nil || audited.PatientID == nil || *audited.PatientID != pat ||
		audited.EntityType != "Procedure" || audited.EntityID != first.Request.ID.String() {
		t.Fatalf("audit record: %+v, %v", audited, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NULL`, start.WorkflowID); n != 1 {
		t.Fatalf("%d pending starts of the new procedure", n)
	}
	if err := s.MarkStarted(ctx, start.WorkflowID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NOT NULL`, start.WorkflowID); n != 1 {
		t.Fatal("the start is not marked started")
	}
	if stored, err := s.Get(ctx, first.Request.ID); err != nil || !reflect.DeepEqual(stored, first) {
		t.Fatalf("stored procedure differs from the created one:\n got %+v\nwant %+v (%v)", stored, first, err)
	}

	// No slot in the window; the retry with the same key sees it, and
	// neither a second row nor a second start is written.
	waiting := recordProc(t, s, procStep(first, procedure.EventNoSlot, procedure.StatusUnscheduled, procNow.Add(time.Minute)))
	retry := newProc(t, pat, &enc, procNow, procedure.PriorityElective)
	again := auditRecord(procNow, nil)
	got, replay, err = s.Create(ctx, idem, &again, retry, outbox.WorkflowStart{WorkflowID: "procedure/" + retry.Request.ID.String(),
		WorkflowType: "ProcedureScheduling", TaskQueue: "procedures"})
	if err != nil || !replay || !reflect.DeepEqual(got, waiting) {
		t.Fatalf("replay: %+v replay %v, %v", got, replay, err)
	}
	if _, err := s.Get(ctx, retry.Request.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the replay stored its own procedure: %v", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM workflow_starts WHERE workflow_id LIKE 'procedure/%'`); n != 1 {
		t.Fatalf("%d workflow starts after the replay", n)
	}

	mismatch := *idem
	mismatch.Hash = sha256.Sum256([]byte(`{"a":2}`))
	third := newProc(t, pat, nil, procNow, procedure.PriorityElective)
	if _, _, err := s.Create(ctx, &mismatch, nil, third); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("another body: %v", err)
	}
	if _, err := s.Get(ctx, third.Request.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a refused create left its procedure: %v", err)
	}
	if _, _, err := s.Create(ctx, nil, nil, first); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("the same id twice: %v", err)
	}
	if _, _, err := s.Create(ctx, nil, nil, waiting); err == nil {
		t.Fatal("a procedure past its requested entry was created")
	}

	ghost := uuid.Must(uuid.NewV7())
	_, _, err = s.Create(ctx, nil, nil, newProc(t, uuid.Must(uuid.NewV7()), nil, procNow, procedure.PriorityElective))
	wantFieldError(t, "an unknown patient", err, "patientId")
	_, _, err = s.Create(ctx, nil, nil, newProc(t, pat, &ghost, procNow, procedure.PriorityElective))
	wantFieldError(t, "an unknown encounter", err, "encounterId")
	_, _, err = s.Create(ctx, nil, nil, newProc(t, other, &enc, procNow, procedure.PriorityElective))
	wantFieldError(t, "another patient's encounter", err, "patientId")

	id := first.Request.ID.String()
	want := []string{"procedure.requested " + id, "procedure.no-slot " + id}
	if got := clinicalEvents(t, pool, pat, "procedure"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM outbox WHERE key = $1`, other.String()); n != 1 {
		t.Fatalf("%d events of the refused patient, want only the registration", n)
	}
}

// Record writes each timeline entry once with its event, named
// procedure.<kind>: a retried write, or an older version arriving late,
// changes nothing, and a version that skips entries writes the event of
// each, carrying the procedure as recorded.
func TestProcedureRecordIsIdempotentPerEntry(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat := pgtest.Patient(t, pool)
	requested := storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityElective))
	id := requested.Request.ID.String()

	room, staff := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	booked := procSlotted(requested, procNow.Add(48*time.Hour), room, staff) // held, then booked: two entries at once
	rec := auditRecord(procNow, nil)
	if err := s.Record(ctx, booked, &rec); err != nil {
		t.Fatal(err)
	}
	retried := auditRecord(procNow, nil)
	if err := s.Record(ctx, booked, &retried); err != nil {
		t.Fatalf("the same entries again: %v", err)
	}
	if err := s.Record(ctx, requested, nil); err != nil {
		t.Fatalf("an older version: %v", err)
	}
	if got, err := s.Get(ctx, requested.Request.ID); err != nil || !reflect.DeepEqual(got, booked) {
		t.Fatalf("after the retries:\n got %+v\nwant %+v (%v)", got, booked, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events WHERE id = ANY($1)`, []uuid.UUID{rec.ID, retried.ID}); n != 1 {
		t.Fatalf("%d audit records of one change written twice", n)
	}

	checkedIn := procStep(booked, procedure.EventCheckedIn, procedure.StatusCheckedIn, procNow.Add(47*time.Hour))
	started := procStep(checkedIn, procedure.EventStarted, procedure.StatusInProgress, procNow.Add(48*time.Hour))
	done := recordProc(t, s, procStep(started, procedure.EventCompleted, procedure.StatusCompleted, procNow.Add(50*time.Hour)))
	if got, err := s.Get(ctx, requested.Request.ID); err != nil || !reflect.DeepEqual(got, done) {
		t.Fatalf("stored procedure differs from the recorded one:\n got %+v\nwant %+v (%v)", got, done, err)
	}
	var want []string
	for _, kind := range []string{"requested", "held", "booked", "checked-in", "started", "completed"} {
		want = append(want, "procedure."+kind+" "+id)
	}
	if got := clinicalEvents(t, pool, pat, "procedure"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}

	// The held event carries the procedure as recorded with it, and names
	// where it comes from.
	var (
		data            []byte
		source, subject string
	)
	if err := pool.QueryRow(ctx, `SELECT data, source, subject FROM outbox WHERE key = $1 AND type = 'procedure.held'`,
		pat.String()).Scan(&data, &source, &subject); err != nil {
		t.Fatal(err)
	}
	var inEvent procedure.Procedure
	if err := json.Unmarshal(data, &inEvent); err != nil || inEvent.Version != 3 || inEvent.Slot == nil || inEvent.Status != procedure.StatusBooked {
		t.Fatalf("event data: %s, %v", data, err)
	}
	if source != "/v1/procedures" || subject != "Procedure/"+id {
		t.Fatalf("event source %q subject %q", source, subject)
	}

	if err := s.Record(ctx, procStep(newProc(t, pat, nil, procNow, procedure.PriorityElective), procedure.EventCancelled,
		procedure.StatusCancelled, procNow), nil); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a procedure never created: %v", err)
	}
	if _, err := s.Get(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("get of an unknown procedure: %v", err)
	}
	broken := done
	broken.Version = 20
	if err := s.Record(ctx, broken, nil); err == nil {
		t.Fatal("a version that is not its timeline's length was recorded")
	}
	moved := procStep(storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityElective)), procedure.EventCancelled,
		procedure.StatusCancelled, procNow)
	moved.Request.PatientID = pgtest.Patient(t, pool)
	if err := s.Record(ctx, moved, nil); err == nil {
		t.Fatal("a change of the procedure's patient was recorded")
	}
}

// Lists page newest request first and filter by patient, status, a
// resource of the slot and when the slot starts.
func TestProcedureList(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat, other := pgtest.Patient(t, pool), pgtest.Patient(t, pool)
	room1, room2, surgeon := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	day := procNow.Add(72 * time.Hour)

	// Booked in room 1 at 09:00 on the day, then done.
	oldest := storedProc(t, s, newProc(t, pat, nil, procNow.Add(-4*time.Hour), procedure.PriorityElective))
	oldest = procSlotted(oldest, day.Add(time.Hour), room1, surgeon)
	oldest = recordProc(t, s, procStep(procStep(oldest, procedure.EventStarted, procedure.StatusInProgress, day.Add(time.Hour)),
		procedure.EventCompleted, procedure.StatusCompleted, day.Add(3*time.Hour)))
	// Booked in room 2 at 13:00 on the day.
	afternoon := recordProc(t, s, procSlotted(storedProc(t, s, newProc(t, pat, nil, procNow.Add(-3*time.Hour), procedure.PriorityUrgent)),
		day.Add(5*time.Hour), room2, surgeon))
	// Waiting for a slot.
	waiting := recordProc(t, s, procStep(storedProc(t, s, newProc(t, pat, nil, procNow.Add(-2*time.Hour), procedure.PriorityElective)),
		procedure.EventNoSlot, procedure.StatusUnscheduled, procNow))
	// Booked in room 1 the day after.
	tomorrow := recordProc(t, s, procSlotted(storedProc(t, s, newProc(t, pat, nil, procNow.Add(-time.Hour), procedure.PriorityElective)),
		day.Add(25*time.Hour), room1))
	theirs := recordProc(t, s, procSlotted(storedProc(t, s, newProc(t, other, nil, procNow, procedure.PriorityElective)),
		day.Add(3*time.Hour), room1))

	at := func(t time.Time) *time.Time { return &t }
	cases := []struct {
		name string
		f    procedure.Filter
		want []procedure.Procedure
	}{
		{"everyone's, newest first", procedure.Filter{}, []procedure.Procedure{theirs, tomorrow, waiting, afternoon, oldest}},
		{"the patient's", procedure.Filter{PatientID: pat}, []procedure.Procedure{tomorrow, waiting, afternoon, oldest}},
		{"booked", procedure.Filter{Status: procedure.StatusBooked}, []procedure.Procedure{theirs, tomorrow, afternoon}},
		{"the patient's booked", procedure.Filter{PatientID: pat, Status: procedure.StatusBooked},
			[]procedure.Procedure{tomorrow, afternoon}},
		{"unscheduled", procedure.Filter{Status: procedure.StatusUnscheduled}, []procedure.Procedure{waiting}},
		{"room 1, done ones too", procedure.Filter{ResourceID: room1}, []procedure.Procedure{theirs, tomorrow, oldest}},
		{"the surgeon's", procedure.Filter{ResourceID: surgeon}, []procedure.Procedure{afternoon, oldest}},
		{"room 1 on the day", procedure.Filter{ResourceID: room1, From: at(day), To: at(day.Add(24 * time.Hour))},
			[]procedure.Procedure{theirs, oldest}},
		// From is inclusive and To exclusive.
		{"starting from 09:00 to before 13:00", procedure.Filter{From: at(day.Add(time.Hour)), To: at(day.Add(5 * time.Hour))},
			[]procedure.Procedure{theirs, oldest}},
		{"from 13:00 on", procedure.Filter{From: at(day.Add(5 * time.Hour))}, []procedure.Procedure{tomorrow, afternoon}},
		{"before 13:00", procedure.Filter{To: at(day.Add(5 * time.Hour))}, []procedure.Procedure{theirs, oldest}},
		{"a resource nobody booked", procedure.Filter{ResourceID: uuid.Must(uuid.NewV7())}, nil},
		{"a patient without any", procedure.Filter{PatientID: uuid.Must(uuid.NewV7())}, nil},
	}
	for _, tc := range cases {
		page, err := s.List(ctx, tc.f)
		if err != nil || !slices.Equal(procIDs(page.Procedures), procIDs(tc.want)) || page.Next != "" {
			t.Errorf("%s: %v next %q, %v; want %v", tc.name, procIDs(page.Procedures), page.Next, err, procIDs(tc.want))
		}
	}
	page, err := s.List(ctx, procedure.Filter{Status: procedure.StatusCompleted})
	if err != nil || len(page.Procedures) != 1 || !reflect.DeepEqual(page.Procedures[0], oldest) {
		t.Fatalf("the listed procedure differs from the recorded one: %+v, %v", page.Procedures, err)
	}

	// Pages of two, following the cursor, see each procedure once.
	var seen []uuid.UUID
	f := procedure.Filter{PatientID: pat, Limit: 2}
	for range 5 {
		page, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, procIDs(page.Procedures)...)
		if page.Next == "" {
			break
		}
		f.Cursor = page.Next
	}
	if want := procIDs([]procedure.Procedure{tomorrow, waiting, afternoon, oldest}); !slices.Equal(seen, want) {
		t.Fatalf("paged: %v, want %v", seen, want)
	}
	if _, err := s.List(ctx, procedure.Filter{Cursor: "not-a-cursor"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// The metrics read the summary of each procedure of the range as it
// stands now: those whose slot overlaps it, and those never scheduled that
// were requested within it.
func TestProcedureSummaries(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewProcedureStore(pool)
	pat := pgtest.Patient(t, pool)
	room := uuid.Must(uuid.NewV7())
	from, to := procNow.Add(24*time.Hour), procNow.Add(48*time.Hour)

	// Booked to start at 23:00 the day before the range and run into it.
	overnight := recordProc(t, s, procSlotted(storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityUrgent)),
		from.Add(-time.Hour), room))
	// Booked within the range, then done late.
	done := procSlotted(storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityElective)), from.Add(2*time.Hour), room)
	started := procStep(done, procedure.EventStarted, procedure.StatusInProgress, from.Add(2*time.Hour+30*time.Minute))
	started.StartedAt = &started.UpdatedAt
	done = recordProc(t, s, procStep(started, procedure.EventCompleted, procedure.StatusCompleted, from.Add(4*time.Hour)))
	// Requested within the range, never scheduled.
	waiting := storedProc(t, s, newProc(t, pat, nil, from.Add(time.Hour), procedure.PriorityElective))
	// Requested within the range but booked after it, and before it ended.
	recordProc(t, s, procSlotted(storedProc(t, s, newProc(t, pat, nil, from.Add(time.Hour), procedure.PriorityElective)),
		to.Add(time.Hour), room))
	recordProc(t, s, procSlotted(storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityElective)),
		from.Add(-3*time.Hour), room))
	// Never scheduled, requested before the range.
	storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityElective))

	got, err := s.Summaries(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := []procedure.Summary{done.Summary(), waiting.Summary(), overnight.Summary()}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summaries:\n got %+v\nwant %+v", got, want)
	}
	if got[0].OnTime == nil || *got[0].OnTime || got[0].RoomID != room {
		t.Fatalf("the late case's summary: %+v", got[0])
	}
	if all, err := s.Summaries(ctx, time.Time{}, time.Time{}); err != nil || len(all) != 6 {
		t.Fatalf("every summary: %d, %v", len(all), err)
	}
}

// The migration goes down and up again cleanly: down takes the tables and
// btree_gist with it, and up again restores the exclusion constraint.
func TestProcedureMigrationDownAndUp(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := postgres.Connect(ctx, postgres.PoolConfig{URL: pgtest.NewDatabase(t), MaxConns: 2}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var version int64
	for _, src := range provider.ListSources() {
		if strings.HasSuffix(src.Path, "_procedures.sql") {
			version = src.Version
		}
	}
	if version == 0 {
		t.Fatal("no procedures migration")
	}
	objects := func() int {
		return countRows(t, pool, `SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('procedure_resources', 'procedures', 'procedure_allocations'))
			+ (SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist')`)
	}
	if n := objects(); n != 4 {
		t.Fatalf("%d of the three tables and the extension after up", n)
	}
	if _, err := provider.DownTo(ctx, version-1); err != nil {
		t.Fatalf("down: %v", err)
	}
	if n := objects(); n != 0 {
		t.Fatalf("%d of the tables and the extension survived down", n)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if n := objects(); n != 4 {
		t.Fatalf("%d of the three tables and the extension after up again", n)
	}

	// The constraint is back: two overlapping rows of one room are refused
	// by PostgreSQL itself, whoever writes them.
	pat := pgtest.Patient(t, pool)
	s := postgres.NewProcedureStore(pool)
	a := storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityElective))
	b := storedProc(t, s, newProc(t, pat, nil, procNow, procedure.PriorityElective))
	room := uuid.Must(uuid.NewV7())
	insert := `INSERT INTO procedure_allocations (procedure_id, kind, resource_id, starts_at, ends_at, turnover, state, priority, during)
		VALUES ($1, 'room', $2, $3, $4, '30 minutes', 'booked', 'elective', tstzrange($3::timestamptz, $4::timestamptz + interval '30 minutes'))`
	if _, err := pool.Exec(ctx, insert, a.Request.ID, room, procNow, procNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// It starts during the first one's turnover.
	_, err = pool.Exec(ctx, insert, b.Request.ID, room, procNow.Add(80*time.Minute), procNow.Add(2*time.Hour))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23P01" || pgErr.ConstraintName != "procedure_allocations_no_overlap" {
		t.Fatalf("an overlapping row: %v", err)
	}
	if _, err := pool.Exec(ctx, insert, b.Request.ID, room, procNow.Add(90*time.Minute), procNow.Add(2*time.Hour)); err != nil {
		t.Fatalf("a row after the turnover: %v", err)
	}
}
