package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

func testEvent(t testing.TB, patient string, n int) postgres.OutboxEvent {
	t.Helper()
	return postgres.OutboxEvent{
		ID:      uuid.Must(uuid.NewV7()),
		Topic:   "zarish.clinical.v1",
		Key:     patient,
		Type:    "observation.recorded",
		Source:  "/v1/observations",
		Subject: fmt.Sprintf("obs-%d", n),
		Time:    time.Now(),
		Data:    json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
	}
}

func ids(events []postgres.OutboxEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func TestUnsentInOrderUntilMarkedSent(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	r := postgres.NewOutboxReader(pool)
	defer r.Close()

	var written []postgres.OutboxEvent
	for i := range 5 {
		e := testEvent(t, "patient-1", i)
		if err := postgres.AppendOutbox(ctx, pool, e); err != nil {
			t.Fatal(err)
		}
		written = append(written, e)
	}

	got, err := r.Unsent(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := ids(written[:3]); fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("Unsent(3) = %v, want the first three in write order %v", ids(got), want)
	}
	g := got[0]
	w := written[0]
	if g.Topic != w.Topic || g.Key != w.Key || g.Type != w.Type || g.Source != w.Source ||
		g.Subject != w.Subject || !g.Time.Equal(w.Time.Truncate(time.Microsecond)) || compactJSON(t, g.Data) != compactJSON(t, w.Data) {
		t.Errorf("read back %+v, wrote %+v", g, w)
	}

	count, oldest, err := r.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if count != 5 || oldest.IsZero() || time.Since(oldest) > time.Minute {
		t.Errorf("Backlog = %d, %v; want 5 events, oldest just now", count, oldest)
	}

	if err := r.MarkSent(ctx, ids(got)); err != nil {
		t.Fatal(err)
	}
	rest, err := r.Unsent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := ids(written[3:]); fmt.Sprint(ids(rest)) != fmt.Sprint(want) {
		t.Fatalf("after MarkSent, Unsent = %v, want %v", ids(rest), want)
	}
	if err := r.MarkSent(ctx, ids(rest)); err != nil {
		t.Fatal(err)
	}
	count, oldest, err = r.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if count != 0 || !oldest.IsZero() {
		t.Errorf("drained Backlog = %d, %v; want 0 and the zero time", count, oldest)
	}
}

func TestRolledBackAppendLeavesNothingToSend(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	r := postgres.NewOutboxReader(pool)
	defer r.Close()

	good := testEvent(t, "patient-1", 1)
	bad := testEvent(t, "patient-1", 2)
	bad.Data = []byte("not json")
	// The second event cannot be stored, so the transaction fails after the
	// first insert and rolls both back.
	err := postgres.AppendOutbox(ctx, pool, good, bad)
	if err == nil {
		t.Fatal("AppendOutbox with an unstorable event succeeded")
	}
	got, err := r.Unsent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("rolled-back transaction left %d unsent events", len(got))
	}
}

// A retried write derives the same event ids; each event is stored once.
func TestRepeatedEventIsStoredOnce(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	r := postgres.NewOutboxReader(pool)
	defer r.Close()
	ev := testEvent(t, "patient-1", 1)
	for range 2 {
		if err := postgres.AppendOutbox(ctx, pool, ev, ev); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Unsent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != ev.ID {
		t.Fatalf("stored %d copies of one event", len(got))
	}
}

// A transaction that took its seq first but commits last must still be read:
// a reader resuming after the highest seq it has seen would skip it.
func TestUnsentFindsLateCommittedRow(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	r := postgres.NewOutboxReader(pool)
	defer r.Close()

	early := testEvent(t, "patient-1", 1)
	late := testEvent(t, "patient-2", 2)

	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(context.Background())
	// The slow transaction draws the lower seq.
	if _, err := slow.Exec(ctx, `
		INSERT INTO outbox (id, topic, key, type, source, subject, time, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		early.ID, early.Topic, early.Key, early.Type, early.Source, early.Subject, early.Time, early.Data); err != nil {
		t.Fatal(err)
	}
	if err := postgres.AppendOutbox(ctx, pool, late); err != nil {
		t.Fatal(err)
	}

	got, err := r.Unsent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != late.ID {
		t.Fatalf("Unsent before the slow commit = %v, want only %v", ids(got), late.ID)
	}
	if err := r.MarkSent(ctx, ids(got)); err != nil {
		t.Fatal(err)
	}

	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = r.Unsent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != early.ID {
		t.Fatalf("Unsent after the slow commit = %v, want %v", ids(got), early.ID)
	}
}

func TestWaitForNotifyWakesOnCommit(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	r := postgres.NewOutboxReader(pool)
	defer r.Close()

	// With nothing committed, the wait ends at the poll interval.
	start := time.Now()
	if err := r.WaitForNotify(ctx, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("WaitForNotify returned after %v with nothing committed", d)
	}

	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = postgres.AppendOutbox(context.Background(), pool, testEvent(t, "patient-1", 1))
	}()
	start = time.Now()
	if err := r.WaitForNotify(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("WaitForNotify took %v to notice a commit", d)
	}

	// A commit made while nobody waits is delivered on the next wait.
	if err := postgres.AppendOutbox(ctx, pool, testEvent(t, "patient-1", 2)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	if err := r.WaitForNotify(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("WaitForNotify took %v to report an earlier commit", d)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.WaitForNotify(cancelled, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitForNotify on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestLeadAllowsOneLeaderPerDatabase(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	first := connect(t, dsn)
	second := connect(t, dsn)
	a := postgres.NewOutboxReader(first)
	b := postgres.NewOutboxReader(second)

	leading := make(chan struct{})
	stepDown := make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		aDone <- a.Lead(ctx, func(ctx context.Context) error {
			close(leading)
			<-stepDown
			return nil
		})
	}()
	<-leading

	// While a leads, b waits and gives up when its context ends.
	waitCtx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	ran := false
	err := b.Lead(waitCtx, func(context.Context) error { ran = true; return nil })
	if ran || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lead while the first holds the lock: ran=%v err=%v", ran, err)
	}

	// Once a steps down, b takes over within about a second.
	close(stepDown)
	if err := <-aDone; err != nil {
		t.Fatalf("first Lead: %v", err)
	}
	takeover, cancel2 := context.WithTimeout(ctx, 10*time.Second)
	defer cancel2()
	if err := b.Lead(takeover, func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("second Lead after the first stepped down: ran=%v err=%v", ran, err)
	}
}

func TestLeadNoticesLostLockConnection(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	r := postgres.NewOutboxReader(pool)

	done := make(chan error, 1)
	leading := make(chan struct{})
	go func() {
		done <- r.Lead(ctx, func(ctx context.Context) error {
			close(leading)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	<-leading

	// Kill the session that holds the lock, as a network partition or a
	// database failover would.
	var pid int32
	err := pool.QueryRow(ctx, `
		SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND ((classid::bigint << 32) | objid::bigint) = $1`, postgres.OutboxRelayLockKey).Scan(&pid)
	if err != nil {
		t.Fatalf("find the lock holder: %v", err)
	}
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}

	select {
	case err := <-done:
		if !errors.Is(err, postgres.ErrLeadershipLost) {
			t.Fatalf("Lead after its session was killed = %v, want ErrLeadershipLost", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Lead kept running after its lock session was killed")
	}
}

func TestPurgeSentKeepsUnsent(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	r := postgres.NewOutboxReader(pool)

	sent := testEvent(t, "patient-1", 1)
	unsent := testEvent(t, "patient-1", 2)
	if err := postgres.AppendOutbox(ctx, pool, sent, unsent); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkSent(ctx, []uuid.UUID{sent.ID}); err != nil {
		t.Fatal(err)
	}

	n, err := r.PurgeSent(ctx, time.Hour)
	if err != nil || n != 0 {
		t.Fatalf("PurgeSent(1h) of a just-sent event = %d, %v; want 0", n, err)
	}
	time.Sleep(10 * time.Millisecond)
	n, err = r.PurgeSent(ctx, time.Millisecond)
	if err != nil || n != 1 {
		t.Fatalf("PurgeSent(1ms) = %d, %v; want 1", n, err)
	}
	got, err := r.Unsent(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != unsent.ID {
		t.Fatalf("after purge, Unsent = %v, want %v", ids(got), unsent.ID)
	}
}

// compactJSON strips the whitespace jsonb adds when it prints a document.
func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %q: %v", raw, err)
	}
	return b.String()
}

func connect(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Connect(context.Background(), postgres.PoolConfig{URL: dsn, MaxConns: 4}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(context.Background(), pool, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return pool
}

// Leader locks and LISTENs hold sessions of their own, outside the pool: on
// a pool of one connection, the outbox and workflow-start leaders each
// waiting on its notifications leave that connection to the statements,
// and a commit still wakes the outbox's wait.
func TestSessionsLeaveThePoolToStatements(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewDatabase(t)
	setup := connect(t, dsn) // migrates
	setup.Close()
	pool, err := postgres.Connect(ctx, postgres.PoolConfig{URL: dsn, MaxConns: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	outbox, starts := postgres.NewOutboxReader(pool), postgres.NewWorkflowStartStore(pool)
	defer outbox.Close()
	defer starts.Close()

	woke := make(chan struct{}, 16)
	var wg sync.WaitGroup
	defer wg.Wait()
	leadCtx, stop := context.WithCancel(ctx)
	defer stop()
	listening := make(chan struct{}, 2)
	wg.Go(func() {
		_ = outbox.Lead(leadCtx, func(ctx context.Context) error {
			for ctx.Err() == nil {
				listening <- struct{}{}
				if err := outbox.WaitForNotify(ctx, 30*time.Second); err == nil && ctx.Err() == nil {
					woke <- struct{}{}
				}
			}
			return nil
		})
	})
	wg.Go(func() {
		_ = starts.Lead(leadCtx, func(ctx context.Context) error {
			for ctx.Err() == nil {
				listening <- struct{}{}
				_ = starts.WaitForNotify(ctx, 30*time.Second)
			}
			return nil
		})
	})
	for range 2 {
		select {
		case <-listening:
		case <-time.After(10 * time.Second):
			t.Fatal("the leaders did not take their locks within 10s")
		}
	}
	time.Sleep(200 * time.Millisecond) // both are in their waits

	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var held int
	if err := pool.QueryRow(qctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&held); err != nil {
		t.Fatalf("a statement on the pool while both leaders hold their locks and wait: %v", err)
	}
	if held < 2 {
		t.Fatalf("%d advisory locks held, want the two leaders'", held)
	}
	if err := postgres.AppendOutbox(qctx, pool, testEvent(t, "patient-1", 1)); err != nil {
		t.Fatalf("an outbox write on the pool: %v", err)
	}
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("the outbox's wait did not wake on the commit")
	}
}
