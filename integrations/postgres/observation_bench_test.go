package postgres

// The observation benchmarks live in this package, not postgres_test: the
// raw-COPY ceiling must copy exactly the rows the store copies
// (copyObservations), and pgtest cannot be imported from here (it imports
// this package), so benchDatabase makes the database as pgtest does.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// benchDatabase creates a migrated database for one benchmark and drops it
// when the benchmark ends (see pgtest.NewPool).
func benchDatabase(b *testing.B) *pgxpool.Pool {
	b.Helper()
	ctx := context.Background()
	adminURL := os.Getenv("ZARISH_TEST_DATABASE_URL")
	if adminURL == "" {
		adminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		b.Fatalf("connect to %s: %v", Redact(adminURL), err)
	}
	defer admin.Close(ctx)
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := "zarish_bench_" + hex.EncodeToString(r[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := Connect(ctx, PoolConfig{URL: u.String(), MaxConns: 8}, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if err := Migrate(ctx, pool, logger); err != nil {
		b.Fatal(err)
	}
	return pool
}

// benchPatients registers n patients by COPY and returns their ids.
func benchPatients(b *testing.B, pool *pgxpool.Pool, n int) []uuid.UUID {
	b.Helper()
	ps := make([]patient.Patient, n)
	ids := make([]uuid.UUID, n)
	for i := range ps {
		p, err := patient.NewPatient(uuid.Must(uuid.NewV7()), patient.FormatMRN(int64(i+1)), patient.Details{
			Name: patient.Name{Given: []string{"Bench"}, Family: "Patient" + strconv.Itoa(i)}, BirthDate: "1960-05-17", Sex: "female",
		}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		ps[i], ids[i] = p, p.ID
	}
	for i := 0; i < n; i += 10_000 {
		if err := CopyPatients(context.Background(), pool, ps[i:min(i+10_000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

var (
	benchSubject   = observation.Subject{Sex: observation.SexFemale, AgeMonths: 66 * 12}
	benchPerformer = observation.Performer{ClientID: "monitor-gateway"}
)

func f(v float64) *float64 { return &v }

// vitalInput is one set's observation k (of five) for a patient at at:
// heart rate, respiratory rate, SpO2, temperature, blood pressure panel,
// with values that wander so some are abnormal and a few critical.
func vitalInput(rng *mrand.Rand, patientID uuid.UUID, k int, at time.Time) observation.Input {
	in := observation.Input{PatientID: patientID, EffectiveAt: at, Device: "bedside monitor"}
	q := func(code string, v float64, unit string) observation.Input {
		in.Code, in.Value = code, &observation.ValueInput{Value: f(v), Unit: unit}
		return in
	}
	switch k % 5 {
	case 0:
		return q(observation.CodeHeartRate, float64(50+rng.IntN(90)), "/min")
	case 1:
		return q(observation.CodeRespiratoryRate, float64(8+rng.IntN(20)), "/min")
	case 2:
		return q(observation.CodeSpO2, float64(88+rng.IntN(13)), "%")
	case 3:
		return q(observation.CodeBodyTemperature, 35.5+float64(rng.IntN(40))/10, "Cel")
	}
	in.Code = observation.CodeBloodPressurePanel
	sys := float64(85 + rng.IntN(100))
	in.Components = []observation.ComponentInput{
		{Code: observation.CodeSystolicBP, Value: f(sys), Unit: "mm[Hg]"},
		{Code: observation.CodeDiastolicBP, Value: f(sys - 30 - float64(rng.IntN(20))), Unit: "mm[Hg]"},
	}
	return in
}

// benchBatch makes n new observations of the patients, effective in the
// hour before now.
func benchBatch(b *testing.B, rng *mrand.Rand, patients []uuid.UUID, n int, now time.Time) []observation.Observation {
	b.Helper()
	out := make([]observation.Observation, n)
	for i := range out {
		at := now.Add(-time.Duration(rng.IntN(3600)) * time.Second)
		o, err := observation.New(uuid.Must(uuid.NewV7()), vitalInput(rng, patients[i%len(patients)], i, at), benchSubject, benchPerformer, now)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = o
	}
	return out
}

// rawCopy copies obs into observations (and the ranges they name that are
// new) with nothing else: the ceiling of any batch path.
func rawCopy(ctx context.Context, s *ObservationStore, obs []observation.Observation) error {
	ranges := s.ranges.pending()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := copyObservations(ctx, tx, obs, ranges); err != nil {
			return err
		}
		return ranges.store(ctx, tx)
	})
	if err == nil {
		ranges.committed()
	}
	return err
}

const benchBatchSize = 10_000

// BenchmarkObservationBatch measures RecordBatch with batches of 10,000
// observations of 1,000 patients (rows, outbox events and one audit record
// in one transaction), from one writer and from two at once (each with its
// own 500 patients), beside its ceiling measured in the same run: the same
// rows copied into the same table with a plain COPY and nothing else (no
// events, no audit). Each iteration writes one batch each way, alternating
// which goes first; it reports observations/s of both and their ratio.
func BenchmarkObservationBatch(b *testing.B) {
	ctx := context.Background()
	pool := benchDatabase(b)
	patients := benchPatients(b, pool, 1000)
	s := NewObservationStore(pool)
	now := time.Now()
	if err := s.EnsurePartitions(ctx, now.Add(-2*time.Hour), now); err != nil {
		b.Fatal(err)
	}
	record := func(ctx context.Context, obs []observation.Observation) error {
		rec := audit.Record{Actor: audit.Actor{Subject: "monitor-gateway", ClientID: "monitor-gateway"}, Action: audit.ActionCreate,
			Purpose: audit.DefaultPurpose, Outcome: audit.OutcomeSuccess, Method: "POST", Route: "/v1/observations/batch", Status: 201}
		_, _, err := s.RecordBatch(ctx, nil, &rec, obs)
		return err
	}
	raw := func(ctx context.Context, obs []observation.Observation) error { return rawCopy(ctx, s, obs) }
	rng := mrand.New(mrand.NewPCG(1, 2))
	// A first batch stores the catalogue's ranges, as a running store has.
	if err := record(ctx, benchBatch(b, rng, patients, benchBatchSize, now)); err != nil {
		b.Fatal(err)
	}
	for _, writers := range []int{1, 2} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			var stored, copied time.Duration
			// Writers are gateways of different wards: their patients differ.
			batches := func() [][]observation.Observation {
				out := make([][]observation.Observation, writers)
				share := len(patients) / writers
				for w := range out {
					out[w] = benchBatch(b, rng, patients[w*share:(w+1)*share], benchBatchSize, now)
				}
				return out
			}
			for i := range b.N {
				b.StopTimer()
				viaStore, viaCopy := batches(), batches()
				b.StartTimer()
				if i%2 == 0 {
					stored += concurrently(b, viaStore, record)
					copied += concurrently(b, viaCopy, raw)
				} else {
					copied += concurrently(b, viaCopy, raw)
					stored += concurrently(b, viaStore, record)
				}
			}
			n := float64(b.N * writers * benchBatchSize)
			b.ReportMetric(n/stored.Seconds(), "observations/s")
			b.ReportMetric(n/copied.Seconds(), "copy-observations/s")
			b.ReportMetric(copied.Seconds()/stored.Seconds(), "ratio-to-copy")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// concurrently writes each batch with write, all at once, and returns how
// long they took together.
func concurrently(b *testing.B, batches [][]observation.Observation, write func(context.Context, []observation.Observation) error) time.Duration {
	start := time.Now()
	errs := make(chan error, len(batches))
	for _, obs := range batches {
		go func() { errs <- write(context.Background(), obs) }()
	}
	for range batches {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// benchRows is how many observations BenchmarkObservationQueries loads:
// ZARISH_BENCH_OBSERVATIONS, 200,000 by default (run it with 10000000 by
// hand to see the queries at scale).
func benchRows(b *testing.B) int {
	if s := os.Getenv("ZARISH_BENCH_OBSERVATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 50_000 {
			b.Fatalf("ZARISH_BENCH_OBSERVATIONS=%q: want a number of at least 50000", s)
		}
		return n
	}
	return 200_000
}

// BenchmarkObservationQueries measures the reads of one patient with a year
// of hourly vitals (five observations an hour, 43,800 rows) among other
// patients' observations, benchRows in all, over thirteen monthly partitions.
func BenchmarkObservationQueries(b *testing.B) {
	ctx := context.Background()
	pool := benchDatabase(b)
	total := benchRows(b)
	patients := benchPatients(b, pool, 2000)
	target := patients[0]
	s := NewObservationStore(pool)
	end := time.Now().UTC().Truncate(time.Hour)
	start := end.AddDate(-1, 0, 0)
	if err := s.EnsurePartitions(ctx, start, end); err != nil {
		b.Fatal(err)
	}
	rng := mrand.New(mrand.NewPCG(3, 4))
	span := end.Sub(start)
	loadStart := time.Now()
	batch := make([]observation.Observation, 0, benchBatchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := rawCopy(ctx, s, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	add := func(in observation.Input) {
		o, err := observation.New(uuid.Must(uuid.NewV7()), in, benchSubject, benchPerformer, end)
		if err != nil {
			b.Fatal(err)
		}
		if batch = append(batch, o); len(batch) == benchBatchSize {
			flush()
		}
	}
	// The target's year, interleaved with everybody else's rows so that its
	// rows are spread over the heap as a ward's are.
	hours := int(span / time.Hour)
	others := total - 5*hours
	for h := 0; h < hours; h++ {
		at := start.Add(time.Duration(h) * time.Hour)
		for k := range 5 {
			add(vitalInput(rng, target, k, at.Add(time.Duration(k)*time.Minute)))
		}
		for range others / hours {
			p := patients[1+rng.IntN(len(patients)-1)]
			add(vitalInput(rng, p, rng.IntN(5), at.Add(time.Duration(rng.IntN(3600))*time.Second)))
		}
	}
	flush()
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE observations`); err != nil {
		b.Fatal(err)
	}
	var rows int64
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM observations`).Scan(&rows)
	b.Logf("loaded %d observations in %s", rows, time.Since(loadStart).Round(time.Millisecond))

	page, err := s.List(ctx, observation.Filter{PatientID: target, Limit: 1})
	if err != nil || len(page.Observations) != 1 {
		b.Fatalf("the target's newest observation: %v", err)
	}
	newest := page.Observations[0]
	vitals := []string{observation.CodeHeartRate, observation.CodeRespiratoryRate, observation.CodeSpO2,
		observation.CodeBodyTemperature, observation.CodeSystolicBP}
	for _, c := range []struct {
		name string
		run  func() (int, error)
	}{
		{"latest/5-codes", func() (int, error) {
			l, err := s.Latest(ctx, target, vitals)
			return len(l), err
		}},
		{"trend/heart-rate/24h-points", func() (int, error) {
			t, err := s.Trend(ctx, target, observation.CodeHeartRate, end.Add(-24*time.Hour), end, 0)
			return t.Count, err
		}},
		{"trend/heart-rate/30d-hourly", func() (int, error) {
			t, err := s.Trend(ctx, target, observation.CodeHeartRate, end.AddDate(0, 0, -30), end, time.Hour)
			return t.Count, err
		}},
		{"trend/heart-rate/year-daily", func() (int, error) {
			t, err := s.Trend(ctx, target, observation.CodeHeartRate, start, end, 24*time.Hour)
			return t.Count, err
		}},
		{"trend/systolic-from-panels/year-daily", func() (int, error) {
			t, err := s.Trend(ctx, target, observation.CodeSystolicBP, start, end, 24*time.Hour)
			return t.Count, err
		}},
		{"news2-readings/24h", func() (int, error) {
			r, err := s.NEWS2Readings(ctx, target, end, 24*time.Hour)
			return len(r), err
		}},
		{"list/first-page", func() (int, error) {
			p, err := s.List(ctx, observation.Filter{PatientID: target})
			return len(p.Observations), err
		}},
		{"list/first-page/last-7-days", func() (int, error) {
			p, err := s.List(ctx, observation.Filter{PatientID: target, From: end.AddDate(0, 0, -7)})
			return len(p.Observations), err
		}},
		{"list/first-page/heart-rate", func() (int, error) {
			p, err := s.List(ctx, observation.Filter{PatientID: target, Codes: []string{observation.CodeHeartRate}})
			return len(p.Observations), err
		}},
		{"get", func() (int, error) {
			_, versions, err := s.Get(ctx, newest.ID)
			return len(versions), err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			n, err := c.run()
			if err != nil || n == 0 {
				b.Fatalf("%s: %d results, %v", c.name, n, err)
			}
			b.ReportMetric(float64(n), "results")
			b.ResetTimer()
			for range b.N {
				if _, err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
