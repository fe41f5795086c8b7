package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// appendRecords stores n records, one transaction each, and returns them.
func appendRecords(t testing.TB, store *postgres.AuditStore, n int) []audit.Record {
	t.Helper()
	out := make([]audit.Record, n)
	for i := range out {
		p := uuid.New()
		out[i] = auditRecord(time.Now(), &p)
		if err := store.Append(context.Background(), out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// sealAll seals until the queue is empty and returns how many it sealed.
func sealAll(t testing.TB, sealer *postgres.AuditSealer) int {
	t.Helper()
	total := 0
	for {
		n, err := sealer.SealOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// tamper runs sql as a superuser with user triggers switched off for the
// session, as an attacker with database superuser rights could.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		tag, err := tx.Exec(context.Background(), sql, args...)
		if err == nil && tag.RowsAffected() == 0 {
			return fmt.Errorf("no row changed")
		}
		return err
	})
	if err != nil {
		t.Fatalf("tamper %q: %v", sql, err)
	}
}

func verify(t *testing.T, store *postgres.AuditStore, from, to time.Time) audit.VerifyResult {
	t.Helper()
	res, err := store.Verify(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// linkOf returns the chain position of the record with id.
func linkOf(t *testing.T, pool *pgxpool.Pool, id uuid.UUID) int64 {
	t.Helper()
	var link int64
	if err := pool.QueryRow(context.Background(), `SELECT link FROM audit_seals WHERE event_id = $1`, id).Scan(&link); err != nil {
		t.Fatal(err)
	}
	return link
}

func TestAuditSealerChainsRecordsAndVerifyFindsItIntact(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil, postgres.WithSealBatchSize(7))

	if res := verify(t, store, time.Time{}, time.Time{}); !res.Intact || res.Checked != 0 {
		t.Errorf("empty trail: %+v", res)
	}
	records := appendRecords(t, store, 30)
	if res := verify(t, store, time.Time{}, time.Time{}); !res.Intact || res.Unsealed != 30 || res.Checked != 0 {
		t.Errorf("before sealing: %+v, want intact with 30 unsealed", res)
	}
	if n := sealAll(t, sealer); n != 30 {
		t.Fatalf("sealed %d, want 30", n)
	}
	res := verify(t, store, time.Time{}, time.Time{})
	if !res.Intact || res.Checked != 30 || res.Unsealed != 0 || res.BrokenAt != nil {
		t.Errorf("after sealing: %+v, want 30 links intact", res)
	}

	// The chain by hand: link i hashes record i over link i-1.
	rows, err := pool.Query(ctx, `SELECT link, event_id, prev_hash, hash FROM audit_seals ORDER BY link`)
	if err != nil {
		t.Fatal(err)
	}
	prev := audit.Genesis
	i := 0
	for rows.Next() {
		var (
			link        int64
			id          uuid.UUID
			pHash, hash []byte
		)
		if err := rows.Scan(&link, &id, &pHash, &hash); err != nil {
			t.Fatal(err)
		}
		if link != int64(i+1) || id != records[i].ID || string(pHash) != string(prev) ||
			string(hash) != string(audit.ChainHash(prev, stored(records[i]))) {
			t.Fatalf("link %d does not chain record %d", link, i)
		}
		prev, i = hash, i+1
	}
	if rows.Err() != nil || i != 30 {
		t.Fatalf("read %d links: %v", i, rows.Err())
	}

	more := appendRecords(t, store, 3)
	res = verify(t, store, time.Time{}, time.Time{})
	if !res.Intact || res.Checked != 30 || res.Unsealed != 3 {
		t.Errorf("with 3 new records: %+v, want 30 checked, 3 unsealed", res)
	}
	res = verify(t, store, more[0].Time, time.Now().Add(time.Minute))
	if !res.Intact || res.Checked != 0 || res.Unsealed != 3 {
		t.Errorf("period of the new records only: %+v", res)
	}
}

func TestAuditVerifyFindsAnEditedRecordAtItsLink(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil)

	records := appendRecords(t, store, 20)
	sealAll(t, sealer)
	victim := records[12]
	link := linkOf(t, pool, victim.ID)

	// The way a superuser would: switch the partition's triggers off, edit,
	// switch them back on.
	var partition string
	if err := pool.QueryRow(t.Context(), `SELECT tableoid::regclass::text FROM audit_events WHERE id = $1`, victim.ID).Scan(&partition); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`ALTER TABLE ` + partition + ` DISABLE TRIGGER USER`,
		`UPDATE audit_events SET entity_id = 'someone-else' WHERE id = '` + victim.ID.String() + `'`,
		`ALTER TABLE ` + partition + ` ENABLE TRIGGER USER`,
	} {
		if _, err := pool.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	requireRefused(t, pool, `UPDATE audit_events SET entity_id = 'again'`)

	res := verify(t, store, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil {
		t.Fatalf("Verify = %+v, want the edit found", res)
	}
	b := res.BrokenAt
	if b.Link != link || b.EventID != victim.ID || !b.RecordedAt.Equal(stored(victim).Time) || res.Checked != int(link) {
		t.Errorf("broken at %+v after %d links, want link %d (record %s)", b, res.Checked, link, victim.ID)
	}
	t.Logf("reason: %s", b.Reason)

	// Periods that leave the record out still verify.
	if res := verify(t, store, time.Time{}, victim.Time); !res.Intact || res.Checked != 12 {
		t.Errorf("before the edited record: %+v, want 12 links intact", res)
	}
}

func TestAuditVerifyFindsRemovedSeals(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil)

	records := appendRecords(t, store, 10)
	sealAll(t, sealer)

	// A link in the middle: the next one's predecessor is gone.
	tamper(t, pool, `DELETE FROM audit_seals WHERE link = 5`)
	res := verify(t, store, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil || res.BrokenAt.Link != 6 || res.BrokenAt.EventID != records[5].ID {
		t.Errorf("Verify = %+v %+v, want broken at link 6", res, res.BrokenAt)
	}

	// The last link: its record is neither sealed nor waiting to be.
	pool2 := pgtest.NewPool(t)
	store2 := postgres.NewAuditStore(pool2)
	records = appendRecords(t, store2, 4)
	sealAll(t, postgres.NewAuditSealer(pool2, nil))
	tamper(t, pool2, `DELETE FROM audit_seals WHERE link = 4`)
	res = verify(t, store2, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil || res.BrokenAt.EventID != records[3].ID || res.BrokenAt.Link != 0 {
		t.Errorf("Verify = %+v %+v, want record 4 reported unsealed and unqueued", res, res.BrokenAt)
	}

	// A record removed with its seal kept.
	pool3 := pgtest.NewPool(t)
	store3 := postgres.NewAuditStore(pool3)
	records = appendRecords(t, store3, 4)
	sealAll(t, postgres.NewAuditSealer(pool3, nil))
	tamper(t, pool3, `DELETE FROM audit_events WHERE id = $1`, records[1].ID)
	res = verify(t, store3, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil || res.BrokenAt.Link != 2 || res.BrokenAt.EventID != records[1].ID {
		t.Errorf("Verify = %+v %+v, want broken at link 2", res, res.BrokenAt)
	}
}

func TestAuditVerifyFindsAReorderedChain(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	records := appendRecords(t, store, 8)
	sealAll(t, postgres.NewAuditSealer(pool, nil))

	// Swap links 3 and 4, each keeping its own hashes.
	tamper(t, pool, `UPDATE audit_seals SET link = 1000 WHERE link = 3`)
	tamper(t, pool, `UPDATE audit_seals SET link = 3 WHERE link = 4`)
	tamper(t, pool, `UPDATE audit_seals SET link = 4 WHERE link = 1000`)
	res := verify(t, store, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil || res.BrokenAt.Link != 3 || res.BrokenAt.EventID != records[3].ID {
		t.Errorf("Verify = %+v %+v, want broken at link 3", res, res.BrokenAt)
	}

	// Point two links at each other's records instead.
	pool2 := pgtest.NewPool(t)
	store2 := postgres.NewAuditStore(pool2)
	records = appendRecords(t, store2, 8)
	sealAll(t, postgres.NewAuditSealer(pool2, nil))
	tamper(t, pool2, `UPDATE audit_seals SET event_id = $1 WHERE link = 6`, uuid.New())
	tamper(t, pool2, `UPDATE audit_seals SET event_id = $1, recorded_at = $2 WHERE link = 5`, records[5].ID, records[5].Time)
	tamper(t, pool2, `UPDATE audit_seals SET event_id = $1, recorded_at = $2 WHERE link = 6`, records[4].ID, records[4].Time)
	res = verify(t, store2, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil || res.BrokenAt.Link != 5 {
		t.Errorf("Verify = %+v %+v, want broken at link 5", res, res.BrokenAt)
	}
}

func TestAuditLateCommitIsSealedAndTheChainVerifies(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil)

	// A write transaction appends its record first (lowest seq) and commits last.
	late := auditRecord(time.Now(), nil)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if err := postgres.AppendAudit(ctx, tx, late); err != nil {
		t.Fatal(err)
	}
	appendRecords(t, store, 5)
	if n := sealAll(t, sealer); n != 5 {
		t.Fatalf("sealed %d before the late commit, want 5", n)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sealAll(t, sealer); n != 1 {
		t.Fatalf("sealed %d after the late commit, want 1", n)
	}
	if link := linkOf(t, pool, late.ID); link != 6 {
		t.Errorf("the late record is link %d, want 6 (sealed in commit order)", link)
	}
	res := verify(t, store, time.Time{}, time.Time{})
	if !res.Intact || res.Checked != 6 || res.Unsealed != 0 {
		t.Errorf("Verify = %+v, want 6 links intact", res)
	}
}

func TestAuditSealerRunsAsOneLeaderAndExportsLag(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)

	// Another session holds the sealer lock, so the sealer cannot lead yet.
	holder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, postgres.AuditSealerLockKey); err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			holder.Release()
		}
	}()

	opts := []postgres.AuditSealerOption{
		postgres.WithSealPollInterval(50 * time.Millisecond),
		postgres.WithSealBacklogInterval(20 * time.Millisecond),
		postgres.WithAuditPartitions(time.Hour, 5),
	}
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := postgres.NewAuditSealer(pool, logger, opts...)
	b := postgres.NewAuditSealer(pool, logger, opts...)
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- b.Run(ctx) }()

	// Records wait; the lag grows.
	appendRecords(t, store, 40)
	metric := func(s *postgres.AuditSealer, name string) float64 { return sealerMetric(t, s, name) }
	eventually(t, 5*time.Second, func() bool {
		return metric(a, "zarish_audit_unsealed_records") == 40 && metric(a, "zarish_audit_seal_lag_seconds") > 0.05
	}, "backlog of 40 with a growing lag while nobody leads")
	if metric(a, "zarish_audit_sealer_leader")+metric(b, "zarish_audit_sealer_leader") != 0 {
		t.Error("a sealer leads while another session holds the lock")
	}

	// Lock released: exactly one sealer leads and seals everything.
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, postgres.AuditSealerLockKey); err != nil {
		t.Fatal(err)
	}
	holder.Release()
	released = true
	eventually(t, 10*time.Second, func() bool {
		return metric(a, "zarish_audit_sealed_records_total")+metric(b, "zarish_audit_sealed_records_total") == 40
	}, "40 records sealed")
	if got := metric(a, "zarish_audit_sealer_leader") + metric(b, "zarish_audit_sealer_leader"); got != 1 {
		t.Errorf("%v sealers lead, want 1", got)
	}

	// New records are sealed promptly on the commit notification.
	start := time.Now()
	appendRecords(t, store, 10)
	eventually(t, 5*time.Second, func() bool {
		n, _, err := postgres.AuditBacklog(ctx, pool)
		return err == nil && n == 0
	}, "new records sealed")
	t.Logf("10 records sealed within %v of their commits", time.Since(start))
	eventually(t, 5*time.Second, func() bool {
		return metric(a, "zarish_audit_unsealed_records") == 0 && metric(a, "zarish_audit_seal_lag_seconds") == 0
	}, "backlog and lag back to zero")
	if res := verify(t, store, time.Time{}, time.Time{}); !res.Intact || res.Checked != 50 {
		t.Errorf("Verify = %+v, want 50 links intact", res)
	}

	// The leader made the months ahead it was asked for.
	m := time.Now().UTC()
	m = time.Date(m.Year(), m.Month()+5, 1, 0, 0, 0, 0, time.UTC)
	if n := countRows(t, pool, `SELECT count(*) FROM pg_class WHERE relname = $1`,
		fmt.Sprintf("audit_events_y%04dm%02d", m.Year(), m.Month())); n != 1 {
		t.Errorf("partition five months ahead not created")
	}

	// Quiet for a while: waits time out, the leader stays.
	time.Sleep(600 * time.Millisecond)
	if got := metric(a, "zarish_audit_sealer_leader") + metric(b, "zarish_audit_sealer_leader"); got != 1 {
		t.Errorf("%v sealers lead after a quiet spell, want 1", got)
	}
	if out := logs.String(); strings.Count(out, "audit sealer leading") != 1 || strings.Contains(out, "stepped down") ||
		strings.Contains(out, "failed") {
		t.Errorf("sealer logs:\n%s", out)
	}

	cancel()
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil on cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
}

func TestAuditSealerKeepsUpWithConcurrentWritersAndLateCommits(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil, postgres.WithSealPollInterval(50*time.Millisecond), postgres.WithSealBatchSize(50))
	done := make(chan error, 1)
	go func() { done <- sealer.Run(ctx) }()

	// Some transactions stay open across many others' commits.
	const writers, perWriter = 4, 50
	errs := make(chan error, writers+1)
	held := make(chan struct{})
	go func() {
		tx, err := pool.Begin(ctx)
		if err != nil {
			errs <- err
			return
		}
		defer tx.Rollback(context.Background())
		if err := postgres.AppendAudit(ctx, tx, auditRecord(time.Now(), nil), auditRecord(time.Now(), nil)); err != nil {
			errs <- err
			return
		}
		<-held
		errs <- tx.Commit(ctx)
	}()
	for w := range writers {
		go func() {
			for i := range perWriter {
				p := uuid.New()
				batch := []audit.Record{auditRecord(time.Now(), &p)}
				if i%5 == 0 {
					batch = append(batch, auditRecord(time.Now(), nil), auditRecord(time.Now(), &p))
				}
				if err := store.Append(ctx, batch...); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(held)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	total := writers*(perWriter+2*perWriter/5) + 2
	eventually(t, 10*time.Second, func() bool {
		n, _, err := postgres.AuditBacklog(ctx, pool)
		return err == nil && n == 0
	}, "every record sealed")
	res := verify(t, store, time.Time{}, time.Time{})
	if !res.Intact || res.Checked != total || res.Unsealed != 0 {
		t.Errorf("Verify = %+v, want %d links intact", res, total)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestAuditSealerLeadsAgainAfterItsSessionDies(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	var logs syncBuffer
	sealer := postgres.NewAuditSealer(pool, slog.New(slog.NewTextHandler(&logs, nil)),
		postgres.WithSealPollInterval(50*time.Millisecond))
	done := make(chan error, 1)
	go func() { done <- sealer.Run(ctx) }()

	appendRecords(t, store, 5)
	sealed := func() bool {
		n, _, err := postgres.AuditBacklog(ctx, pool)
		return err == nil && n == 0
	}
	eventually(t, 5*time.Second, sealed, "first records sealed")

	// The session holding the sealer lock is killed.
	key := uint64(postgres.AuditSealerLockKey)
	var killed bool
	err := pool.QueryRow(ctx, `
		SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 AND objsubid = 1
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		uint32(key>>32), uint32(key)).Scan(&killed)
	if err != nil || !killed {
		t.Fatalf("terminate the sealer's session: %v %v", killed, err)
	}
	eventually(t, 5*time.Second, func() bool { return strings.Contains(logs.String(), "stepped down") },
		"the sealer notices it lost the lock")
	appendRecords(t, store, 5)
	eventually(t, 10*time.Second, sealed, "records sealed by the sealer leading again")
	if res := verify(t, store, time.Time{}, time.Time{}); !res.Intact || res.Checked != 10 {
		t.Errorf("Verify = %+v, want 10 links intact", res)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func eventually(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sealerMetric reads the current value of one of s's metrics.
func sealerMetric(t *testing.T, s *postgres.AuditSealer, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collectors()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}
