package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// syntheaBundles are the Synthea R4 bundles of the shared test data.
func syntheaBundles(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../../../shared/testdata/synthea/*.json")
	if err != nil || len(files) < 16 {
		tb.Fatalf("the Synthea bundles of ../shared/testdata/synthea: %d files, %v", len(files), err)
	}
	out := make([][]byte, len(files))
	for i, f := range files {
		if out[i], err = os.ReadFile(f); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// importBundle imports raw with im, answering the entries' statuses.
func importBundle(tb testing.TB, im *bundle.Importer, raw []byte, rec *audit.Record) []int {
	tb.Helper()
	r, err := bundle.NewReader(bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := im.Import(context.Background(), r, observation.Performer{ClientID: "importer"}, rec)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]int, len(res.Entries))
	for i, e := range res.Entries {
		out[i] = e.Status
	}
	return out
}

// importRows counts the rows an import writes, table by table.
func importRows(tb testing.TB, pool *pgxpool.Pool) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, table := range []string{"patients", "observations", "observation_ranges", "idempotency_keys", "outbox",
		"audit_events", "audit_unsealed"} {
		var n int
		if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// imported is what a consumer of the database and the events sees of the
// imports, without the ids and times each write makes afresh.
type imported struct {
	Patients, Observations, Keys []string
	Events                       map[string]int
	Recorded                     []string
}

func importedOf(tb testing.TB, pool *pgxpool.Pool) imported {
	tb.Helper()
	ctx := context.Background()
	strs := func(sql string) []string {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			tb.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				tb.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	got := imported{
		Patients: strs(`SELECT concat_ws(' ', family, array_to_string(given, ','), name_search, birth_date, sex, version, active,
			array_to_string(identifier_keys, ','), array_to_string(phones, ','), resource - 'id' - 'mrn' - 'createdAt' - 'updatedAt') FROM patients`),
		Observations: strs(`SELECT concat_ws(' ', p.identifier_keys[1], o.code, o.effective_at, o.status, o.value_kind, o.value_num, o.value_unit,
			o.value_code, o.components, o.flag, o.delta_flags, o.subject_sex, o.subject_age_months, o.performer_client, o.range_id, o.version, o.current)
			FROM observations o JOIN patients p ON p.id = o.patient_id`),
		Keys:   strs(`SELECT scope || ' ' || key FROM idempotency_keys`),
		Events: map[string]int{},
	}
	for _, typ := range strs(`SELECT type FROM outbox`) {
		got.Events[typ]++
	}
	for _, data := range strs(`SELECT data::text FROM outbox WHERE type = 'observation.recorded'`) {
		var ev postgres.RecordedEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			tb.Fatal(err)
		}
		for _, o := range ev.Observations {
			o.ID, o.PatientID = uuid.Nil, uuid.Nil
			b, _ := json.Marshal(o)
			got.Recorded = append(got.Recorded, string(b))
		}
	}
	slices.Sort(got.Recorded)
	return got
}

// The bulk import writes what the patient and observation stores write
// entry by entry, for every Synthea bundle: the same patients, the same
// observations (values, flags, delta checks, ranges), the same keys, and
// events that carry the same observations — one observation.recorded per
// patient rather than one per observation, the same observation.critical
// and patient.created events.
func TestFHIRImportStoreWritesWhatTheStoresWrite(t *testing.T) {
	bundles := syntheaBundles(t)
	rowPool, bulkPool := pgtest.NewPool(t), pgtest.NewPool(t)
	rows := bundle.NewImporter(postgres.NewPatientStore(rowPool), postgres.NewObservationStore(rowPool), time.Now, uuid.NewV7)
	bulk := bundle.New(postgres.NewFHIRImportStore(bulkPool), time.Now, uuid.NewV7)
	created := 0
	for i, raw := range bundles {
		want, got := importBundle(t, rows, raw, nil), importBundle(t, bulk, raw, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("bundle %d: statuses %v, entry by entry %v", i, got, want)
		}
		for _, s := range got {
			if s == 201 {
				created++
			}
		}
	}
	want, got := importedOf(t, rowPool), importedOf(t, bulkPool)
	if len(got.Patients) != len(bundles) || len(got.Observations) < 300 || created != len(got.Patients)+len(got.Observations) {
		t.Fatalf("%d patients, %d observations, %d created", len(got.Patients), len(got.Observations), created)
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{{"patients", got.Patients, want.Patients}, {"observations", got.Observations, want.Observations},
		{"idempotency keys", got.Keys, want.Keys}, {"recorded observations", got.Recorded, want.Recorded}} {
		if !slices.Equal(c.got, c.want) {
			for i := range min(len(c.got), len(c.want)) {
				if c.got[i] != c.want[i] {
					t.Errorf("%s differ first at %d:\n bulk %s\n rows %s", c.name, i, c.got[i], c.want[i])
					break
				}
			}
			t.Errorf("%s: %d in bulk, %d entry by entry", c.name, len(c.got), len(c.want))
		}
	}
	if got.Events["patient.created"] != len(bundles) || got.Events["patient.created"] != want.Events["patient.created"] ||
		got.Events["observation.critical"] != want.Events["observation.critical"] ||
		want.Events["observation.recorded"] != len(want.Observations) || got.Events["observation.recorded"] != len(bundles) {
		t.Fatalf("events in bulk %v, entry by entry %v", got.Events, want.Events)
	}
	// Each patient's first version is kept as the register keeps it.
	for name, pool := range map[string]*pgxpool.Pool{"bulk": bulkPool, "entry by entry": rowPool} {
		if n := countRows(t, pool, `SELECT count(*) FROM patient_versions`); n != len(bundles) {
			t.Errorf("%s: %d patient versions, want %d", name, n, len(bundles))
		}
	}
	t.Logf("%d patients, %d observations, events %v", len(got.Patients), len(got.Observations), got.Events)

	// Again: every entry found, nothing written.
	before := importRows(t, bulkPool)
	for i, raw := range bundles {
		for j, s := range importBundle(t, bulk, raw, nil) {
			if s == 201 {
				t.Fatalf("bundle %d entry %d created again", i, j)
			}
		}
	}
	if after := importRows(t, bulkPool); !mapsEqual(after, before) {
		t.Fatalf("a re-import wrote: %v, before %v", after, before)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A transaction that fails after every write leaves nothing behind: not
// the patients, the observations, their keys, ranges and events, nor the
// audit record and its queue row.
func TestFHIRImportStoreRollsBackEverything(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewFHIRImportStore(pool)
	ctx := context.Background()
	before := importRows(t, pool)
	id, obsID := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	late := errors.New("the last entry is refused")
	err := store.Transaction(ctx, func(ctx context.Context) error {
		if _, err := store.Claim(ctx, []domain.Idempotency{{Scope: "test", Key: "p"}}, []uuid.UUID{id}); err != nil {
			return err
		}
		mrns, err := store.NextMRNs(ctx, 1)
		if err != nil {
			return err
		}
		p, err := patient.NewPatient(id, mrns[0], patient.Details{Name: patient.Name{Family: "Rahman", Given: []string{"Amina"}},
			BirthDate: "1980-02-03", Sex: "female", Identifiers: []patient.Identifier{{System: "urn:test", Value: "1"}}}, time.Now())
		if err != nil {
			return err
		}
		if err := store.InsertPatients(ctx, []patient.Patient{p}); err != nil {
			return err
		}
		o := newHeartRate(t, obsID, id, 190) // critical: its event too
		if err := store.InsertObservations(ctx, []observation.Observation{o}); err != nil {
			return err
		}
		if err := store.Audit(ctx, audit.Record{Action: audit.ActionCreate, EntityType: "Bundle", PatientID: &id,
			Actor: audit.Actor{Subject: "importer", ClientID: "importer"}, Outcome: audit.OutcomeSuccess, Status: 200}); err != nil {
			return err
		}
		found, err := store.FindPatients(ctx, []string{"urn:test|1"})
		if err != nil || found["urn:test|1"] != id {
			return fmt.Errorf("the patient inside the transaction: %v %v", found, err)
		}
		return late
	})
	if !errors.Is(err, late) {
		t.Fatalf("got %v", err)
	}
	if after := importRows(t, pool); !mapsEqual(after, before) {
		t.Fatalf("a rolled-back import left rows: %v, before %v", after, before)
	}
	// Outside a transaction the store refuses to write.
	if err := store.InsertPatients(ctx, nil); err == nil || !strings.Contains(err.Error(), "not inside a transaction") {
		t.Fatalf("a write outside a transaction: %v", err)
	}
}

func newHeartRate(tb testing.TB, id, patientID uuid.UUID, rate float64) observation.Observation {
	tb.Helper()
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	o, err := observation.New(id, observation.Input{PatientID: patientID, Code: "8867-4", Status: observation.StatusFinal, EffectiveAt: at,
		Value: &observation.ValueInput{Value: &rate, Unit: "/min"}}, observation.Subject{Sex: "female", AgeMonths: 500},
		observation.Performer{ClientID: "importer"}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

// Two imports of the same bundle at once register its patient once and
// record each observation once; the second answers what the first wrote.
func TestFHIRImportStoreConcurrentImports(t *testing.T) {
	pool := pgtest.NewPool(t)
	im := bundle.New(postgres.NewFHIRImportStore(pool), time.Now, uuid.NewV7)
	raw := syntheaBundles(t)[0]
	var wg sync.WaitGroup
	answers := make([][]int, 2)
	for i := range answers {
		wg.Go(func() { answers[i] = importBundle(t, im, raw, nil) })
	}
	wg.Wait()
	rows := importRows(t, pool)
	created := 0
	for i := range answers[0] {
		a, b := answers[0][i], answers[1][i]
		switch {
		case a == 201 && b == 200, a == 200 && b == 201:
			created++
		case a != b || a == 201:
			t.Fatalf("entry %d: %d and %d", i, a, b)
		}
	}
	if rows["patients"] != 1 || created != 1+rows["observations"] {
		t.Fatalf("%v, %d created", rows, created)
	}
}
