package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

func newNotification(channel, practitioner string) notification.Notification {
	return notification.Notification{
		ID:             uuid.Must(uuid.NewV7()),
		AlertID:        uuid.Must(uuid.NewV7()),
		PatientID:      uuid.Must(uuid.NewV7()),
		PractitionerID: practitioner,
		RecipientName:  "Dr. Akter",
		Channel:        channel,
		Address:        "akter@hospital.example",
		Subject:        "NEWS2 score 7",
		Body:           "Bed 4: NEWS2 7, review now.",
		Severity:       "urgent",
		Category:       "news2",
		Level:          1,
		CreatedAt:      time.Now().UTC().Truncate(time.Microsecond),
	}
}

func TestNotificationAcceptIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewNotificationStore(pgtest.NewPool(t))
	n := newNotification(notification.ChannelEmail, "prac-1")
	fresh, err := s.Accept(ctx, n)
	if err != nil || !fresh {
		t.Fatalf("first Accept = %v, %v; want true", fresh, err)
	}
	changed := n
	changed.Body = "something else"
	fresh, err = s.Accept(ctx, changed)
	if err != nil || fresh {
		t.Fatalf("second Accept = %v, %v; want false", fresh, err)
	}
	got, err := s.Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != n.Body || got.Status != notification.StatusQueued || got.Attempts != 0 || !got.CreatedAt.Equal(n.CreatedAt) {
		t.Errorf("stored %+v", got)
	}
	if _, err := s.Get(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}
}

func TestNotificationDueClaimsEachOnce(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewNotificationStore(pgtest.NewPool(t))
	want := map[uuid.UUID]bool{}
	for range 40 {
		n := newNotification(notification.ChannelSMS, "prac-1")
		if _, err := s.Accept(ctx, n); err != nil {
			t.Fatal(err)
		}
		want[n.ID] = true
	}
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				got, err := s.Due(ctx, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, n := range got {
					seen[n.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != len(want) {
		t.Errorf("claimed %d distinct, want %d", len(seen), len(want))
	}
	for id, c := range seen {
		if c != 1 || !want[id] {
			t.Errorf("notification %s claimed %d times", id, c)
		}
	}
	if depth, err := s.QueueDepth(ctx); err != nil || depth != 40 {
		t.Errorf("QueueDepth = %d, %v; want 40 (claimed, not settled)", depth, err)
	}
}

func TestNotificationAttemptsMoveItOn(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewNotificationStore(pgtest.NewPool(t), postgres.WithClaimLease(time.Hour))
	n := newNotification(notification.ChannelSMS, "prac-1")
	if _, err := s.Accept(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Due(ctx, 10); len(got) != 1 {
		t.Fatalf("Due = %d, want 1", len(got))
	}
	if got, _ := s.Due(ctx, 10); len(got) != 0 {
		t.Fatalf("claimed notification due again within its lease")
	}
	// Failed, retry due in the past: due again.
	a, err := s.RecordAttempt(ctx, n.ID, notification.AttemptResult{Outcome: notification.AttemptFailed, Detail: "503", NextAttemptAt: time.Now().Add(-time.Second)})
	if err != nil || a != 1 {
		t.Fatalf("RecordAttempt = %d, %v", a, err)
	}
	due, _ := s.Due(ctx, 10)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].Status != notification.StatusFailed || due[0].LastError != "503" {
		t.Fatalf("after failure Due = %+v", due)
	}
	// Failed, retry in the future: not due, but NextDue says when.
	retryAt := time.Now().Add(time.Minute)
	if _, err := s.RecordAttempt(ctx, n.ID, notification.AttemptResult{Outcome: notification.AttemptFailed, Detail: "timeout", NextAttemptAt: retryAt}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Due(ctx, 10); len(got) != 0 {
		t.Fatalf("notification due before its retry time")
	}
	next, ok, err := s.NextDue(ctx)
	if err != nil || !ok || next.Sub(retryAt).Abs() > time.Millisecond {
		t.Errorf("NextDue = %v, %v, %v; want %v", next, ok, err, retryAt)
	}
	if _, err := s.RecordAttempt(ctx, n.ID, notification.AttemptResult{Outcome: notification.AttemptDelivered, Detail: "prov-42"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, a := range got.AttemptLog {
		outcomes = append(outcomes, a.Outcome)
	}
	if got.Status != notification.StatusDelivered || got.Attempts != 3 || got.Receipt != "prov-42" || got.DeliveredAt == nil ||
		!slices.Equal(outcomes, []string{"failed", "failed", "delivered"}) || got.AttemptLog[1].Detail != "timeout" {
		t.Errorf("after delivery %+v", got)
	}
	// Final: no further attempt is taken.
	if _, err := s.RecordAttempt(ctx, n.ID, notification.AttemptResult{Outcome: notification.AttemptDelivered}); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("attempt on delivered notification: %v, want ErrConflict", err)
	}
	if _, err := s.RecordAttempt(ctx, uuid.Must(uuid.NewV7()), notification.AttemptResult{Outcome: notification.AttemptDead}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("attempt on unknown notification: %v, want ErrNotFound", err)
	}
	if _, ok, _ := s.NextDue(ctx); ok {
		t.Error("NextDue reports a notification waiting")
	}

	st, err := s.DeliveryStatus(ctx, n.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].NotificationID != n.ID || st[0].Status != "delivered" || st[0].Attempts != 3 || st[0].Channel != "sms" {
		t.Errorf("DeliveryStatus = %+v", st)
	}
}

func TestNotificationReleaseMakesItDueAgain(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewNotificationStore(pgtest.NewPool(t), postgres.WithClaimLease(time.Hour))
	n := newNotification(notification.ChannelPush, "prac-1")
	if _, err := s.Accept(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Due(ctx, 1); len(got) != 1 {
		t.Fatal("not claimed")
	}
	if err := s.Release(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Due(ctx, 1); len(got) != 1 || got[0].Attempts != 0 {
		t.Fatalf("released notification not due: %+v", got)
	}
}

func TestInboxDeliveryListingAndStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := postgres.NewNotificationStore(pgtest.NewPool(t))
	events, err := s.ListenInbox(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var ids []uuid.UUID
	for range 5 {
		n := newNotification(notification.ChannelInApp, "prac-7")
		n.Address = ""
		if _, err := s.Accept(ctx, n); err != nil {
			t.Fatal(err)
		}
		item, err := s.AddInboxItem(ctx, n.ID)
		if err != nil {
			t.Fatal(err)
		}
		if item.NotificationID != n.ID || item.PractitionerID != "prac-7" || item.Subject != n.Subject || item.ReadAt != nil {
			t.Errorf("inbox item %+v", item)
		}
		again, err := s.AddInboxItem(ctx, n.ID) // delivered once only
		if err != nil || again.ID != item.ID {
			t.Errorf("second AddInboxItem = %v, %v; want the same item", again.ID, err)
		}
		got, _ := s.Get(ctx, n.ID)
		if got.Status != notification.StatusDelivered || got.Attempts != 1 {
			t.Errorf("inapp notification %s: status %s, attempts %d", n.ID, got.Status, got.Attempts)
		}
		ids = append(ids, item.ID)
	}
	other := newNotification(notification.ChannelInApp, "prac-8")
	if _, err := s.Accept(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddInboxItem(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	email := newNotification(notification.ChannelEmail, "prac-7")
	if _, err := s.Accept(ctx, email); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddInboxItem(ctx, email.ID); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("AddInboxItem for email: %v, want ErrConflict", err)
	}

	// One announcement per new item, none for the repeats.
	var announced []string
	timeout := time.After(10 * time.Second)
	for len(announced) < 6 {
		select {
		case ev := <-events:
			announced = append(announced, ev.PractitionerID)
		case <-timeout:
			t.Fatalf("announced %v, want 6", announced)
		}
	}
	select {
	case ev := <-events:
		t.Errorf("extra announcement %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
	if slices.Index(announced, "prac-8") < 0 {
		t.Errorf("announced %v", announced)
	}

	// Newest first, two per page.
	var pages [][]uuid.UUID
	cursor := ""
	for {
		items, next, err := s.ListInbox(ctx, "prac-7", false, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		var page []uuid.UUID
		for _, it := range items {
			page = append(page, it.ID)
		}
		pages = append(pages, page)
		if next == "" {
			break
		}
		cursor = next
	}
	want := [][]uuid.UUID{{ids[4], ids[3]}, {ids[2], ids[1]}, {ids[0]}}
	if len(pages) != 3 || !slices.Equal(pages[0], want[0]) || !slices.Equal(pages[1], want[1]) || !slices.Equal(pages[2], want[2]) {
		t.Errorf("pages %v, want %v", pages, want)
	}
	if _, _, err := s.ListInbox(ctx, "prac-7", false, 2, "not-a-cursor"); err == nil {
		t.Error("bad cursor accepted")
	}

	read, err := s.MarkRead(ctx, "prac-7", ids[4])
	if err != nil || read.ReadAt == nil {
		t.Fatalf("MarkRead = %+v, %v", read, err)
	}
	again, err := s.MarkRead(ctx, "prac-7", ids[4])
	if err != nil || !again.ReadAt.Equal(*read.ReadAt) {
		t.Errorf("second MarkRead changed read time: %v, %v", again.ReadAt, err)
	}
	if _, err := s.MarkRead(ctx, "prac-8", ids[3]); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("MarkRead of another's item: %v, want ErrNotFound", err)
	}
	unread, _, err := s.ListInbox(ctx, "prac-7", true, 10, "")
	if err != nil || len(unread) != 4 || unread[0].ID != ids[3] {
		t.Errorf("unread = %d items, %v", len(unread), err)
	}

	cancel()
	select {
	case _, ok := <-events:
		for ok {
			_, ok = <-events
		}
	case <-time.After(5 * time.Second):
		t.Error("inbox stream not closed after cancel")
	}
}
