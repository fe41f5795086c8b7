package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// Subscribers share one LISTEN connection and are woken by practitioner;
// when the connection dies the hub listens again and wakes them (items may
// have arrived in the gap); after the last subscriber leaves it closes.
func TestInboxSubscribersShareOneListener(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewNotificationStore(pool)
	listeners := func() (n int, pid int) {
		if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(max(pid), 0) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN inbox'`).Scan(&n, &pid); err != nil {
			t.Fatal(err)
		}
		return n, pid
	}
	wake := func(ch <-chan notification.InboxEvent, want string) {
		t.Helper()
		select {
		case ev, ok := <-ch:
			if !ok || ev.PractitionerID != want {
				t.Fatalf("woken with %+v (open %v), want %s", ev, ok, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up for %s", want)
		}
	}
	quiet := func(ch <-chan notification.InboxEvent) {
		t.Helper()
		select {
		case ev := <-ch:
			t.Fatalf("unexpected wake-up %+v", ev)
		case <-time.After(300 * time.Millisecond):
		}
	}
	deliver := func(practitioner string) {
		t.Helper()
		n := newNotification(notification.ChannelInApp, practitioner)
		if _, err := s.Accept(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddInboxItem(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
	}

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var chans []<-chan notification.InboxEvent
	for range 20 {
		ch, err := s.SubscribeInbox(subCtx, "prac-1")
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	other, err := s.SubscribeInbox(subCtx, "prac-2")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := listeners(); n != 1 {
		t.Fatalf("21 subscribers use %d LISTEN connections, want 1", n)
	}
	deliver("prac-1")
	for _, ch := range chans {
		wake(ch, "prac-1")
	}
	quiet(other)

	// The listener's connection is killed: everyone is woken once it is back.
	_, pid := listeners()
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	wake(chans[0], "prac-1")
	wake(other, "prac-2")
	deliver("prac-2")
	wake(other, "prac-2")
	quiet(chans[0])

	cancel()
	for _, ch := range append(chans, other) {
		for range ch { // drain until closed
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := listeners(); n != 0; n, _ = listeners() {
		if time.Now().After(deadline) {
			t.Fatalf("%d LISTEN connections left after every subscriber left", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
