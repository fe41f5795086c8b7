package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// deadLetter stores n and makes it dead after one attempt.
func deadLetter(t *testing.T, s *postgres.NotificationStore, n notification.Notification, why string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Accept(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordAttempt(ctx, n.ID, notification.AttemptResult{Outcome: notification.AttemptDead, Detail: why}); err != nil {
		t.Fatal(err)
	}
}

func requeueRecord() audit.Record {
	return audit.Record{
		ID:      uuid.Must(uuid.NewV7()),
		Time:    time.Now(),
		Actor:   audit.Actor{Subject: "ops.karim", ClientID: "ops-console"},
		Action:  audit.ActionUpdate,
		Method:  "POST",
		Route:   "/v1/notifications/deliveries/:id/retry",
		Status:  200,
		Purpose: audit.DefaultPurpose,
		Outcome: audit.OutcomeSuccess,
	}
}

func historyOf(h []notification.Attempt) (outcomes []string, rounds, attempts []int) {
	for _, a := range h {
		outcomes = append(outcomes, a.Outcome)
		rounds = append(rounds, a.Round)
		attempts = append(attempts, a.Attempt)
	}
	return outcomes, rounds, attempts
}

func TestRequeueGivesADeadNotificationANewRound(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewNotificationStore(pool, postgres.WithClaimLease(time.Hour))
	auditStore := postgres.NewAuditStore(pool)
	n := newNotification(notification.ChannelSMS, "prac-1")
	deadLetter(t, s, n, "webhook: provider answered 400: invalid number")
	if dead, err := s.DeadLetters(ctx); err != nil || dead[notification.ChannelSMS] != 1 || len(dead) != 1 {
		t.Fatalf("DeadLetters = %v, %v", dead, err)
	}

	rec := requeueRecord()
	d, err := s.Requeue(ctx, n.ID, &rec, "ops.karim", "number corrected in the directory")
	if err != nil {
		t.Fatal(err)
	}
	outcomes, rounds, attempts := historyOf(d.History)
	if d.Status != notification.StatusQueued || d.Attempts != 0 || d.Round != 1 || d.LastError != "" || d.NextAttemptAt == nil ||
		!slices.Equal(outcomes, []string{"dead", "requeued"}) || !slices.Equal(rounds, []int{0, 1}) || !slices.Equal(attempts, []int{1, 0}) ||
		d.History[1].By != "ops.karim" || d.History[1].Detail != "number corrected in the directory" {
		t.Fatalf("requeued delivery %+v", d)
	}
	// The audit record committed with the requeue, naming the notification
	// and its patient.
	got, err := auditStore.Get(ctx, rec.ID)
	if err != nil {
		t.Fatalf("audit record of the requeue: %v", err)
	}
	if got.EntityType != "Communication" || got.EntityID != n.ID.String() || got.PatientID == nil || *got.PatientID != n.PatientID {
		t.Errorf("audit record %+v", got)
	}
	if dead, _ := s.DeadLetters(ctx); dead[notification.ChannelSMS] != 0 {
		t.Errorf("still counted dead: %v", dead)
	}

	// A second requeue is refused, and leaves no trace: no history entry, no
	// audit record.
	again := requeueRecord()
	_, err = s.Requeue(ctx, n.ID, &again, "ops.karim", "twice")
	var state *notification.StateError
	if !errors.As(err, &state) || state.Status != notification.StatusQueued || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second requeue: %v, want a DeliveryStateError (queued)", err)
	}
	if _, err := auditStore.Get(ctx, again.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("audit record of the refused requeue: %v, want ErrNotFound", err)
	}

	// The dispatcher's claim finds it at once, as a first attempt.
	due, err := s.Due(ctx, 10)
	if err != nil || len(due) != 1 || due[0].ID != n.ID || due[0].Attempts != 0 || due[0].Round != 1 {
		t.Fatalf("Due after requeue = %+v, %v", due, err)
	}
	if a, err := s.RecordAttempt(ctx, n.ID, notification.AttemptResult{Outcome: notification.AttemptDelivered, Detail: "prov-7"}); err != nil || a != 1 {
		t.Fatalf("RecordAttempt = %d, %v; want attempt 1 of the new round", a, err)
	}
	full, err := s.Get(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	outcomes, rounds, attempts = historyOf(full.AttemptLog)
	if full.Status != notification.StatusDelivered || full.Round != 1 || full.Attempts != 1 ||
		!slices.Equal(outcomes, []string{"dead", "requeued", "delivered"}) || !slices.Equal(rounds, []int{0, 1, 1}) ||
		!slices.Equal(attempts, []int{1, 0, 1}) {
		t.Errorf("after delivery: status %s, round %d, history %v %v %v", full.Status, full.Round, outcomes, rounds, attempts)
	}

	_, err = s.Requeue(ctx, n.ID, nil, "ops.karim", "")
	if !errors.As(err, &state) || state.Status != notification.StatusDelivered {
		t.Errorf("requeue of a delivered notification: %v", err)
	}
	if _, err := s.Requeue(ctx, uuid.Must(uuid.NewV7()), nil, "ops.karim", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("requeue of an unknown notification: %v, want ErrNotFound", err)
	}
	if full, _ := s.Get(ctx, n.ID); len(full.AttemptLog) != 3 {
		t.Errorf("refused requeues changed the history: %d entries", len(full.AttemptLog))
	}
}

func TestConcurrentRequeuesRequeueOnce(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewNotificationStore(pgtest.NewPool(t))
	n := newNotification(notification.ChannelPush, "prac-2")
	deadLetter(t, s, n, "410 token expired")
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			_, err := s.Requeue(ctx, n.ID, nil, "ops", "")
			errs <- err
		}()
	}
	ok := 0
	for range 5 {
		err := <-errs
		var state *notification.StateError
		switch {
		case err == nil:
			ok++
		case !errors.As(err, &state):
			t.Errorf("requeue: %v", err)
		}
	}
	got, _ := s.Get(ctx, n.ID)
	if ok != 1 || got.Round != 1 || len(got.AttemptLog) != 2 {
		t.Errorf("%d requeues succeeded; round %d, history %d entries", ok, got.Round, len(got.AttemptLog))
	}
}

func TestDeliveryLogListsNewestFirstWithFilters(t *testing.T) {
	ctx := context.Background()
	s := postgres.NewNotificationStore(pgtest.NewPool(t), postgres.WithClaimLease(time.Hour))
	base := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	patient := uuid.Must(uuid.NewV7())
	alertID := uuid.Must(uuid.NewV7())
	var all []notification.Notification
	for i, ch := range []string{"sms", "email", "sms", "push", "sms", "inapp"} {
		n := newNotification(ch, "prac-3")
		n.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		if i%2 == 0 {
			n.PatientID, n.AlertID = patient, alertID
		}
		all = append(all, n)
	}
	// 0, 2: dead; 1: delivered; 3: failed; 4, 5: queued.
	deadLetter(t, s, all[0], "400")
	deadLetter(t, s, all[2], "400")
	for _, i := range []int{1, 3, 4, 5} {
		if _, err := s.Accept(ctx, all[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RecordAttempt(ctx, all[1].ID, notification.AttemptResult{Outcome: notification.AttemptDelivered, Detail: "ok"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordAttempt(ctx, all[3].ID, notification.AttemptResult{Outcome: notification.AttemptFailed, Detail: "503", NextAttemptAt: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}

	ids := func(f notification.Filter) []uuid.UUID {
		t.Helper()
		var out []uuid.UUID
		for {
			page, err := s.ListDeliveries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Deliveries {
				out = append(out, d.ID)
			}
			if page.Next == "" {
				return out
			}
			f.Cursor = page.Next
		}
	}
	want := func(idx ...int) []uuid.UUID {
		var out []uuid.UUID
		for _, i := range idx {
			out = append(out, all[i].ID)
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    notification.Filter
		want []uuid.UUID
	}{
		"all, two a page":  {notification.Filter{Limit: 2}, want(5, 4, 3, 2, 1, 0)},
		"dead":             {notification.Filter{Status: "dead"}, want(2, 0)},
		"pending":          {notification.Filter{Status: notification.Pending, Limit: 1}, want(5, 4, 3)},
		"failed":           {notification.Filter{Status: "failed"}, want(3)},
		"sms":              {notification.Filter{Channel: "sms"}, want(4, 2, 0)},
		"alert":            {notification.Filter{AlertID: alertID}, want(4, 2, 0)},
		"patient and dead": {notification.Filter{PatientID: patient, Status: "dead"}, want(2, 0)},
		"from, to":         {notification.Filter{From: base.Add(time.Minute), To: base.Add(4 * time.Minute)}, want(3, 2, 1)},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
		}
	}

	page, err := s.ListDeliveries(ctx, notification.Filter{Status: "failed"})
	if err != nil || len(page.Deliveries) != 1 {
		t.Fatalf("failed page: %+v, %v", page, err)
	}
	d := page.Deliveries[0]
	if d.NextAttemptAt == nil || d.LastError != "503" || len(d.History) != 1 || d.History[0].Outcome != "failed" || d.Channel != "push" {
		t.Errorf("failed delivery %+v", d)
	}
	page, _ = s.ListDeliveries(ctx, notification.Filter{Status: "delivered"})
	if d := page.Deliveries[0]; d.NextAttemptAt != nil || d.Receipt != "ok" || d.DeliveredAt == nil {
		t.Errorf("delivered delivery %+v", d)
	}
	page, _ = s.ListDeliveries(ctx, notification.Filter{Channel: "inapp"})
	if d := page.Deliveries[0]; d.History == nil || len(d.History) != 0 {
		t.Errorf("untried delivery history %#v, want empty", d.History)
	}
	if _, err := s.ListDeliveries(ctx, notification.Filter{Cursor: "not-a-cursor"}); !errors.Is(err, domain.ErrBadCursor) {
		t.Errorf("bad cursor: %v, want ErrBadCursor", err)
	}
}
