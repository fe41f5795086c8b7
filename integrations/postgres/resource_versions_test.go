package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/migrations"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// storedVersion is one row of a version table.
type storedVersion struct {
	version   int
	resource  string
	changedAt time.Time
	changedBy *string
}

func storedVersions(t *testing.T, pool *pgxpool.Pool, table string, id uuid.UUID) []storedVersion {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT version, resource::text, changed_at, changed_by::text FROM `+table+` WHERE id = $1 ORDER BY version`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storedVersion
	for rows.Next() {
		var v storedVersion
		if err := rows.Scan(&v.version, &v.resource, &v.changedAt, &v.changedBy); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// canonicalJSON is v encoded, decoded and encoded again, so that two
// encodings of the same content compare equal whatever their key order.
func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	raw, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	var generic any
	if err := json.Unmarshal([]byte(raw), &generic); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeRecord(action audit.Action, subject string) audit.Record {
	r := auditRecord(now, nil)
	r.Action, r.Actor = action, audit.Actor{Subject: subject, ClientID: "ward-app", Roles: []string{"clinician"},
		PractitionerID: "0190f3c4-0000-7000-8000-0000000000b2", Asserted: true}
	return r
}

// A create and two updates leave three versions, each exactly as it was
// written and by whom; an update that rolls back leaves none; a version is
// never changed or removed.
func TestPatientVersions(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewPatientStore(pool)
	created := writeRecord(audit.ActionCreate, "nurse.rina")
	p, _, err := s.Register(ctx, nil, &created, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, details("Salma", "Khatun", "1990-06-01"), now)
	})
	if err != nil {
		t.Fatal(err)
	}
	renamed := writeRecord(audit.ActionUpdate, "clerk.jamal")
	v2, err := s.Update(ctx, p.ID, &renamed, func(cur patient.Patient) (patient.Patient, error) {
		return cur.Replace(details("Salma", "Khatun-Ali", "1990-06-01"), now.Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	deactivated := writeRecord(audit.ActionDelete, "admin.rafiq")
	v3, err := s.Update(ctx, p.ID, &deactivated, func(cur patient.Patient) (patient.Patient, error) {
		next, _ := cur.Deactivate(now.Add(2 * time.Hour))
		return next, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An update whose audit record cannot be stored rolls back, version
	// and all.
	broken := writeRecord(audit.ActionUpdate, "clerk.jamal")
	broken.Status = 1000
	if _, err := s.Update(ctx, p.ID, &broken, func(cur patient.Patient) (patient.Patient, error) {
		return cur.Replace(details("Salma", "Begum", "1990-06-01"), now.Add(3*time.Hour))
	}); err == nil {
		t.Fatal("an update whose audit record was refused was stored")
	}
	// A change that keeps the version is no new version.
	if _, err := s.Update(ctx, p.ID, nil, func(cur patient.Patient) (patient.Patient, error) { return cur, nil }); err != nil {
		t.Fatal(err)
	}

	written := []patient.Patient{p, v2, v3}
	got, err := s.Versions(ctx, p.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("versions: %d, %v", len(got), err)
	}
	for i, want := range written {
		if canonicalJSON(t, got[i]) != canonicalJSON(t, want) {
			t.Errorf("version %d reads %+v, want %+v", i+1, got[i], want)
		}
	}
	if got[0].Name.Family != "Khatun" || got[1].Name.Family != "Khatun-Ali" || !got[1].Active || got[2].Active || got[2].Version != 3 {
		t.Errorf("versions %+v", got)
	}
	rows := storedVersions(t, pool, "patient_versions", p.ID)
	for i, rec := range []audit.Record{created, renamed, deactivated} {
		v := rows[i]
		if v.version != i+1 || canonicalJSON(t, v.resource) != canonicalJSON(t, written[i]) || !v.changedAt.Equal(written[i].UpdatedAt) ||
			v.changedBy == nil || canonicalJSON(t, *v.changedBy) != canonicalJSON(t, rec.Actor) {
			t.Errorf("row %d: %+v (changed by %v), want by %+v", i+1, v, v.changedBy, rec.Actor)
		}
	}
	if !strings.Contains(canonicalJSON(t, *rows[1].changedBy), `"subject":"clerk.jamal"`) {
		t.Errorf("version 2 changed by %s", *rows[1].changedBy)
	}
	if cur, _ := s.Get(ctx, p.ID); cur.Version != 3 || cur.Name.Family != "Khatun-Ali" {
		t.Errorf("current %+v", cur)
	}
	if _, err := s.Versions(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("versions of no patient: %v", err)
	}
	for _, sql := range []string{
		`UPDATE patient_versions SET resource = '{}' WHERE id = '` + p.ID.String() + `' AND version = 1`,
		`DELETE FROM patient_versions WHERE id = '` + p.ID.String() + `'`,
		`TRUNCATE patient_versions`,
	} {
		requireVersionsRefused(t, pool, sql)
	}
	if n := len(storedVersions(t, pool, "patient_versions", p.ID)); n != 3 {
		t.Errorf("%d versions after the refused changes", n)
	}
}

func TestAllergyVersions(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAllergyStore(pool)
	patientID := pgtest.Patient(t, pool)
	created := writeRecord(audit.ActionCreate, "dr.amina")
	a, err := s.Create(ctx, &created, newAllergy(t, patientID, allergyDetails("Penicillin", "764146007", allergy.CriticalityLow)))
	if err != nil {
		t.Fatal(err)
	}
	revise := func(rec *audit.Record, criticality allergy.Criticality, at time.Time) (allergy.Allergy, error) {
		return s.Update(ctx, a.ID, rec, func(cur allergy.Allergy) (allergy.Allergy, error) {
			return cur.Revise(allergyDetails("Penicillin", "764146007", criticality), at)
		})
	}
	second := writeRecord(audit.ActionUpdate, "dr.karim")
	v2, err := revise(&second, allergy.CriticalityHigh, allergyNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	third := writeRecord(audit.ActionUpdate, "pharm.nasrin")
	v3, err := revise(&third, allergy.CriticalityUnableToAssess, allergyNow.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	broken := writeRecord(audit.ActionUpdate, "dr.karim")
	broken.Status = 1000
	if _, err := revise(&broken, allergy.CriticalityLow, allergyNow.Add(3*time.Hour)); err == nil {
		t.Fatal("an update whose audit record was refused was stored")
	}

	written := []allergy.Allergy{a, v2, v3}
	got, err := s.Versions(ctx, a.ID)
	if err != nil || len(got) != 3 {
		t.Fatalf("versions: %d, %v", len(got), err)
	}
	for i, want := range written {
		if canonicalJSON(t, got[i]) != canonicalJSON(t, want) {
			t.Errorf("version %d reads %+v, want %+v", i+1, got[i], want)
		}
	}
	if got[0].Criticality != allergy.CriticalityLow || got[1].Criticality != allergy.CriticalityHigh ||
		got[2].Criticality != allergy.CriticalityUnableToAssess || got[2].Version != 3 {
		t.Errorf("versions %+v", got)
	}
	rows := storedVersions(t, pool, "allergy_versions", a.ID)
	for i, rec := range []audit.Record{created, second, third} {
		v := rows[i]
		if v.version != i+1 || canonicalJSON(t, v.resource) != canonicalJSON(t, written[i]) || !v.changedAt.Equal(written[i].UpdatedAt) ||
			v.changedBy == nil || canonicalJSON(t, *v.changedBy) != canonicalJSON(t, rec.Actor) {
			t.Errorf("row %d: %+v, want by %+v", i+1, v, rec.Actor)
		}
	}
	// A write without an audit record of its own names no one.
	withoutRecord, err := s.Create(ctx, nil, newAllergy(t, patientID, allergyDetails("Latex", "", allergy.CriticalityLow)))
	if err != nil {
		t.Fatal(err)
	}
	if rows := storedVersions(t, pool, "allergy_versions", withoutRecord.ID); len(rows) != 1 || rows[0].changedBy != nil {
		t.Errorf("a version written without an audit record: %+v", rows)
	}
	for _, sql := range []string{
		`UPDATE allergy_versions SET version = 9 WHERE id = '` + a.ID.String() + `'`,
		`DELETE FROM allergy_versions WHERE id = '` + a.ID.String() + `' AND version = 3`,
		`TRUNCATE allergy_versions`,
	} {
		requireVersionsRefused(t, pool, sql)
	}
}

// The migration keeps each row there is as its current version, and goes
// down and up again cleanly.
func TestVersionsMigrationBackfillsCurrentRows(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := postgres.Connect(ctx, postgres.PoolConfig{URL: pgtest.NewDatabase(t), MaxConns: 2}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { _ = db.Close() })
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	var version int64
	for _, src := range provider.ListSources() {
		if strings.HasSuffix(src.Path, "_resource_versions.sql") {
			version = src.Version
		}
	}
	if version == 0 {
		t.Fatal("no resource_versions migration")
	}
	if _, err := provider.UpTo(ctx, version-1); err != nil {
		t.Fatal(err)
	}
	patientID, allergyID := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	if _, err := pool.Exec(ctx, `INSERT INTO patients (id, mrn, version, family, given, name_search, birth_date, sex, resource, created_at, updated_at)
		VALUES ($1, '10000011', 4, 'Begum', '{Amina}', 'amina begum', '1988-02-29', 'female', '{"name":{"family":"Begum"},"version":4}', $2, $3)`,
		patientID, at.Add(-time.Hour), at); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO allergies (id, patient_id, text_key, category, criticality, clinical_status,
			verification_status, active, version, resource, created_at, updated_at)
		VALUES ($1, $2, 'latex', 'environment', 'low', 'active', 'confirmed', true, 2, '{"version":2}', $3, $3)`,
		allergyID, patientID, at); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if v := storedVersions(t, pool, "patient_versions", patientID); len(v) != 1 || v[0].version != 4 ||
		canonicalJSON(t, v[0].resource) != `{"name":{"family":"Begum"},"version":4}` || !v[0].changedAt.Equal(at) || v[0].changedBy != nil {
		t.Errorf("patient backfilled as %+v", v)
	}
	if v := storedVersions(t, pool, "allergy_versions", allergyID); len(v) != 1 || v[0].version != 2 ||
		v[0].resource != `{"version": 2}` || !v[0].changedAt.Equal(at) || v[0].changedBy != nil {
		t.Errorf("allergy backfilled as %+v", v)
	}
	if _, err := provider.DownTo(ctx, version-1); err != nil {
		t.Fatalf("down: %v", err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM pg_class WHERE relname IN ('patient_versions', 'allergy_versions')`); n != 0 {
		t.Fatalf("%d version tables survived down", n)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	var triggers []string
	rows, err := pool.Query(ctx, `SELECT tgname FROM pg_trigger WHERE tgrelid IN ('patient_versions'::regclass, 'allergy_versions'::regclass) AND NOT tgisinternal ORDER BY tgname`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		_ = rows.Scan(&name)
		triggers = append(triggers, name)
	}
	rows.Close()
	if want := []string{"allergy_versions_append_only", "allergy_versions_no_truncate", "patient_versions_append_only", "patient_versions_no_truncate"}; !slices.Equal(triggers, want) {
		t.Errorf("triggers %v, want %v", triggers, want)
	}
}

func requireVersionsRefused(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	requireRefused(t, pool, sql)
	_, err := pool.Exec(context.Background(), sql)
	if err == nil || !strings.Contains(err.Error(), "versions are append-only") {
		t.Errorf("%s: %v, want refused as append-only", sql, err)
	}
}
