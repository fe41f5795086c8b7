package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/note"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// The note: 90,000 '<' and two sections of 40,000, about 1 MB once
// the relay escapes each '<' as \u003c. The note is stored whole; its event
// is written by reference, under the cap, naming the note and linking to it.
func TestOversizedNoteEventTravelsByReference(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	notes := postgres.NewNoteStore(pool)
	enc, patient := encounterOf(t, pool)
	author := uuid.New()
	n, err := note.NewNote(uuid.Must(uuid.NewV7()), enc, patient, note.TypeProgress, author, strings.Repeat("<", 90_000),
		[]note.Section{{Title: "history", Text: strings.Repeat("<", 40_000)}, {Title: "plan", Text: strings.Repeat("<", 40_000)}}, noteNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Create(ctx, nil, n); err != nil {
		t.Fatalf("create the long note: %v", err)
	}
	small := newDraft(t, notes, enc, patient, author, nil)
	if stored, err := notes.Get(ctx, n.ID); err != nil || len(stored.Text) != 90_000 {
		t.Fatalf("the note itself is not stored whole: %v", err)
	}

	reader := postgres.NewOutboxReader(pool)
	defer reader.Close()
	unsent, err := reader.Unsent(ctx, 10)
	var events []postgres.OutboxEvent // the notes', after the patient's and the encounter's
	for _, e := range unsent {
		if strings.HasPrefix(e.Type, "note.") {
			events = append(events, e)
		}
	}
	if err != nil || len(events) != 2 {
		t.Fatalf("unsent = %d events, %v; want both notes' events", len(events), err)
	}
	for _, e := range events {
		size, err := postgres.EventSize(e)
		if err != nil || size > outbox.MaxEventBytes {
			t.Errorf("event %s is %d bytes (%v), over the %d cap", e.Type, size, err, outbox.MaxEventBytes)
		}
	}
	var ref map[string]any
	if err := json.Unmarshal(events[0].Data, &ref); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"contentOmitted": true, "reason": "size", "eventType": "note.created",
		"subject": "DocumentReference/" + n.ID.String(), "link": "/v1/clinical/notes/" + n.ID.String(),
		"id": n.ID.String(), "encounterId": enc.String(), "patientId": patient.String(), "authorId": author.String(),
	}
	for k, v := range want {
		if ref[k] != v {
			t.Errorf("reference %s = %v, want %v", k, ref[k], v)
		}
	}
	if size, _ := ref["omittedBytes"].(float64); size < 1_000_000 {
		t.Errorf("omittedBytes = %v, want the escaped size (over 1 MB)", ref["omittedBytes"])
	}
	if _, ok := ref["text"]; ok {
		t.Error("the reference carries the note's text")
	}
	// A note of ordinary size travels whole.
	var whole note.Note
	if err := json.Unmarshal(events[1].Data, &whole); err != nil || whole.ID != small.ID || whole.Text != small.Text {
		t.Errorf("the small note's event is not the note: %s", events[1].Data)
	}
}

// An audit record over the cap (a long description) is published by
// reference too, and stored whole.
func TestOversizedAuditEventTravelsByReference(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	id := uuid.Must(uuid.NewV7())
	rec := audit.Record{ID: id, Actor: audit.Actor{Subject: "s", ClientID: "c"}, Action: audit.ActionRead,
		EntityType: "Patient", Outcome: audit.OutcomeSuccess, Description: strings.Repeat("&", 60_000)}
	if err := postgres.NewAuditStore(pool).Append(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT data FROM outbox WHERE id = $1`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	if data["contentOmitted"] != true || data["link"] != "/v1/audit/events/"+id.String() || data["id"] != id.String() {
		t.Fatalf("audit event data: %s", raw)
	}
}

// A dead letter leaves the outbox, is listed, and is requeued once, with
// who and why, into the outbox under its own id; refused again, it is dead
// again with the attempts of both rounds.
func TestDeadLetterRequeue(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	reader := postgres.NewOutboxReader(pool)
	defer reader.Close()
	store := postgres.NewDeadLetterStore(pool)
	patient := uuid.New()
	var events []postgres.OutboxEvent
	for i := range 3 {
		events = append(events, testEvent(t, patient.String(), i))
	}
	if err := postgres.AppendOutbox(ctx, pool, events...); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := reader.DeadLetter(ctx, e.ID, 1234, "[10] Message Size Too Large", 3); err != nil {
			t.Fatal(err)
		}
	}
	if unsent, err := reader.Unsent(ctx, 10); err != nil || len(unsent) != 0 {
		t.Fatalf("dead letters still unsent: %d %v", len(unsent), err)
	}
	if n, err := reader.DeadLetterCount(ctx); err != nil || n != 3 {
		t.Fatalf("dead letter count = %d, %v", n, err)
	}

	first, err := store.List(ctx, outbox.DeadLetterFilter{Limit: 2})
	if err != nil || len(first.DeadLetters) != 2 || first.Next == "" {
		t.Fatalf("first page: %+v %v", first, err)
	}
	second, err := store.List(ctx, outbox.DeadLetterFilter{Limit: 2, Cursor: first.Next})
	if err != nil || len(second.DeadLetters) != 1 || second.Next != "" {
		t.Fatalf("second page: %+v %v", second, err)
	}
	if _, err := store.List(ctx, outbox.DeadLetterFilter{Cursor: "nonsense"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
	d := second.DeadLetters[0]
	if d.Status != outbox.StatusDead || d.Attempts != 3 || d.Size != 1234 || d.Key != patient.String() || d.Error == "" {
		t.Fatalf("dead letter %+v", d)
	}

	rec := audit.Record{Actor: audit.Actor{Subject: "operator", ClientID: "ops"}, Action: audit.ActionUpdate,
		Outcome: audit.OutcomeSuccess, Description: "requeue: broker limit raised"}
	requeued, err := store.Requeue(ctx, d.ID, &rec, "operator", "broker limit raised")
	if err != nil {
		t.Fatal(err)
	}
	if requeued.Status != outbox.StatusRequeued || requeued.RequeuedBy != "operator" || requeued.RequeueReason != "broker limit raised" || requeued.RequeuedAt == nil {
		t.Fatalf("requeued %+v", requeued)
	}
	unsent, err := reader.Unsent(ctx, 10)
	if err != nil || len(unsent) != 2 || unsent[0].ID != d.ID || unsent[1].Topic != postgres.AuditTopic {
		t.Fatalf("unsent after the requeue: %v %v; want the event, then the requeue's audit event", ids(unsent), err)
	}
	var audited int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE entity_id = $1 AND patient_id = $2 AND actor_subject = 'operator'`,
		d.ID.String(), patient).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("requeue audited %d times (%v)", audited, err)
	}
	if _, err := store.Requeue(ctx, d.ID, nil, "operator", ""); !errors.Is(err, outbox.ErrAlreadyRequeued) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second requeue: %v", err)
	}
	if _, err := store.Requeue(ctx, uuid.New(), nil, "operator", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown dead letter: %v", err)
	}

	// Refused again.
	if err := reader.DeadLetter(ctx, d.ID, 1234, "[10] Message Size Too Large", 2); err != nil {
		t.Fatal(err)
	}
	page, err := store.List(ctx, outbox.DeadLetterFilter{Status: outbox.StatusDead})
	if err != nil || len(page.DeadLetters) != 3 || page.DeadLetters[0].ID != d.ID || page.DeadLetters[0].Attempts != 5 {
		t.Fatalf("dead again: %+v %v", page.DeadLetters, err)
	}
}
