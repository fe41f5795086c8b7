package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// A pg_dump/pg_restore round trip of a populated database is a backup an
// operator can trust: the restored database answers every read exactly as
// the original did, keeps its audit trail append-only, partitioned and
// verifiable, and takes new writes onto the same chain. A tampered copy of
// the same dump fails verification, so the check can fail.
//
// The bodies compared are masked only where the answer itself differs per
// server: each server's own origin (http://127.0.0.1:<port>, in FHIR
// fullUrl and link values) becomes "{base}". Nothing else is masked: a
// successful answer carries no requestId of its own (the request ids in
// audit records are stored data and must match), every stored time —
// created, effective, recorded — must match to the nanosecond, and the
// windows that would default to "now" (trends, audit pages, verify) are
// given fixed bounds instead of being masked.
func TestBackupRoundTrip(t *testing.T) {
	pgDump, pgRestore := postgresTool(t, "pg_dump"), postgresTool(t, "pg_restore")

	// The original: populated through the router alone, then sealed.
	origPool := pgtest.NewPool(t)
	orig := backupRouter(t, origPool)
	popStart := time.Now().UTC()
	pop := populate(t, orig)
	sealAll(t, postgres.NewAuditSealer(origPool, nil))
	cutoff := time.Now().UTC() // after every populating request's record
	if n, _, err := postgres.AuditBacklog(t.Context(), origPool); err != nil || n != 0 {
		t.Fatalf("the original's chain is not sealed: %d unsealed (%v)", n, err)
	}
	sealed := scalar(t, origPool, `SELECT count(*) FROM audit_seals`)
	if events := scalar(t, origPool, `SELECT count(*) FROM audit_events`); events != sealed || sealed < 300 {
		t.Fatalf("the original holds %d audit records and %d seals; want them equal and at least 300", events, sealed)
	}
	origRows := tableRows(t, origPool)

	// Dump, and restore into a new database.
	dir := t.TempDir()
	dumpFile := filepath.Join(dir, "zarish.dump")
	began := time.Now()
	runTool(t, pgDump, "--format=custom", "--file="+dumpFile, "--dbname="+poolURL(origPool))
	dumpTook := time.Since(began)
	st, err := os.Stat(dumpFile)
	if err != nil {
		t.Fatal(err)
	}
	restoredURL := pgtest.NewDatabase(t)
	began = time.Now()
	runTool(t, pgRestore, "--exit-on-error", "--no-owner", "--dbname="+restoredURL, dumpFile)
	restoreTook := time.Since(began)
	restoredPool := backupPool(t, restoredURL)
	total := 0
	for _, n := range origRows {
		total += int(n)
	}
	t.Logf("backup: %d rows in %d tables (%d audit records, all sealed); pg_dump -Fc %.2f s, %d bytes; pg_restore %.2f s",
		total, len(origRows), sealed, dumpTook.Seconds(), st.Size(), restoreTook.Seconds())

	// Every table holds the same rows; the audit trail keeps its
	// partitions and its guards, and refuses changes.
	if got := tableRows(t, restoredPool); !maps.Equal(got, origRows) {
		t.Fatalf("row counts differ after restore:\noriginal %v\nrestored %v", origRows, got)
	}
	if o, r := auditPartitions(t, origPool), auditPartitions(t, restoredPool); !slices.Equal(o, r) || len(r) < 4 {
		t.Fatalf("audit partitions: original %v, restored %v", o, r)
	}
	origGuards, restoredGuards := auditGuards(t, origPool), auditGuards(t, restoredPool)
	if !slices.Equal(origGuards, restoredGuards) {
		t.Fatalf("audit triggers: original %v, restored %v", origGuards, restoredGuards)
	}
	for _, want := range []string{"audit_events.audit_events_append_only", "audit_events.audit_events_no_truncate",
		"audit_events_default.audit_events_append_only", "audit_events_default.audit_events_no_truncate",
		"audit_seals.audit_seals_append_only", "audit_seals.audit_seals_no_truncate"} {
		if !slices.Contains(restoredGuards, want+" enabled") {
			t.Errorf("restored database lacks the enabled trigger %s: %v", want, restoredGuards)
		}
	}
	var someEvent uuid.UUID
	if err := restoredPool.QueryRow(t.Context(), `SELECT event_id FROM audit_seals WHERE link = 1`).Scan(&someEvent); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE audit_events SET description = 'altered' WHERE id = '` + someEvent.String() + `'`,
		`DELETE FROM audit_events WHERE id = '` + someEvent.String() + `'`,
		`UPDATE audit_seals SET hash = prev_hash WHERE link = 1`,
		`DELETE FROM audit_seals WHERE link = 1`,
		`TRUNCATE audit_events`,
		`TRUNCATE audit_seals`,
	} {
		_, err := restoredPool.Exec(t.Context(), sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, "audit records are append-only") {
			t.Errorf("restored database, %s: %v; want it refused as append-only (42501)", sql, err)
		}
	}

	// The restored server verifies the whole chain before anything else
	// touches it: every record the original sealed, none waiting.
	restored := backupRouter(t, restoredPool)
	v := verify(t, restored, "/v1/audit/verify")
	if !v.Intact || v.Checked != int(sealed) || v.Unsealed != 0 || v.BrokenAt != nil {
		t.Fatalf("restored chain: %+v; want intact, %d checked, none unsealed", v, sealed)
	}

	// The same reads answer the same bodies.
	since, until := url.QueryEscape(popStart.Add(-time.Minute).Format(time.RFC3339Nano)), url.QueryEscape(cutoff.Format(time.RFC3339Nano))
	trendFrom, trendTo := url.QueryEscape(cutoff.Add(-24*time.Hour).Format(time.RFC3339Nano)), until
	paths := []string{
		"/v1/patients?limit=5",
		"/v1/patients?name=Rahman",
		"/v1/patients?birthDate=1960-03-09",
		"/v1/patients?mrn=" + pop.mrns[0],
		"/v1/clinical/practitioners",
		"/v1/clinical/practitioners/" + pop.nurse.String(),
		"/v1/clinical/encounters?limit=3",
		"/v1/clinical/encounters/" + pop.encounter.String(),
		"/v1/clinical/encounters/" + pop.encounter.String() + "/notes",
		"/v1/audit/events?limit=40&from=" + since + "&to=" + until,
		"/v1/audit/events?action=create&from=" + since + "&to=" + until,
		"/v1/audit/events?patientId=" + pop.patients[0].String() + "&from=" + since + "&to=" + until,
		"/v1/audit/reports/disclosures?patientId=" + pop.patients[1].String() + "&from=" + since + "&to=" + until,
		"/v1/audit/verify?to=" + until,
		"/fhir/R4/Patient?name=Rahman",
		"/fhir/R4/Practitioner/" + pop.nurse.String(),
		"/fhir/R4/Encounter/" + pop.encounter.String(),
		"/fhir/R4/AuditEvent?date=lt" + until + "&_count=25",
	}
	for _, n := range pop.notes {
		paths = append(paths, "/v1/clinical/notes/"+n.String())
	}
	for i, p := range pop.patients {
		id := p.String()
		paths = append(paths,
			"/v1/patients/"+id,
			"/v1/patients/"+id+"/allergies",
			"/v1/observations?patientId="+id+"&limit=4",
			"/v1/observations?patientId="+id+"&category=laboratory",
			"/v1/observations/latest?patientId="+id+"&codes=8867-4,85354-9,59408-5,2823-3",
			"/v1/observations/trends?patientId="+id+"&code=2823-3&from="+trendFrom+"&to="+trendTo,
			"/v1/observations/trends?patientId="+id+"&code=8867-4&bucket=PT1H&from="+trendFrom+"&to="+trendTo,
			"/fhir/R4/Patient/"+id,
			"/fhir/R4/Observation?patient="+id,
			"/fhir/R4/Observation?patient="+id+"&code=2823-3",
			"/fhir/R4/AllergyIntolerance?patient="+id,
		)
		if i < 2 {
			paths = append(paths, "/fhir/R4/Patient/"+id+"/$everything")
		}
	}
	for _, o := range pop.observations {
		paths = append(paths, "/v1/observations/"+o.String(), "/fhir/R4/Observation/"+o.String())
	}
	for _, a := range pop.allergies {
		paths = append(paths, "/v1/clinical/allergies/"+a.String(), "/fhir/R4/AllergyIntolerance/"+a.String())
	}
	compared := 0
	for _, p := range paths {
		compared += compareReads(t, orig, restored, p)
	}
	t.Logf("backup: %d answers compared on the original and the restored database", compared)

	// An Idempotency-Key the original answered is still answered from the
	// restored database.
	replay := call(t, restored, "POST", "/v1/observations", practitionerToken(pop.nurse), pop.keyedBody, "Idempotency-Key", pop.key)
	if replay.status != http.StatusCreated || replay.header.Get("Idempotent-Replayed") != "true" || replay.body != pop.keyedAnswer {
		t.Errorf("replayed key on the restored database: %d %s %s, want the first answer %s", replay.status, replay.header, replay.body, pop.keyedAnswer)
	}

	// New writes: the MRN sequence carries on where the original stands,
	// and the new records join the same chain, which still verifies.
	late := patientJSON("Late", "Arrival", "1999-12-31", "+880 1700-999999")
	r1, r2 := call(t, orig, "POST", "/v1/patients", adminToken, late), call(t, restored, "POST", "/v1/patients", adminToken, late)
	var p1, p2 struct {
		ID  uuid.UUID `json:"id"`
		MRN string    `json:"mrn"`
	}
	if json.Unmarshal([]byte(r1.body), &p1) != nil || json.Unmarshal([]byte(r2.body), &p2) != nil || r1.status != http.StatusCreated ||
		r2.status != http.StatusCreated || p2.MRN == "" || p1.MRN != p2.MRN || slices.Contains(pop.mrns, p2.MRN) {
		t.Fatalf("a new patient on each: original %d %s, restored %d %s; want the same next MRN", r1.status, r1.body, r2.status, r2.body)
	}
	if r := call(t, restored, "POST", "/v1/observations", practitionerToken(pop.nurse), quantityJSON(p2.ID, "8867-4", 72, "/min", ago(1))); r.status != http.StatusCreated {
		t.Fatalf("observation on the restored database: %d %s", r.status, r.body)
	}
	sealAll(t, postgres.NewAuditSealer(restoredPool, nil))
	events := scalar(t, restoredPool, `SELECT count(*) FROM audit_events`)
	if v := verify(t, restored, "/v1/audit/verify"); !v.Intact || v.Checked != int(events) || v.Checked <= int(sealed) || v.Unsealed != 0 {
		t.Fatalf("restored chain after new writes: %+v; want intact, all %d records checked", v, events)
	}

	// The negative control: the same dump restored once more, one record's
	// payload changed behind the triggers' back, is caught at its link.
	tamperedURL := pgtest.NewDatabase(t)
	runTool(t, pgRestore, "--exit-on-error", "--no-owner", "--dbname="+tamperedURL, dumpFile)
	tamperedPool := backupPool(t, tamperedURL)
	link := sealed / 2
	var victim uuid.UUID
	err = pgx.BeginFunc(t.Context(), tamperedPool, func(tx pgx.Tx) error {
		// Replica mode skips ordinary triggers for this transaction only.
		if _, err := tx.Exec(t.Context(), `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		return tx.QueryRow(t.Context(), `
			UPDATE audit_events e SET description = e.description || ' (altered)'
			FROM audit_seals s WHERE s.link = $1 AND e.id = s.event_id AND e.recorded_at = s.recorded_at
			RETURNING e.id`, link).Scan(&victim)
	})
	if err != nil {
		t.Fatalf("tamper with link %d: %v", link, err)
	}
	_, err = tamperedPool.Exec(t.Context(), `UPDATE audit_events SET description = '' WHERE id = $1`, victim)
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("the tampered copy after the tampering transaction: %v; want the trigger back on (42501)", err)
	}
	v = verify(t, backupRouter(t, tamperedPool), "/v1/audit/verify")
	if v.Intact || v.BrokenAt == nil || v.BrokenAt.Link != link || v.BrokenAt.EventID != victim ||
		!strings.Contains(v.BrokenAt.Reason, "changed after it was sealed") || v.Checked != int(link) {
		t.Fatalf("tampered copy: %+v (broken at %+v); want the break at link %d, event %s", v, v.BrokenAt, link, victim)
	}
}

// backupPopulation is what populate made, to read back.
type backupPopulation struct {
	nurse        uuid.UUID
	patients     []uuid.UUID
	mrns         []string
	observations []uuid.UUID
	allergies    []uuid.UUID
	encounter    uuid.UUID
	notes        []uuid.UUID

	// An observation recorded with an Idempotency-Key, and its answer.
	key, keyedBody, keyedAnswer string
}

// populate fills a database through the router: a practitioner, patients
// with contacts, vitals and labs (one critical), allergies, an encounter
// with notes, and reads, so the audit trail holds a few hundred records.
func populate(t *testing.T, srv *httptest.Server) backupPopulation {
	t.Helper()
	var pop backupPopulation
	r := call(t, srv, "POST", "/v1/clinical/practitioners", adminToken,
		`{"name":"Nurse Shirin Akter","roles":["nurse"],"units":["ward-3"],"contacts":[{"system":"email","value":"shirin@example.org"}]}`)
	pop.nurse = createdID(t, r)
	nurse := practitionerToken(pop.nurse)

	families := []string{"Rahman", "Begum", "Hossain", "Rahman", "Khatun", "Islam", "Chowdhury", "Rahman", "Uddin", "Akter"}
	for i, family := range families {
		birth := fmt.Sprintf("19%02d-03-%02d", 40+i*5, 1+i*2)
		r := call(t, srv, "POST", "/v1/patients", adminToken, patientJSON(fmt.Sprintf("Given%d", i), family, birth, fmt.Sprintf("+880 1711-%06d", i)))
		id := createdID(t, r)
		var p struct {
			MRN string `json:"mrn"`
		}
		_ = json.Unmarshal([]byte(r.body), &p)
		pop.patients, pop.mrns = append(pop.patients, id), append(pop.mrns, p.MRN)

		b := decodeBatch(t, call(t, srv, "POST", "/v1/observations/batch", nurse, batchJSON(
			quantityJSON(id, "8867-4", float64(70+i*7), "/min", ago(110)),
			panelJSON(id, float64(115+i*4), float64(70+i*2), ago(100)),
			quantityJSON(id, "59408-5", float64(99-i/2), "%", ago(90)),
			acvpuJSON(id, "A", ago(85)),
			quantityJSON(id, "8310-5", 98.6+float64(i)/10, "[degF]", ago(80)),
		)))
		for _, o := range b.Data {
			pop.observations = append(pop.observations, o.ID)
		}
		// Labs: potassium, then a critical potassium for every third patient.
		k := decodeObservation(t, call(t, srv, "POST", "/v1/observations", nurse, quantityJSON(id, "2823-3", 4.1, "mmol/L", ago(60))))
		pop.observations = append(pop.observations, k.ID)
		if i%3 == 0 {
			crit := decodeObservation(t, call(t, srv, "POST", "/v1/observations", nurse, quantityJSON(id, "2823-3", 6.9, "mmol/L", ago(20))))
			if crit.Interpretation.Flag != "HH" {
				t.Fatalf("potassium 6.9 flagged %q, want HH", crit.Interpretation.Flag)
			}
			pop.observations = append(pop.observations, crit.ID)
		}
		cr := decodeObservation(t, call(t, srv, "POST", "/v1/observations", nurse, quantityJSON(id, "2160-0", float64(80+i*9), "umol/L", ago(50))))
		pop.observations = append(pop.observations, cr.ID)

		if i%2 == 0 {
			a := call(t, srv, "POST", "/v1/patients/"+id.String()+"/allergies", nurse, fmt.Sprintf(
				`{"substance":{"text":"Penicillin","code":{"system":"http://snomed.info/sct","code":"764146007"}},"category":"medication",
				"criticality":"high","verificationStatus":"confirmed","reactions":[{"manifestations":["anaphylaxis"],"severity":"severe"}],
				"onset":"2019-04","recordedBy":%q}`, pop.nurse))
			pop.allergies = append(pop.allergies, createdID(t, a))
		}
		if i%3 == 1 {
			a := call(t, srv, "POST", "/v1/patients/"+id.String()+"/allergies", nurse,
				`{"substance":{"text":"Latex"},"category":"environment","criticality":"low","reactions":[{"manifestations":["hives"],"severity":"mild"}]}`)
			pop.allergies = append(pop.allergies, createdID(t, a))
		}
	}

	pop.key = "backup-obs-1"
	pop.keyedBody = quantityJSON(pop.patients[1], "8867-4", 88, "/min", ago(15))
	r = call(t, srv, "POST", "/v1/observations", nurse, pop.keyedBody, "Idempotency-Key", pop.key)
	pop.observations, pop.keyedAnswer = append(pop.observations, decodeObservation(t, r).ID), r.body

	// An encounter (its read model; the workflow is the fake's) with a
	// signed note and a draft.
	r = call(t, srv, "POST", "/v1/clinical/encounters", adminToken,
		`{"patientId":"`+pop.patients[0].String()+`","class":"emergency","reason":"chest pain","location":"ed-resus"}`,
		"Idempotency-Key", "backup-enc-1")
	pop.encounter = createdID(t, r)
	notesPath := "/v1/clinical/encounters/" + pop.encounter.String() + "/notes"
	for i, text := range []string{"ED review", "Nursing handover"} {
		r := call(t, srv, "POST", notesPath, nurse, fmt.Sprintf(`{"type":"soap","patientId":%q,"text":%q,"sections":%s}`,
			pop.patients[0], text, soapSections))
		id := createdID(t, r)
		pop.notes = append(pop.notes, id)
		if i == 0 {
			if r := call(t, srv, "POST", "/v1/clinical/notes/"+id.String()+"/sign", nurse, `{}`); r.status != http.StatusOK {
				t.Fatalf("sign: %d %s", r.status, r.body)
			}
		}
	}

	// Reads, so the trail holds the ward's day.
	for round := range 12 {
		for _, id := range pop.patients {
			for _, p := range []string{"/v1/patients/" + id.String(), "/v1/observations?patientId=" + id.String()} {
				if r := call(t, srv, "GET", p, adminToken, ""); r.status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", p, r.status, r.body)
				}
			}
		}
		if r := call(t, srv, "GET", "/v1/patients?name="+families[round%len(families)], adminToken, ""); r.status != http.StatusOK {
			t.Fatalf("search: %d %s", r.status, r.body)
		}
	}
	return pop
}

// patientJSON is a registration with contacts: a phone, an address and an
// emergency contact.
func patientJSON(given, family, birthDate, phone string) string {
	return fmt.Sprintf(`{"name":{"given":[%q],"family":%q},"birthDate":%q,"sex":"female",
		"telecom":[{"system":"phone","value":%q,"use":"mobile"},{"system":"email","value":"%s@example.org"}],
		"address":[{"use":"home","line":["House 12, Road 4"],"city":"Cox's Bazar","district":"Cox's Bazar","country":"BD"}],
		"emergencyContacts":[{"name":"Karim %s","relationship":"spouse","phone":"+880 1800-000001"}]}`,
		given, family, birthDate, phone, strings.ToLower(given), family)
}

// createdID reads the id of a resource a POST created.
func createdID(t *testing.T, r result) uuid.UUID {
	t.Helper()
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || r.status != http.StatusCreated || v.ID == uuid.Nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return v.ID
}

// backupRouter serves every route on pool, with a fake Temporal that
// accepts encounter starts.
func backupRouter(t *testing.T, pool *pgxpool.Pool) *httptest.Server {
	t.Helper()
	d, _ := depsOn(pool, nil)
	d.Temporal = &encounterTemporal{update: func(uuid.UUID, encounterflow.Request) (encounterflow.State, error) {
		return encounterflow.State{}, errors.New("no encounter transitions in the backup test")
	}}
	return serveRouter(t, d)
}

// backupPool connects to a restored database and migrates it as a server
// starting on it would: nothing is left to apply.
func backupPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := postgres.Connect(t.Context(), postgres.PoolConfig{URL: dsn, MaxConns: 8}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	before := scalar(t, pool, `SELECT count(*) FROM goose_db_version`)
	if err := postgres.Migrate(t.Context(), pool, logger); err != nil {
		t.Fatalf("migrate the restored database: %v", err)
	}
	if after := scalar(t, pool, `SELECT count(*) FROM goose_db_version`); after != before {
		t.Fatalf("the restored database needed %d migrations", after-before)
	}
	return pool
}

// poolURL is the connection URL of pool's database.
func poolURL(pool *pgxpool.Pool) string {
	u, err := url.Parse(pgtest.AdminURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + pool.Config().ConnConfig.Database
	return u.String()
}

// postgresTool finds a PostgreSQL client program on PATH or in the Debian
// and Ubuntu server directories; the backup test needs it and fails
// without it.
func postgresTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(found) > 0 {
		slices.Sort(found)
		return found[len(found)-1]
	}
	t.Fatalf("%s is needed for the backup test and is neither on PATH nor in /usr/lib/postgresql/*/bin: install the PostgreSQL client (apt-get install postgresql-client)", name)
	return ""
}

// runTool runs a PostgreSQL client program and fails the test with its
// output when it fails.
func runTool(t *testing.T, path string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
}

func scalar(t *testing.T, pool *pgxpool.Pool, sql string) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// tableRows counts the rows of every table (partitions on their own).
func tableRows(t *testing.T, pool *pgxpool.Pool) map[string]int64 {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, name := range names {
		out[name] = scalar(t, pool, `SELECT count(*) FROM `+pgx.Identifier{name}.Sanitize())
	}
	return out
}

// auditPartitions lists audit_events' partitions with their bounds.
func auditPartitions(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// auditGuards lists the triggers on the audit tables and their partitions
// as "table.trigger enabled|disabled".
func auditGuards(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT c.relname || '.' || tg.tgname || CASE tg.tgenabled WHEN 'D' THEN ' disabled' ELSE ' enabled' END
		FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
		WHERE NOT tg.tgisinternal AND c.relname LIKE 'audit%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func verify(t *testing.T, srv *httptest.Server, path string) VerifyBody {
	t.Helper()
	r := call(t, srv, "GET", path, adminToken, "")
	var v VerifyBody
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return v
}

// compareReads GETs path from both servers, and each next page while the
// answers name one, and fails unless status, representation headers and
// masked bodies are the same; it reports how many answers it compared.
func compareReads(t *testing.T, a, b *httptest.Server, path string) int {
	t.Helper()
	n := 0
	for path != "" && n < 20 {
		ra, rb := call(t, a, "GET", path, adminToken, ""), call(t, b, "GET", path, adminToken, "")
		n++
		if ra.status != http.StatusOK {
			t.Errorf("GET %s on the original: %d %s", path, ra.status, ra.body)
			return n
		}
		ma, mb := maskAnswer(a, ra.body), maskAnswer(b, rb.body)
		if rb.status != ra.status || ma != mb {
			at := firstDifference(ma, mb)
			t.Errorf("GET %s differs after restore at byte %d:\noriginal %d …%s…\nrestored %d …%s…", path, at,
				ra.status, excerpt(ma, at), rb.status, excerpt(mb, at))
			return n
		}
		for _, h := range []string{"Content-Type", "ETag", "Last-Modified"} {
			if ra.header.Get(h) != rb.header.Get(h) {
				t.Errorf("GET %s: %s %q on the original, %q restored", path, h, ra.header.Get(h), rb.header.Get(h))
			}
		}
		path = nextPage(path, ra.body)
	}
	return n
}

// firstDifference is the offset of the first byte where a and b differ.
func firstDifference(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// excerpt is s around offset at.
func excerpt(s string, at int) string {
	return s[max(0, at-120):min(len(s), at+120)]
}

// nextPage is path on the cursor a /v1 list's body names as next, or "".
func nextPage(path, body string) string {
	var page struct {
		Next *string `json:"next"`
	}
	if json.Unmarshal([]byte(body), &page) != nil || page.Next == nil || *page.Next == "" {
		return ""
	}
	u, err := url.Parse(path)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("cursor", *page.Next)
	u.RawQuery = q.Encode()
	return u.String()
}

// maskAnswer replaces srv's origin with {base}: the one part of an answer
// that differs from one server to the other.
func maskAnswer(srv *httptest.Server, body string) string {
	return strings.ReplaceAll(body, srv.URL, "{base}")
}
