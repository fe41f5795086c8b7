package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestRetentionPurgesOnlyWhatHasDoneItsJob: each kind of working copy
// older than its policy goes — sent outbox events, started workflows'
// start rows, old idempotency keys, the text of delivered notifications,
// read inbox items, delivered webhooks — and nothing else: not an unsent
// event, a pending start, a queued notification or an unread inbox item,
// however old, nor anything younger than its policy. A policy of zero
// keeps its rows. A second run finds nothing more.
func TestRetentionPurgesOnlyWhatHasDoneItsJob(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	now := time.Now()
	old, recent := now.Add(-40*24*time.Hour), now.Add(-time.Hour)

	for _, row := range []struct {
		sent *time.Time
		n    int
	}{{&old, 3}, {&recent, 2}, {nil, 1}} {
		for range row.n {
			mustExec(t, pool, `INSERT INTO outbox (id, topic, key, type, source, time, data, created_at, sent_at)
				VALUES ($1, 'zarish.clinical.v1', 'k', 'observation.recorded', 'test', $2, '{"reason":"chest pain"}', $2, $3)`,
				uuid.New(), old, row.sent)
		}
	}
	for _, started := range []*time.Time{&old, &old, &recent, nil} {
		mustExec(t, pool, `INSERT INTO workflow_starts (id, workflow_id, workflow_type, task_queue, input, created_at, started_at)
			VALUES ($1, 'encounter/x', 'Encounter', 'encounters', '{"reason":"chest pain"}', $2, $3)`, uuid.New(), old, started)
	}
	for _, at := range []time.Time{old, recent} {
		mustExec(t, pool, `INSERT INTO idempotency_keys (scope, key, request_hash, resource_id, created_at) VALUES ('c POST /v1/patients', $1, '\x00', $2, $3)`,
			uuid.NewString(), uuid.New(), at)
	}
	notification := func(status string, updated time.Time) uuid.UUID {
		id := uuid.New()
		mustExec(t, pool, `INSERT INTO notifications (id, alert_id, patient_id, practitioner_id, channel, address, subject, body, severity, status,
				created_at, updated_at, delivered_at)
			VALUES ($1, $2, $2, 'p-1', 'email', 'nadia@hospital.example', 'Critical potassium', 'K+ 6.9 mmol/L for bed 12', 'critical', $3, $4, $4, $4)`,
			id, uuid.New(), status, updated)
		return id
	}
	delivered, queued, fresh := notification("delivered", old), notification("queued", old), notification("delivered", recent)
	for _, n := range []struct {
		id   uuid.UUID
		read *time.Time
	}{{delivered, &old}, {queued, nil}, {fresh, &recent}} {
		mustExec(t, pool, `INSERT INTO inbox_items (id, practitioner_id, notification_id, alert_id, patient_id, subject, body, severity, read_at)
			VALUES ($1, 'p-1', $2, $1, $1, 's', 'b', 'critical', $3)`, uuid.New(), n.id, n.read)
	}
	sub := uuid.New()
	mustExec(t, pool, `INSERT INTO subscriptions (id, name, event_types, endpoint, secret, status, created_by, created_at, updated_at, version)
		VALUES ($1, 'lab feed', '{observation.recorded}', 'https://receiver.example/hook', 's3cret-s3cret-s3cret', 'active', 'admin', $2, $2, 1)`, sub, old)
	for _, d := range []struct {
		status  string
		updated time.Time
	}{{"delivered", old}, {"delivered", recent}, {"dead", old}} {
		mustExec(t, pool, `INSERT INTO subscription_deliveries (id, subscription_id, event_id, event_type, payload, status, next_attempt_at, created_at, updated_at)
			VALUES ($1, $2, $1, 'observation.recorded', '{}', $3, $4, $4, $4)`, uuid.New(), sub, d.status, d.updated)
	}

	policy := postgres.RetentionPolicy{OutboxSent: 7 * 24 * time.Hour, WorkflowStarts: 7 * 24 * time.Hour,
		Idempotency: 7 * 24 * time.Hour, Notifications: 30 * 24 * time.Hour, WebhookDeliveries: 30 * 24 * time.Hour}
	purged, err := postgres.NewRetention(pool, policy, time.Hour, nil).Purge(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"outbox": 3, "workflow_starts": 2, "idempotency_keys": 1, "notifications": 1, "inbox_items": 1, "subscription_deliveries": 1}
	for table, n := range want {
		if purged[table] != n {
			t.Errorf("%s: purged %d, want %d (all: %v)", table, purged[table], n, purged)
		}
	}
	for sql, n := range map[string]int{
		`SELECT count(*) FROM outbox`:                                                          3,
		`SELECT count(*) FROM outbox WHERE sent_at IS NULL`:                                    1,
		`SELECT count(*) FROM workflow_starts`:                                                 2,
		`SELECT count(*) FROM workflow_starts WHERE started_at IS NULL`:                        1,
		`SELECT count(*) FROM idempotency_keys`:                                                1,
		`SELECT count(*) FROM notifications`:                                                   3,
		`SELECT count(*) FROM notifications WHERE body = '' AND subject = '' AND address = ''`: 1,
		`SELECT count(*) FROM inbox_items`:                                                     2,
		`SELECT count(*) FROM subscription_deliveries`:                                         2,
	} {
		if got := countRows(t, pool, sql); got != n {
			t.Errorf("%s = %d, want %d", sql, got, n)
		}
	}
	// The delivery record stays: who, when, how, and the proof.
	var status, channel string
	var at *time.Time
	if err := pool.QueryRow(ctx, `SELECT status, channel, delivered_at FROM notifications WHERE id = $1`, delivered).Scan(&status, &channel, &at); err != nil ||
		status != "delivered" || channel != "email" || at == nil {
		t.Fatalf("the stripped notification: %s %s %v %v", status, channel, at, err)
	}
	again, err := postgres.NewRetention(pool, policy, time.Hour, nil).Purge(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range again {
		if n != 0 {
			t.Errorf("the second run purged %d from %s", n, table)
		}
	}
	// A policy of zero keeps everything.
	kept, err := postgres.NewRetention(pool, postgres.RetentionPolicy{}, time.Hour, nil).Purge(ctx, now.Add(365*24*time.Hour))
	if err != nil || len(kept) != 0 {
		t.Fatalf("the zero policy purged %v (%v)", kept, err)
	}
}
