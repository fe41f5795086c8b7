package notify_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// raiser records the records it is asked to raise review alerts for; it
// fails the first failures[id] asks for a record, and refuses those in
// refused for good.
type raiser struct {
	mu       sync.Mutex
	asked    []uuid.UUID
	failures map[uuid.UUID]int
	refused  map[uuid.UUID]bool
}

func (r *raiser) RaiseBreakGlass(_ context.Context, id uuid.UUID) (alert.Raised, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, id)
	if r.failures[id] > 0 {
		r.failures[id]--
		return alert.Raised{}, errors.New("temporal is not answering")
	}
	if r.refused[id] {
		verr := &domain.ValidationError{}
		verr.Add("patientId", "names no patient")
		return alert.Raised{}, verr
	}
	return alert.Raised{Record: alert.Record{ID: uuid.NewSHA1(uuid.NameSpaceOID, id[:])}, Created: true}, nil
}

func (r *raiser) times(id uuid.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.asked {
		if a == id {
			n++
		}
	}
	return n
}

func (r *raiser) all() []uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.asked)
}

// runBreakGlass runs a break-the-glass consumer until the test ends, or
// until the returned stop is called.
func runBreakGlass(t *testing.T, brokers []string, r notify.BreakGlassRaiser) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- notify.NewBreakGlassConsumer(brokers, r, testLogger(t)).Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("break-glass consumer did not stop within 20s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// A break-the-glass read, recorded in the audit trail and relayed from the
// outbox, asks for the review alert of its record; the dispatcher, in its
// own group, goes on delivering notifications while a raise is retried.
func TestBreakGlassAccessAsksForItsReviewAlert(t *testing.T) {
	if notify.EventBreakGlass != postgres.EventBreakGlassAlert {
		t.Fatalf("the consumer reads %q, the audit trail publishes %q", notify.EventBreakGlass, postgres.EventBreakGlassAlert)
	}
	e := newEnv(t)
	pool := pgtest.NewPool(t)
	patient := uuid.Must(uuid.NewV7())
	read := audit.Record{ID: uuid.Must(uuid.NewV7()), Action: audit.ActionRead, Outcome: audit.OutcomeSuccess,
		EntityType: "Patient", EntityID: patient.String(), PatientID: &patient, Purpose: audit.DefaultPurpose,
		Actor: audit.Actor{Subject: "er-doctor", ClientID: "er-app"}, BreakGlass: "unconscious patient in resus"}
	plain := read
	plain.ID, plain.BreakGlass = uuid.Must(uuid.NewV7()), ""
	if err := postgres.NewAuditStore(pool).Append(context.Background(), plain, read); err != nil {
		t.Fatal(err)
	}
	outbox := postgres.NewOutboxReader(pool)
	defer outbox.Close()
	relayCtx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan error, 1)
	go func() { relayDone <- kafka.NewRelay(outbox, e.pub, testLogger(t)).Run(relayCtx) }()
	defer func() { stopRelay(); <-relayDone }()

	// Temporal fails the first two raises of the read; a record naming no
	// patient is refused for good.
	late, orphan := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	r := &raiser{failures: map[uuid.UUID]int{read.ID: 2}, refused: map[uuid.UUID]bool{orphan: true}}
	stop := runBreakGlass(t, []string{e.broker.Addr()}, r)
	sms := startProvider(t, 200)
	e.run(t, fastRetries(sms.srv.URL, ""))

	byData := event(notify.EventBreakGlass, patient.String(), map[string]string{"id": late.String()})
	refused := event(notify.EventBreakGlass, patient.String(), map[string]string{"id": orphan.String()})
	refused.Subject = "AuditEvent/" + orphan.String()
	ev, req := request(notification.ChannelSMS, "+8801711000006")
	ev.Key = patient.String()
	e.publish(t, byData, refused, ev)

	e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	eventually(t, 30*time.Second, "every review alert asked for", func() bool {
		return r.times(read.ID) == 3 && r.times(late) == 1 && r.times(orphan) == 1
	})
	if slices.Contains(r.all(), plain.ID) {
		t.Errorf("a read without break-the-glass asked for a review: %v", r.all())
	}

	// Committed: a consumer starting again in the group reads none of them.
	stop()
	again := &raiser{}
	runBreakGlass(t, []string{e.broker.Addr()}, again)
	next := event(notify.EventBreakGlass, patient.String(), map[string]string{})
	nextID := uuid.Must(uuid.NewV7())
	next.Subject = "AuditEvent/" + nextID.String()
	e.publish(t, next)
	eventually(t, 30*time.Second, "the next access", func() bool { return again.times(nextID) == 1 })
	if got := again.all(); len(got) != 1 {
		t.Errorf("the second consumer asked for %v, want only the next access", got)
	}
}
