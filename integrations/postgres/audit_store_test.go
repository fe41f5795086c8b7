package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// auditRecord is a plausible record of a clinician reading a patient.
func auditRecord(at time.Time, patient *uuid.UUID) audit.Record {
	r := audit.Record{
		ID:         uuid.Must(uuid.NewV7()),
		Time:       at,
		Actor:      audit.Actor{Subject: "dr.amina", ClientID: "ward-app", Roles: []string{"clinician"}},
		Action:     audit.ActionRead,
		EntityType: "Patient",
		SourceIP:   "10.0.0.7",
		UserAgent:  "ward-app/1.4",
		RequestID:  "req-" + uuid.NewString()[:8],
		Method:     "GET",
		Route:      "/v1/patients/:id",
		Status:     200,
		Purpose:    audit.DefaultPurpose,
		Outcome:    audit.OutcomeSuccess,
	}
	if patient != nil {
		p := *patient
		r.PatientID, r.EntityID = &p, p.String()
	}
	return r
}

// stored is r as the store gives it back: UTC, microseconds, no empty lists.
func stored(r audit.Record) audit.Record {
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	if len(r.Actor.Roles) == 0 {
		r.Actor.Roles = nil
	}
	if len(r.PatientIDs) == 0 {
		r.PatientIDs = nil
	}
	return r
}

func recordIDs(rs []audit.Record) []uuid.UUID {
	out := make([]uuid.UUID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func countRows(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestAuditAppendStoresTheRecordAsGiven(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)

	p, q := uuid.New(), uuid.New()
	full := audit.Record{
		ID:          uuid.Must(uuid.NewV7()),
		Time:        time.Now().Add(-time.Minute).In(time.FixedZone("BDT", 6*3600)),
		Actor:       audit.Actor{Subject: `dr "quoted", \slash`, ClientID: "ward-app", Roles: []string{"clinician", "role, with {braces}"}},
		Action:      audit.ActionSearch,
		EntityType:  "Patient",
		PatientID:   &p,
		PatientIDs:  []uuid.UUID{p, q},
		SourceIP:    "2001:db8::1",
		UserAgent:   "curl/8 ünïcode",
		RequestID:   "req-1",
		Method:      "GET",
		Route:       "/v1/patients",
		Status:      200,
		Purpose:     "research",
		Outcome:     audit.OutcomeSuccess,
		BreakGlass:  "cardiac arrest in bay 3",
		Description: "line\nbreak",
	}
	bare := audit.Record{ID: uuid.Must(uuid.NewV7()), Time: time.Now(), Action: audit.ActionLogin,
		EntityType: "Client", Outcome: audit.OutcomeDenied, Actor: audit.Actor{Subject: "x", ClientID: "x"}}
	if err := store.Append(ctx, full, bare); err != nil {
		t.Fatal(err)
	}
	for _, want := range []audit.Record{full, bare} {
		got, err := store.Get(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, stored(want)) {
			t.Errorf("Get returned\n%+v\nwant\n%+v", got, stored(want))
		}
		if string(got.Canonical()) != string(stored(want).Canonical()) {
			t.Errorf("the stored record hashes differently from the one appended")
		}
	}

	if _, err := store.Get(ctx, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
	if err := store.Append(ctx, bare); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("appending a stored id again = %v, want ErrConflict", err)
	}
	future := auditRecord(time.Now().Add(48*time.Hour), nil)
	var verr *domain.ValidationError
	if err := store.Append(ctx, future); !errors.As(err, &verr) {
		t.Errorf("a record dated two days ahead = %v, want a validation error", err)
	}

	// Defaults: an id and the current time.
	noID := auditRecord(time.Time{}, nil)
	noID.ID = uuid.Nil
	if err := store.Append(ctx, noID); err != nil {
		t.Fatal(err)
	}
	var at time.Time
	if err := pool.QueryRow(ctx, `SELECT recorded_at FROM audit_events WHERE request_id = $1`, noID.RequestID).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Errorf("a record without a time was dated %v", at)
	}
}

func TestAuditAppendWritesOutboxAndSealQueueInTheSameTransaction(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)

	p := uuid.New()
	withPatient := auditRecord(time.Now(), &p)
	withoutPatient := auditRecord(time.Now(), nil)
	withoutPatient.Action, withoutPatient.EntityType = audit.ActionLogin, "Client"
	if err := store.Append(ctx, withPatient, withoutPatient); err != nil {
		t.Fatal(err)
	}

	rows, err := pool.Query(ctx, `SELECT id, topic, key, type, source, subject, time, data FROM outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		ID                                uuid.UUID
		Topic, Key, Type, Source, Subject string
		Time                              time.Time
		Data                              json.RawMessage
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[event])
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d outbox events, want one per record", len(events))
	}
	for i, tc := range []struct {
		rec audit.Record
		key string
	}{{withPatient, p.String()}, {withoutPatient, "ward-app"}} {
		e := events[i]
		if e.ID != tc.rec.ID || e.Topic != "zarish.audit.v1" || e.Key != tc.key ||
			e.Type != "audit."+string(tc.rec.Action) || e.Source != "/v1/audit" ||
			e.Subject != "AuditEvent/"+tc.rec.ID.String() || !e.Time.Equal(tc.rec.Time.Truncate(time.Microsecond)) {
			t.Errorf("outbox event %d = %+v; record %+v", i, e, tc.rec)
		}
		var data audit.Record
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stored(data), stored(tc.rec)) {
			t.Errorf("event data = %+v, want the record", data)
		}
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_unsealed`); n != 2 {
		t.Errorf("%d records queued for sealing, want 2", n)
	}

	// Inside another store's transaction: rolled back with it, nothing stays.
	rolledBack := auditRecord(time.Now(), &p)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := postgres.AppendAudit(ctx, tx, rolledBack); err != nil {
			return err
		}
		return errors.New("the write failed")
	})
	if err == nil {
		t.Fatal("transaction committed")
	}
	for _, table := range []string{"audit_events", "audit_unsealed", "outbox"} {
		if n := countRows(t, pool, `SELECT count(*) FROM `+table); n != 2 {
			t.Errorf("%s has %d rows after a rollback, want 2", table, n)
		}
	}
}

func requireRefused(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), sql)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("%s: err = %v, want refused with SQLSTATE 42501", sql, err)
	}
}

func TestAuditTablesRefuseUpdateDeleteAndTruncate(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	sealer := postgres.NewAuditSealer(pool, nil)

	r := auditRecord(time.Now(), nil)
	if err := store.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := sealer.SealOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var partition string
	if err := pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM audit_events WHERE id = $1`, r.ID).Scan(&partition); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit_events SET entity_id = 'forged'`,
		`UPDATE audit_events SET recorded_at = recorded_at - interval '1 year'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
		`UPDATE ` + partition + ` SET description = 'forged'`,
		`DELETE FROM ` + partition,
		`TRUNCATE ` + partition,
		`TRUNCATE audit_events_default`,
		`UPDATE audit_seals SET hash = '\x00'`,
		`DELETE FROM audit_seals`,
		`TRUNCATE audit_seals`,
	} {
		requireRefused(t, pool, sql)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events WHERE entity_id = '' AND description = ''`); n != 1 {
		t.Errorf("audit_events changed: %d untouched rows, want 1", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM audit_seals`); n != 1 {
		t.Errorf("audit_seals has %d rows, want 1", n)
	}
}

func TestAuditQueryFiltersAndPages(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)

	p1, p2 := uuid.New(), uuid.New()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var all []audit.Record
	add := func(offset time.Duration, change func(*audit.Record)) audit.Record {
		r := auditRecord(base.Add(offset), nil)
		change(&r)
		all = append(all, r)
		return r
	}
	readP1 := add(1*time.Minute, func(r *audit.Record) { r.PatientID, r.EntityID = &p1, p1.String() })
	searchHit := add(2*time.Minute, func(r *audit.Record) {
		r.Action, r.PatientIDs = audit.ActionSearch, []uuid.UUID{p2, p1}
	})
	updP2 := add(3*time.Minute, func(r *audit.Record) {
		r.Action, r.PatientID, r.Actor.Subject = audit.ActionUpdate, &p2, "nurse.joy"
	})
	obsP1 := add(4*time.Minute, func(r *audit.Record) {
		r.Action, r.PatientID, r.EntityType, r.EntityID = audit.ActionCreate, &p1, "Observation", "obs-1"
	})
	login := add(5*time.Minute, func(r *audit.Record) {
		r.Action, r.EntityType, r.Actor.Subject = audit.ActionLogin, "Client", "nurse.joy"
	})
	// Two records in the same microsecond: the cursor must not lose either.
	twinA := add(6*time.Minute, func(r *audit.Record) {})
	twinB := add(6*time.Minute, func(r *audit.Record) {})
	if err := store.Append(ctx, all...); err != nil {
		t.Fatal(err)
	}
	twins := []uuid.UUID{twinA.ID, twinB.ID}
	if twinA.ID.String() < twinB.ID.String() {
		twins = []uuid.UUID{twinB.ID, twinA.ID} // newest first, then id descending
	}

	tests := []struct {
		name   string
		filter audit.Filter
		want   []uuid.UUID
	}{
		{"everything, newest first", audit.Filter{},
			append(append([]uuid.UUID{}, twins...), login.ID, obsP1.ID, updP2.ID, searchHit.ID, readP1.ID)},
		{"a patient as subject or in search results", audit.Filter{PatientID: &p1},
			[]uuid.UUID{obsP1.ID, searchHit.ID, readP1.ID}},
		{"an actor", audit.Filter{Actor: "nurse.joy"}, []uuid.UUID{login.ID, updP2.ID}},
		{"an action", audit.Filter{Action: audit.ActionSearch}, []uuid.UUID{searchHit.ID}},
		{"an entity type", audit.Filter{EntityType: "Observation"}, []uuid.UUID{obsP1.ID}},
		{"a period, from inclusive and to exclusive", audit.Filter{From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute)},
			[]uuid.UUID{updP2.ID, searchHit.ID}},
		{"combined", audit.Filter{PatientID: &p2, Actor: "dr.amina"}, []uuid.UUID{searchHit.ID}},
		{"nothing", audit.Filter{Actor: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{0, 1, 2, 3} {
				f := tt.filter
				f.Limit = limit
				var got []uuid.UUID
				for pages := 0; ; pages++ {
					page, next, err := store.Query(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if limit > 0 && len(page) > limit {
						t.Fatalf("page of %d records with limit %d", len(page), limit)
					}
					got = append(got, recordIDs(page)...)
					if next == "" {
						break
					}
					if pages > 20 {
						t.Fatal("pagination does not end")
					}
					f.Cursor = next
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("limit %d: got %v, want %v", limit, got, tt.want)
				}
			}
		})
	}

	page, _, err := store.Query(ctx, audit.Filter{Action: audit.ActionSearch})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || !reflect.DeepEqual(page[0], stored(searchHit)) {
		t.Errorf("Query returned %+v, want the stored record", page)
	}
	for _, bad := range []string{"not base64!", "bm90IGpzb24", "e30"} {
		if _, _, err := store.Query(ctx, audit.Filter{Cursor: bad}); !errors.Is(err, domain.ErrBadCursor) {
			t.Errorf("cursor %q: err = %v, want ErrBadCursor", bad, err)
		}
	}
}

func TestAuditReports(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)

	p, other := uuid.New(), uuid.New()
	from := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	to := from.Add(time.Hour)
	var rs []audit.Record
	mk := func(at time.Time, change func(*audit.Record)) audit.Record {
		r := auditRecord(at, nil)
		change(&r)
		rs = append(rs, r)
		return r
	}
	// Just outside the period, on either side.
	mk(from.Add(-time.Second), func(r *audit.Record) { r.PatientID = &p; r.BreakGlass = "x" })
	read := mk(from, func(r *audit.Record) { r.PatientID = &p })
	search := mk(from.Add(time.Minute), func(r *audit.Record) { r.Action, r.PatientIDs = audit.ActionSearch, []uuid.UUID{other, p} })
	denied := mk(from.Add(2*time.Minute), func(r *audit.Record) {
		r.Action, r.Outcome, r.PatientID, r.Actor.Subject = audit.ActionDenied, audit.OutcomeDenied, &p, "intruder"
	})
	glass := mk(from.Add(3*time.Minute), func(r *audit.Record) {
		r.PatientID, r.BreakGlass, r.Actor.Subject = &other, "unconscious, no consent possible", "dr.er"
	})
	otherPatient := mk(from.Add(4*time.Minute), func(r *audit.Record) { r.PatientID = &other })
	mk(to, func(r *audit.Record) { r.PatientID = &p; r.BreakGlass = "y" })
	if err := store.Append(ctx, rs...); err != nil {
		t.Fatal(err)
	}

	disclosures, err := store.Disclosures(ctx, p, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uuid.UUID{read.ID, search.ID, denied.ID}; fmt.Sprint(recordIDs(disclosures)) != fmt.Sprint(want) {
		t.Errorf("Disclosures = %v, want %v (oldest first, subject or search result, denials included)", recordIDs(disclosures), want)
	}
	if len(disclosures) > 0 && !reflect.DeepEqual(disclosures[0], stored(read)) {
		t.Errorf("Disclosures[0] = %+v, want the stored record", disclosures[0])
	}

	activity, err := store.UserActivity(ctx, "dr.amina", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uuid.UUID{read.ID, search.ID, otherPatient.ID}; fmt.Sprint(recordIDs(activity)) != fmt.Sprint(want) {
		t.Errorf("UserActivity = %v, want %v", recordIDs(activity), want)
	}

	glassed, err := store.BreakGlass(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uuid.UUID{glass.ID}; fmt.Sprint(recordIDs(glassed)) != fmt.Sprint(want) {
		t.Errorf("BreakGlass = %v, want %v", recordIDs(glassed), want)
	}
	if none, err := store.BreakGlass(ctx, to.Add(time.Hour), to.Add(2*time.Hour)); err != nil || len(none) != 0 {
		t.Errorf("BreakGlass of an empty period = %v, %v", none, err)
	}
}

func TestAuditReportRefusesMoreThanItsLimit(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	p := uuid.New()
	at := time.Now().Add(-time.Minute)
	batch := make([]audit.Record, 0, 1000)
	for range (postgres.AuditReportLimit + 1) / 1000 {
		batch = batch[:0]
		for range 1000 {
			batch = append(batch, auditRecord(at, &p))
		}
		if err := store.Append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Append(ctx, auditRecord(at, &p)); err != nil {
		t.Fatal(err)
	}
	_, err := store.Disclosures(ctx, p, at.Add(-time.Hour), time.Now().Add(time.Minute))
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("a report over the limit = %v, want a validation error asking for a narrower period", err)
	}
	got, err := store.Disclosures(ctx, p, at.Add(-time.Hour), at)
	if err != nil || len(got) != 0 {
		t.Errorf("narrower period: %d records, %v", len(got), err)
	}
}

func TestEnsureAuditPartitions(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)

	partitionOf := func(id uuid.UUID) string {
		var name string
		if err := pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM audit_events WHERE id = $1`, id).Scan(&name); err != nil {
			t.Fatal(err)
		}
		return name
	}
	bounds := func(name string) string {
		var b string
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = $1`, name).Scan(&b)
		})
		if err != nil {
			t.Fatalf("partition %s: %v", name, err)
		}
		return b
	}

	// The migration made this month and the next two.
	now := time.Now().UTC()
	for i := range 3 {
		m := time.Date(now.Year(), now.Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
		bounds(fmt.Sprintf("audit_events_y%04dm%02d", m.Year(), m.Month()))
	}
	r := auditRecord(now, nil)
	if err := store.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, want := partitionOf(r.ID), fmt.Sprintf("audit_events_y%04dm%02d", now.Year(), now.Month()); got != want {
		t.Errorf("a record of now is in %s, want %s", got, want)
	}

	// A month a year and more ahead, with its TRUNCATE guard.
	ahead := time.Date(now.Year()+1, now.Month()+3, 15, 0, 0, 0, 0, time.UTC)
	if err := postgres.EnsureAuditPartitions(ctx, pool, ahead, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		m := time.Date(ahead.Year(), ahead.Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
		name := fmt.Sprintf("audit_events_y%04dm%02d", m.Year(), m.Month())
		want := fmt.Sprintf("FOR VALUES FROM ('%s') TO ('%s')",
			m.Format("2006-01-02 15:04:05-07"), m.AddDate(0, 1, 0).Format("2006-01-02 15:04:05-07"))
		if b := bounds(name); b != want {
			t.Errorf("%s bounds %s, want %s", name, b, want)
		}
		requireRefused(t, pool, `TRUNCATE `+name)
	}
	if err := postgres.EnsureAuditPartitions(ctx, pool, ahead, 1); err != nil {
		t.Errorf("ensuring existing partitions again: %v", err)
	}

	// A month created before its records arrive holds them.
	past := time.Date(2020, 3, 15, 12, 0, 0, 0, time.UTC)
	if err := postgres.EnsureAuditPartitions(ctx, pool, past, 0); err != nil {
		t.Fatal(err)
	}
	inMarch := auditRecord(past, nil)
	if err := store.Append(ctx, inMarch); err != nil {
		t.Fatal(err)
	}
	if got := partitionOf(inMarch.ID); got != "audit_events_y2020m03" {
		t.Errorf("a record of March 2020 is in %s", got)
	}

	// A month without a partition goes to the default one, and then its
	// partition can no longer be made.
	orphan := auditRecord(time.Date(2019, 5, 2, 0, 0, 0, 0, time.UTC), nil)
	if err := store.Append(ctx, orphan); err != nil {
		t.Fatalf("an insert must not fail for lack of a partition: %v", err)
	}
	if got := partitionOf(orphan.ID); got != "audit_events_default" {
		t.Errorf("a record of May 2019 is in %s, want the default partition", got)
	}
	err := postgres.EnsureAuditPartitions(ctx, pool, orphan.Time, 0)
	if !errors.Is(err, postgres.ErrAuditPartitionBlocked) {
		t.Errorf("partition over rows in the default partition: err = %v, want ErrAuditPartitionBlocked", err)
	}
}

func TestAuditConcurrentAppendsFailOnlyTheCallWithABadRecord(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	existing := auditRecord(time.Now(), nil)
	if err := store.Append(ctx, existing); err != nil {
		t.Fatal(err)
	}

	const calls = 60
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			p := uuid.New()
			r := auditRecord(time.Now(), &p)
			if i == calls/2 {
				r.ID = existing.ID // already stored
			}
			errs[i] = store.Append(ctx, r, auditRecord(time.Now(), nil))
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i == calls/2 && !errors.Is(err, domain.ErrConflict):
			t.Errorf("call with a stored id: %v, want ErrConflict", err)
		case i != calls/2 && err != nil:
			t.Errorf("call %d: %v", i, err)
		}
	}
	// Every other call stored both its records; the refused call neither.
	if n := countRows(t, pool, `SELECT count(*) FROM audit_events`); n != 1+2*(calls-1) {
		t.Errorf("%d records stored, want %d", n, 1+2*(calls-1))
	}
	if n := countRows(t, pool, `SELECT count(*) FROM outbox`); n != 1+2*(calls-1) {
		t.Errorf("%d outbox events, want %d", n, 1+2*(calls-1))
	}
}

func TestBreakGlassRaisesAlertEvent(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewAuditStore(pool)
	patientID := uuid.Must(uuid.NewV7())
	plain := audit.Record{Action: audit.ActionRead, Outcome: audit.OutcomeSuccess, EntityType: "Patient",
		PatientID: &patientID, Actor: audit.Actor{Subject: "nurse", ClientID: "ward-app"}, Purpose: audit.DefaultPurpose}
	glass := plain
	glass.BreakGlass = "unconscious patient, no consent possible"
	if err := store.Append(context.Background(), plain, glass); err != nil {
		t.Fatal(err)
	}
	var alerts int
	var key string
	err := pool.QueryRow(context.Background(),
		`SELECT count(*), max(key) FROM outbox WHERE topic = $1 AND type = $2`,
		postgres.NotificationsTopic, postgres.EventBreakGlassAlert).Scan(&alerts, &key)
	if err != nil {
		t.Fatal(err)
	}
	if alerts != 1 || key != patientID.String() {
		t.Fatalf("alerts %d keyed %q, want 1 keyed by the patient", alerts, key)
	}
}
