package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/subscription"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/integrations/webhook"
)

const secret = "whsec-0123456789abcdef"

// clock is a test's time, moved on by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// received is one request the receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is an httptest server answering with the statuses in order
// (the last one repeats) and keeping what it received.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []received
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body})
		status := r.statuses[min(len(r.got), len(r.statuses))-1]
		r.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type env struct {
	store    *postgres.SubscriptionStore
	enqueuer *webhook.Enqueuer
	clock    *clock
	deliver  *webhook.Deliverer
}

func newEnv(t *testing.T, allowPrivate bool) *env {
	pool := pgtest.NewPool(t)
	store := postgres.NewSubscriptionStore(pool)
	// Ahead of the wall clock the enqueuer stamps deliveries with, so what
	// it enqueues is due.
	c := &clock{t: time.Now().UTC().Add(time.Second).Truncate(time.Second)}
	return &env{store: store, enqueuer: webhook.NewEnqueuer(store, nil), clock: c,
		deliver: webhook.NewDeliverer(store, webhook.NewClient(allowPrivate), nil, webhook.WithClock(c.now))}
}

func (e *env) subscribe(t *testing.T, endpoint string, types ...string) subscription.Subscription {
	t.Helper()
	s := subscription.Subscription{ID: uuid.Must(uuid.NewV7()), Name: "Registry", EventTypes: types, Endpoint: endpoint,
		Secret: secret, Status: subscription.StatusActive, CreatedBy: "ops", CreatedAt: e.clock.now()}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Create(context.Background(), nil, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// event is one of our CloudEvents as the relay publishes it.
func event(typ string, patient uuid.UUID) (uuid.UUID, []byte) {
	id := uuid.Must(uuid.NewV7())
	return id, []byte(`{"specversion":"1.0","id":"` + id.String() + `","source":"/v1/observations","type":"` + typ +
		`","subject":"Observation/1","time":"2026-03-01T09:00:00Z","datacontenttype":"application/json","partitionkey":"` +
		patient.String() + `","data":{"patientId":"` + patient.String() + `","category":"vital-signs","code":"8867-4"}}`)
}

func (e *env) handle(t *testing.T, body []byte) {
	t.Helper()
	if err := e.enqueuer.HandleEvent(context.Background(), body); err != nil {
		t.Fatal(err)
	}
}

// deliverDue runs one round of the deliverer and reports how many it sent.
func (e *env) deliverDue(t *testing.T) int {
	t.Helper()
	n, err := e.deliver.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func deliveries(t *testing.T, store *postgres.SubscriptionStore, sub uuid.UUID) []subscription.Delivery {
	t.Helper()
	page, err := store.ListDeliveries(context.Background(), subscription.DeliveryFilter{SubscriptionID: sub, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return page.Deliveries
}

// A matching event reaches the receiver once per subscription, signed
// with the subscription's secret, even when it is handled twice; an event
// of another type does not.
func TestDeliverySignedOncePerSubscription(t *testing.T) {
	e := newEnv(t, true)
	r := newReceiver(t, http.StatusNoContent)
	sub := e.subscribe(t, r.URL+"/hooks", "observation.*")
	e.subscribe(t, r.URL+"/notes", "note.created")
	id, body := event("observation.recorded", uuid.New())
	e.handle(t, body)
	e.handle(t, body)
	_, other := event("encounter.started", uuid.New())
	e.handle(t, other)

	if n := e.deliverDue(t); n != 1 {
		t.Fatalf("%d deliveries sent, want 1", n)
	}
	if n := e.deliverDue(t); n != 0 {
		t.Fatalf("%d sent again", n)
	}
	got := r.requests()
	if len(got) != 1 {
		t.Fatalf("received %d requests", len(got))
	}
	h := got[0].header
	if err := subscription.Verify(secret, h.Get(subscription.HeaderSignature), got[0].body, time.Now(), subscription.SignatureTolerance); err != nil {
		t.Fatalf("the signature does not verify: %v (%s)", err, h.Get(subscription.HeaderSignature))
	}
	if err := subscription.Verify("another secret of ours", h.Get(subscription.HeaderSignature), got[0].body, time.Now(), time.Hour); err == nil {
		t.Fatal("the signature verifies with another secret")
	}
	if h.Get(subscription.HeaderEventID) != id.String() || h.Get(subscription.HeaderEventType) != "observation.recorded" ||
		h.Get("Content-Type") != "application/cloudevents+json; charset=UTF-8" {
		t.Fatalf("headers: %v", h)
	}
	d := deliveries(t, e.store, sub.ID)
	if len(d) != 1 || d[0].Status != subscription.DeliveryDelivered || d[0].Attempt != 1 || *d[0].HTTPStatus != 204 {
		t.Fatalf("the delivery: %+v", d)
	}
}

// A receiver answering 500 is retried after the policy's delays — not
// before — until it answers 200; a replay sends the event again, with the
// same id.
func TestDeliveryRetriesWithBackoffThenReplay(t *testing.T) {
	e := newEnv(t, true)
	r := newReceiver(t, 500, 500, 200)
	sub := e.subscribe(t, r.URL, "observation.recorded")
	id, body := event("observation.recorded", uuid.New())
	e.handle(t, body)

	if e.deliverDue(t) != 1 {
		t.Fatal("the first attempt was not made")
	}
	d := deliveries(t, e.store, sub.ID)[0]
	if d.Status != subscription.DeliveryFailed || d.Attempt != 1 || *d.HTTPStatus != 500 || d.Error != "HTTP 500" ||
		d.NextAttemptAt.Sub(e.clock.now()) != 10*time.Second {
		t.Fatalf("after the first 500: %+v", d)
	}
	e.clock.add(9 * time.Second)
	if n := e.deliverDue(t); n != 0 {
		t.Fatal("retried before its delay")
	}
	e.clock.add(time.Second)
	if e.deliverDue(t) != 1 {
		t.Fatal("not retried after 10 s")
	}
	if d = deliveries(t, e.store, sub.ID)[0]; d.Attempt != 2 || d.NextAttemptAt.Sub(e.clock.now()) != 30*time.Second {
		t.Fatalf("after the second 500: %+v", d)
	}
	e.clock.add(30 * time.Second)
	if e.deliverDue(t) != 1 {
		t.Fatal("not retried after 30 s")
	}
	if d = deliveries(t, e.store, sub.ID)[0]; d.Status != subscription.DeliveryDelivered || d.Attempt != 3 {
		t.Fatalf("after the 200: %+v", d)
	}
	if s, _ := e.store.Get(context.Background(), sub.ID); s.ConsecutiveFailures != 0 {
		t.Fatalf("failures after a delivery: %d", s.ConsecutiveFailures)
	}

	if _, err := e.store.Replay(context.Background(), nil, sub.ID, d.ID, e.clock.now()); err != nil {
		t.Fatal(err)
	}
	if e.deliverDue(t) != 1 {
		t.Fatal("the replay was not sent")
	}
	got := r.requests()
	if len(got) != 4 || got[3].header.Get(subscription.HeaderEventID) != id.String() || string(got[3].body) != string(got[0].body) {
		t.Fatalf("the replay: %d requests", len(got))
	}
}

// Ten failed attempts in a row pause the subscription: nothing more is
// sent to it until it is resumed.
func TestSubscriptionPausedAfterTenFailures(t *testing.T) {
	e := newEnv(t, true)
	r := newReceiver(t, http.StatusServiceUnavailable)
	sub := e.subscribe(t, r.URL, "observation.*")
	for range 10 {
		_, body := event("observation.recorded", uuid.New())
		e.handle(t, body)
	}
	if n := e.deliverDue(t); n != 10 {
		t.Fatalf("%d attempts, want 10", n)
	}
	s, err := e.store.Get(context.Background(), sub.ID)
	if err != nil || s.Status != subscription.StatusPaused || s.ConsecutiveFailures != 10 || s.PausedReason == "" {
		t.Fatalf("after ten failures: %+v %v", s, err)
	}
	e.clock.add(time.Hour)
	if n := e.deliverDue(t); n != 0 || len(r.requests()) != 10 {
		t.Fatalf("sent to a paused subscription: %d", n)
	}
}

// A redirect is not followed: the 302 is the attempt's answer, a failure.
func TestRedirectNotFollowed(t *testing.T) {
	e := newEnv(t, true)
	r := newReceiver(t, http.StatusFound, http.StatusOK)
	sub := e.subscribe(t, r.URL, "observation.*")
	_, body := event("observation.recorded", uuid.New())
	e.handle(t, body)
	e.deliverDue(t)
	if got := r.requests(); len(got) != 1 {
		t.Fatalf("the redirect was followed: %d requests", len(got))
	}
	d := deliveries(t, e.store, sub.ID)[0]
	if d.Status != subscription.DeliveryFailed || *d.HTTPStatus != http.StatusFound {
		t.Fatalf("after a 302: %+v", d)
	}
}

// Without allowPrivate the endpoint check refuses our own machine, the
// private network and the metadata service, and the client refuses to
// dial them even when the name was let through (DNS rebinding).
func TestPrivateAddressesRefused(t *testing.T) {
	for _, url := range []string{"https://127.0.0.1/h", "https://10.0.0.1/h", "http://169.254.169.254/latest/meta-data",
		"https://[::1]/h", "http://localhost/h"} {
		if err := subscription.CheckEndpoint(context.Background(), nil, url, false); !errors.Is(err, subscription.ErrForbiddenAddress) {
			t.Errorf("%s: %v", url, err)
		}
	}
	e := newEnv(t, false)
	r := newReceiver(t, http.StatusOK)
	sub := e.subscribe(t, r.URL, "observation.*") // stored directly, as if its name had resolved elsewhere
	_, body := event("observation.recorded", uuid.New())
	e.handle(t, body)
	e.deliverDue(t)
	if len(r.requests()) != 0 {
		t.Fatal("a loopback receiver was reached")
	}
	d := deliveries(t, e.store, sub.ID)[0]
	if d.Status != subscription.DeliveryFailed || d.HTTPStatus != nil || d.Error == "" {
		t.Fatalf("a refused dial: %+v", d)
	}
}

// What is not one of our CloudEvents is skipped, never retried.
func TestEnqueuerSkipsWhatIsNoEvent(t *testing.T) {
	e := newEnv(t, true)
	for _, body := range []string{`not json`, `{"type":"x.y"}`, `{"id":"` + uuid.NewString() + `"}`, `{"id":"1","type":"x.y","data":[1]}`} {
		if err := e.enqueuer.HandleEvent(context.Background(), []byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}
