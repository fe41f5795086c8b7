package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/subscription"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var subNow = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func subRecord(action audit.Action) *audit.Record {
	return &audit.Record{ID: uuid.Must(uuid.NewV7()), Time: subNow, Actor: audit.Actor{Subject: "ops", ClientID: "ops"},
		Action: action, Method: "POST", Route: "/v1/integration/subscriptions", Status: 201,
		Purpose: audit.DefaultPurpose, Outcome: audit.OutcomeSuccess}
}

func newSub(t *testing.T, store *postgres.SubscriptionStore, types ...string) subscription.Subscription {
	t.Helper()
	s := subscription.Subscription{ID: uuid.Must(uuid.NewV7()), Name: "Registry", EventTypes: types,
		Endpoint: "https://registry.example.org/h", Secret: "0123456789abcdef", Status: subscription.StatusActive,
		CreatedBy: "ops", CreatedAt: subNow}
	rec := subRecord(audit.ActionCreate)
	if err := store.Create(context.Background(), rec, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func subEvent(typ string, patient uuid.UUID, category string) subscription.Event {
	id := uuid.Must(uuid.NewV7())
	return subscription.Event{ID: id, Type: typ, PatientID: patient, Category: category,
		Payload: json.RawMessage(`{"id":"` + id.String() + `","type":"` + typ + `"}`)}
}

// A subscription is kept with its audit record, listed, changed over its
// version only, and deleted with its deliveries.
func TestSubscriptionStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewSubscriptionStore(pool)
	patient := uuid.New()
	s := subscription.Subscription{ID: uuid.Must(uuid.NewV7()), Name: "Registry", EventTypes: []string{"observation.*"},
		PatientID: &patient, Category: "vital-signs", Endpoint: "https://registry.example.org/h",
		Secret: "0123456789abcdef", Status: subscription.StatusActive, CreatedBy: "ops", CreatedAt: subNow}
	rec := subRecord(audit.ActionCreate)
	if err := store.Create(ctx, rec, s); err != nil {
		t.Fatal(err)
	}
	if n := auditCount(t, pool, rec.ID); n != 1 {
		t.Fatalf("the create's audit record: %d", n)
	}
	got, err := store.Get(ctx, s.ID)
	if err != nil || got.Version != 1 || got.Secret != s.Secret || *got.PatientID != patient || got.Category != "vital-signs" ||
		len(got.EventTypes) != 1 || got.EventTypes[0] != "observation.*" {
		t.Fatalf("get: %+v %v", got, err)
	}
	other := newSub(t, store, "note.created")
	page, err := store.List(ctx, subscription.Filter{Limit: 1})
	if err != nil || len(page.Subscriptions) != 1 || page.Subscriptions[0].ID != other.ID || page.Next == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = store.List(ctx, subscription.Filter{Limit: 1, Cursor: page.Next})
	if err != nil || len(page.Subscriptions) != 1 || page.Subscriptions[0].ID != s.ID || page.Next != "" {
		t.Fatalf("second page: %+v %v", page, err)
	}

	got.Status, got.PausedReason, got.UpdatedAt = subscription.StatusPaused, "maintenance", subNow.Add(time.Minute)
	if _, err := store.Update(ctx, nil, got, 7); !errors.Is(err, domain.ErrVersionMismatch) {
		t.Fatalf("a stale version: %v", err)
	}
	updated, err := store.Update(ctx, subRecord(audit.ActionUpdate), got, 1)
	if err != nil || updated.Version != 2 || updated.Status != subscription.StatusPaused || updated.PausedReason != "maintenance" {
		t.Fatalf("pause: %+v %v", updated, err)
	}
	if page, _ := store.List(ctx, subscription.Filter{Status: subscription.StatusPaused}); len(page.Subscriptions) != 1 {
		t.Fatalf("paused ones: %+v", page)
	}

	if _, err := store.Enqueue(ctx, subEvent("observation.recorded", patient, "vital-signs"), subNow); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, subRecord(audit.ActionDelete), s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, s.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := store.Delete(ctx, nil, s.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	if _, err := store.Update(ctx, nil, got, 2); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("update after delete: %v", err)
	}
}

// An event is enqueued once for each subscription it matches, however
// often it is handled; the deliverer claims a due delivery once per lease;
// failed attempts pause the subscription at the limit; a replay sends the
// delivery again.
func TestSubscriptionStoreDeliveries(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewSubscriptionStore(pool)
	obs := newSub(t, store, "observation.*")
	notes := newSub(t, store, "note.created")
	patient := uuid.New()

	ev := subEvent("observation.recorded", patient, "laboratory")
	for i, want := range []int{1, 0} {
		if n, err := store.Enqueue(ctx, ev, subNow); err != nil || n != want {
			t.Fatalf("enqueue %d: %d added, %v", i+1, n, err)
		}
	}
	page, err := store.ListDeliveries(ctx, subscription.DeliveryFilter{SubscriptionID: obs.ID})
	if err != nil || len(page.Deliveries) != 1 || page.Deliveries[0].EventID != ev.ID || page.Deliveries[0].Status != subscription.DeliveryPending {
		t.Fatalf("the observation subscription's deliveries: %+v %v", page, err)
	}
	if page, _ := store.ListDeliveries(ctx, subscription.DeliveryFilter{SubscriptionID: notes.ID}); len(page.Deliveries) != 0 {
		t.Fatalf("the note subscription got %+v", page.Deliveries)
	}

	if due, err := store.Due(ctx, subNow.Add(-time.Second), 10, time.Minute); err != nil || len(due) != 0 {
		t.Fatalf("due before its time: %v %v", due, err)
	}
	due, err := store.Due(ctx, subNow, 10, time.Minute)
	if err != nil || len(due) != 1 || due[0].Endpoint != obs.Endpoint || due[0].Secret != obs.Secret || len(due[0].Payload) == 0 {
		t.Fatalf("due: %+v %v", due, err)
	}
	if again, _ := store.Due(ctx, subNow.Add(30*time.Second), 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed twice within the lease: %+v", again)
	}

	// Ten failures in a row over several deliveries pause the subscription.
	for i := range 9 {
		e := subEvent("observation.amended", patient, "")
		if _, err := store.Enqueue(ctx, e, subNow); err != nil {
			t.Fatal(err)
		}
		d, _ := store.ListDeliveries(ctx, subscription.DeliveryFilter{SubscriptionID: obs.ID, Limit: 1})
		paused, err := store.RecordAttempt(ctx, subscription.Outcome{DeliveryID: d.Deliveries[0].ID, SubscriptionID: obs.ID, Attempt: 1,
			Status: subscription.DeliveryFailed, HTTPStatus: 500, Error: "HTTP 500", At: subNow, NextAttemptAt: subNow.Add(time.Hour)}, 10)
		if err != nil || paused {
			t.Fatalf("failure %d: paused %v, %v", i+1, paused, err)
		}
	}
	paused, err := store.RecordAttempt(ctx, subscription.Outcome{DeliveryID: due[0].ID, SubscriptionID: obs.ID, Attempt: 1,
		Status: subscription.DeliveryFailed, Error: "connection refused", At: subNow, NextAttemptAt: subNow.Add(10 * time.Second)}, 10)
	if err != nil || !paused {
		t.Fatalf("the tenth failure: paused %v, %v", paused, err)
	}
	s, _ := store.Get(ctx, obs.ID)
	if s.Status != subscription.StatusPaused || s.ConsecutiveFailures != 10 || s.Version != 2 || s.PausedReason == "" {
		t.Fatalf("after ten failures: %+v", s)
	}
	if due, _ := store.Due(ctx, subNow.Add(2*time.Hour), 10, time.Minute); len(due) != 0 {
		t.Fatalf("a paused subscription's deliveries are claimed: %+v", due)
	}
	// A paused subscription's events wait for it.
	if n, err := store.Enqueue(ctx, subEvent("observation.recorded", patient, ""), subNow); err != nil || n != 1 {
		t.Fatalf("enqueued for the paused subscription: %d %v", n, err)
	}

	// Resumed, delivered: the count starts again.
	s.Status = subscription.StatusActive
	if s, err = store.Update(ctx, nil, s, s.Version); err != nil || s.ConsecutiveFailures != 0 || s.PausedReason != "" {
		t.Fatalf("resume: %+v %v", s, err)
	}
	if _, err := store.RecordAttempt(ctx, subscription.Outcome{DeliveryID: due[0].ID, SubscriptionID: obs.ID, Attempt: 2,
		Status: subscription.DeliveryDelivered, HTTPStatus: 204, At: subNow.Add(time.Minute)}, 10); err != nil {
		t.Fatal(err)
	}
	delivered, err := store.ListDeliveries(ctx, subscription.DeliveryFilter{SubscriptionID: obs.ID, Status: subscription.DeliveryDelivered})
	if err != nil || len(delivered.Deliveries) != 1 {
		t.Fatalf("delivered: %+v %v", delivered, err)
	}
	d := delivered.Deliveries[0]
	if d.Attempt != 2 || d.HTTPStatus == nil || *d.HTTPStatus != 204 || d.DeliveredAt == nil || d.NextAttemptAt != nil {
		t.Fatalf("a delivered delivery: %+v", d)
	}

	rec := subRecord(audit.ActionUpdate)
	replayed, err := store.Replay(ctx, rec, obs.ID, d.ID, subNow.Add(time.Hour))
	if err != nil || replayed.Status != subscription.DeliveryPending || replayed.Attempt != 0 || replayed.NextAttemptAt == nil {
		t.Fatalf("replay: %+v %v", replayed, err)
	}
	if n := auditCount(t, pool, rec.ID); n != 1 {
		t.Fatalf("the replay's audit record: %d", n)
	}
	if _, err := store.Replay(ctx, nil, notes.ID, d.ID, subNow); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("a replay under another subscription: %v", err)
	}
	if _, err := store.ListDeliveries(ctx, subscription.DeliveryFilter{SubscriptionID: obs.ID, Cursor: "zzz"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Fatalf("a bad cursor: %v", err)
	}
}
