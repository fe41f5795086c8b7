package postgres_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// TestAuditServiceIsStoredAndSealed: the calling service a record names is
// stored, read back as given, hashed into the chain beside records without
// one, and an edit of it is found.
func TestAuditServiceIsStoredAndSealed(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil)

	p := uuid.New()
	named := auditRecord(time.Now(), &p)
	named.Service = "lab-gateway_2.eu-west"
	plain := auditRecord(time.Now(), &p)
	if err := store.Append(ctx, named, plain); err != nil {
		t.Fatal(err)
	}
	got, err := store.Get(ctx, named.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Service != "lab-gateway_2.eu-west" {
		t.Fatalf("read back service %q", got.Service)
	}
	if got, err := store.Get(ctx, plain.ID); err != nil || got.Service != "" {
		t.Fatalf("a record without a service reads back %q, %v", got.Service, err)
	}
	if n := sealAll(t, sealer); n != 2 {
		t.Fatalf("sealed %d, want 2", n)
	}
	if res := verify(t, store, time.Time{}, time.Time{}); !res.Intact || res.Checked != 2 {
		t.Fatalf("Verify = %+v, want 2 links intact", res)
	}

	var partition string
	if err := pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM audit_events WHERE id = $1`, named.ID).Scan(&partition); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`ALTER TABLE ` + partition + ` DISABLE TRIGGER USER`,
		`UPDATE audit_events SET service = 'someone-else' WHERE id = '` + named.ID.String() + `'`,
		`ALTER TABLE ` + partition + ` ENABLE TRIGGER USER`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	res := verify(t, store, time.Time{}, time.Time{})
	if res.Intact || res.BrokenAt == nil || res.BrokenAt.EventID != named.ID {
		t.Fatalf("Verify = %+v, want the edited service found at its record", res)
	}
}
