package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// BenchmarkHospitalDay runs a hospital day against one embedded stack. The
// ward (ward-3, where the dev stack's people work) starts with
// LOAD_INPATIENTS (40) patients in their beds, admitted before the day with
// their first doses given and their potassium reported; admissions arrive at
// LOAD_RATE (20) a minute for LOAD_DURATION (60s); time is compressed so a
// 15-minute nursing round passes every LOAD_ROUND (5s), and each admission
// stays as many rounds as keeps the census where it started (Little's law).
//
// An admission is registered by the clerk, admitted (encounter arrive →
// triage → start, by the physician), weighed by the nurse, its emergency
// department creatinine recorded by the laboratory, prescribed for (one
// patient in four is on warfarin), every order checked as it is placed and
// verified by the pharmacist, and sent for a potassium. Every round the
// nurse records the seven NEWS2 vital signs. In the first round a patient
// on warfarin is prescribed ibuprofen for pain, which the interaction check
// holds and the physician overrides with a reason; the nurse gives the
// doses and writes a note; the laboratory collects and receives the tube.
// In the second the result is in, one in five critical: the physician is
// paged (the critical-result alert on his live stream), the scientist
// telephones it and the read-back is confirmed (the callback), and the
// pathologist verifies the report; one admission in four is booked for a
// colonoscopy after discharge. One patient in four deteriorates in one
// round: the set scores NEWS2 ≥ 7, the ward nurse is paged, opens the alert
// and acknowledges it (she is its first recipient), and the next round's
// set, back to normal, resolves it. At the end of the stay the physician
// stops the prescriptions and, once the encounter shows every order closed,
// discharges the patient home.
//
// It prints, per operation, the count, rate, p50/p95/p99 and unexpected
// answers (any fails the run), the sustained throughput, and each figure
// beside its ceiling measured on the same stack in the same run: Temporal
// (no-op workflows, and workflows started and driven through four no-op
// Updates, the encounter's round trips), PostgreSQL (single-row INSERTs
// through a pool as large as the engine's) and Kafka (produced as the relay
// produces). With LOAD_SOAK set to a duration the same traffic runs that
// long instead, the process sampled every minute (ten times in a soak of
// less than ten minutes); see soakGrowth for when it fails. Run it with -benchtime 1x (make load, make soak).
func BenchmarkHospitalDay(b *testing.B) {
	cfg := dayConfig{
		rate:       loadSetting(b, "LOAD_RATE", 20.0, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }),
		duration:   loadSetting(b, "LOAD_DURATION", time.Minute, time.ParseDuration),
		inpatients: loadSetting(b, "LOAD_INPATIENTS", 40, strconv.Atoi),
		round:      loadSetting(b, "LOAD_ROUND", 5*time.Second, time.ParseDuration),
		soak:       loadSetting(b, "LOAD_SOAK", time.Duration(0), time.ParseDuration),
	}
	if cfg.rate <= 0 || cfg.duration <= 0 || cfg.inpatients <= 0 || cfg.round <= 0 || cfg.soak < 0 {
		b.Fatalf("LOAD_RATE, LOAD_DURATION, LOAD_INPATIENTS and LOAD_ROUND must be positive: %+v", cfg)
	}
	if cfg.soak > 0 {
		cfg.duration = cfg.soak
	}
	// Measure the engine, not the request budget one client would spend.
	// A soak's workflow cache is small enough to fill within its warm-up
	// (the day leaves every report open for amendments, and each booked
	// procedure), so what it measures after is the process, not the cache
	// filling up to WORKER_WORKFLOW_CACHE_SIZE.
	cache := loadSetting(b, "LOAD_WORKFLOW_CACHE", 0, strconv.Atoi)
	extra := []string{"RATE_LIMIT_PER_MINUTE", "0"}
	if cache > 0 {
		extra = append(extra, "WORKER_WORKFLOW_CACHE_SIZE", strconv.Itoa(cache))
	}
	e := startE2E(b, devConfig(b, extra...))
	h := newHospital(b, e, cfg)

	for b.Loop() {
		h.openDirectory()
		h.admitCensus()
		before := h.counters()
		d := h.day()
		after := h.counters()
		ceil := h.ceilings()

		d.print(h, before, after, ceil)
		if cfg.soak > 0 {
			printSamples(d.samples)
		}
		b.ReportMetric(float64(d.requests)/d.elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(d.started)/d.elapsed.Seconds(), "workflows/s")
		if d.unexpected > 0 {
			b.Fatalf("%d unexpected answers in the day; the figures are not from a clean run:\n%s", d.unexpected, strings.Join(d.firsts, "\n"))
		}
		if cfg.soak > 0 {
			for _, m := range []struct {
				name string
				of   func(procSample) float64
			}{
				{"live heap (MB)", func(s procSample) float64 { return megabytes(s.heap) }},
				{"goroutines", func(s procSample) float64 { return float64(s.goroutines) }},
			} {
				first, last, grew := soakGrowth(d.samples, m.of)
				fmt.Printf("%s after the warm-up: the first third's mean %.0f, the last third's %.0f (×%.2f; the limit is ×%.1f)\n",
					m.name, first, last, last/first, soakGrowthLimit)
				if grew {
					b.Errorf("%s grew without bound: the last third's mean %.0f is more than %.1f× the first third's %.0f", m.name, last, soakGrowthLimit, first)
				}
			}
		}
	}
}

// dayConfig is the day the benchmark runs.
type dayConfig struct {
	rate       float64       // admissions per minute
	duration   time.Duration // how long admissions arrive
	inpatients int           // the census: patients in their beds when the day starts
	round      time.Duration // real time per simulated 15-minute round
	soak       time.Duration // the soak's length; zero runs a day
}

// simulatedRound is the time between two nursing rounds on the ward.
const simulatedRound = 15 * time.Minute

// minStay is the shortest stay in rounds: admitted, the tube taken in the
// first round, the result in the second, discharged in the third.
const minStay = 3

// dayOp is one operation of the day: its name in the table, the Temporal
// round trips one request of it makes (a start or an Update), and whether it
// starts a workflow.
type dayOp struct {
	name   string
	trips  int
	starts bool
}

// dayOperations are the day's operations in the table's order. The waits
// for a page are not requests: they time the page from the request that
// caused it.
var dayOperations = []dayOp{
	{"registration", 0, false},
	{"encounter create", 1, true},
	{"encounter arrive", 1, false},
	{"encounter triage", 1, false},
	{"encounter start", 1, false},
	{"weight", 0, false},
	{"admission creatinine", 0, false},
	{"prescription place", 2, true},
	{"prescription override", 1, false},
	{"prescription verify", 1, false},
	{"lab order", 1, true},
	{"vitals", 0, false},
	{"dose given", 1, false},
	{"note create", 0, false},
	{"specimen collect", 1, false},
	{"specimen receive", 1, false},
	{"lab results", 1, false},
	{"page: critical result", 0, false},
	{"callback attempt", 1, false},
	{"callback confirm", 1, false},
	{"report verify", 1, false},
	{"procedure request", 2, true},
	{"procedure book", 1, false},
	{"page: NEWS2 ≥ 7", 0, false},
	{"alert read", 0, false},
	{"alert acknowledge", 1, false},
	{"prescription stop", 1, false},
	{"encounter read", 0, false},
	{"encounter discharge", 1, false},
}

// pageOps are the operations that time a page rather than a request.
var pageOps = []string{"page: critical result", "page: NEWS2 ≥ 7"}

// hospital is the stack, its people as the ward's systems act for them, and
// what the day has done so far.
type hospital struct {
	b   *testing.B
	e   *e2e
	cfg dayConfig
	// stay is how many rounds an admission stays.
	stay int

	clerk, doctor, nurse, pharmacist, scientist, pathologist *loadClient
	doctorID                                                 string
	nursePager, doctorPager                                  *pager

	db *pgx.Conn // the sampler's and the counters' own connection

	mu       sync.Mutex
	workers  []*loadWorker
	seq      atomic.Int64
	admitted atomic.Int64
	census   []*inpatient
}

func newHospital(b *testing.B, e *e2e, cfg dayConfig) *hospital {
	b.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 128
	b.Cleanup(transport.CloseIdleConnections)
	hc := &http.Client{Transport: transport, Timeout: time.Minute}
	admin := newLoadToken(func() string { return e.token(devClientID, "dev-secret", "") })
	acting := newLoadToken(e.actingToken)
	as := func(username string) *loadClient {
		return &loadClient{base: e.stack.APIURL, token: acting, http: hc, actingFor: demoPractitionerID(username).String()}
	}
	perRound := cfg.rate * cfg.round.Minutes()
	h := &hospital{b: b, e: e, cfg: cfg,
		stay:  max(minStay, int(float64(cfg.inpatients)/perRound+0.5)),
		clerk: &loadClient{base: e.stack.APIURL, token: admin, http: hc},
		// The ward's systems act for the dev stack's people on ward-3.
		doctor: as("dr.karim"), nurse: as("nurse.nadia"), pharmacist: as("pharm.farhana"),
		scientist: as("lab.rahim"), pathologist: as("path.imran"),
		doctorID: demoPractitionerID("dr.karim").String(),
	}
	conn, err := pgx.Connect(context.Background(), e.cfg.Database.URL.Reveal())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	h.db = conn

	// The nurse's and the physician's pagers: their live streams.
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	h.nursePager, h.doctorPager = newPager(), newPager()
	go h.nursePager.listen(ctx, h.nurse)
	go h.doctorPager.listen(ctx, h.doctor)
	for _, p := range []*pager{h.nursePager, h.doctorPager} {
		select {
		case <-p.connected:
		case <-time.After(30 * time.Second):
			b.Fatal("a pager's live stream did not open within 30s")
		}
	}
	return h
}

// worker is a new record of the day's requests, for one patient.
func (h *hospital) worker() *loadWorker {
	w := newLoadWorker(h.clerk, h.nurse, uint64(h.seq.Add(1)))
	h.mu.Lock()
	h.workers = append(h.workers, w)
	h.mu.Unlock()
	return w
}

// openDirectory puts the endoscopy list in the procedure directory: ten
// rooms, endoscopists and video endoscopes, open around the clock, so the
// day's colonoscopies fit in the week after discharge.
func (h *hospital) openDirectory() {
	week := make([]map[string]any, 7)
	for d := range week {
		week[d] = map[string]any{"weekday": d, "from": "00:00", "to": "24:00"}
	}
	for i := range 10 {
		n := strconv.Itoa(i + 1)
		for _, r := range []map[string]any{
			{"kind": "room", "name": "Endoscopy suite " + n, "capabilities": []string{"endoscopy"}, "turnoverMinutes": 15},
			{"kind": "staff", "name": "Endoscopist " + n, "skills": []string{"endoscopist"}, "practitionerId": uuid.Must(uuid.NewV7())},
			{"kind": "equipment", "name": "Video endoscope " + n, "equipmentKind": "video-endoscope", "turnoverMinutes": 20},
		} {
			r["timeZone"], r["hours"] = "Asia/Dhaka", week
			if status, raw, err := h.clerk.call(http.MethodPost, "/v1/procedures/resources", r); err != nil || status != http.StatusCreated {
				h.b.Fatalf("resource %s: %d %s %v", r["name"], status, raw, err)
			}
		}
	}
}

// admitCensus fills the ward before the day starts: LOAD_INPATIENTS
// admissions, each with a stay somewhere between its first rounds and a
// whole stay, so discharges run at the admission rate from the start. Its
// requests are not the day's.
func (h *hospital) admitCensus() {
	rng := rand.New(rand.NewPCG(18, 1))
	stays := make([]int, h.cfg.inpatients)
	for i := range stays {
		stays[i] = minStay + rng.IntN(h.stay-minStay+1)
	}
	h.census = make([]*inpatient, h.cfg.inpatients)
	var failed atomic.Int64
	perSecond(8, h.cfg.inpatients, func(i int) {
		p := h.newInpatient(stays[i])
		// In since before the day: the first round's work done, the
		// potassium back and normal, nothing booked.
		p.census, p.critical, p.procedure = true, false, false
		if !p.admit() || !p.firstRound() || !p.result() {
			failed.Add(1)
		}
		h.census[i] = p
	})
	ops := mergeStats(h.takeWorkers())
	if n := failed.Load(); n > 0 {
		for _, s := range ops {
			if s.sample != "" {
				h.b.Fatalf("%d of %d census admissions failed; first: %s", n, h.cfg.inpatients, s.sample)
			}
		}
		h.b.Fatalf("%d of %d census admissions failed", n, h.cfg.inpatients)
	}
	// The day keeps its own record from here on, once the engine has
	// published what the census wrote.
	for _, p := range h.census {
		p.w = h.worker()
	}
	h.settle()
}

// settleWithin bounds how long the census's events may take to go out.
const settleWithin = 2 * time.Minute

// settle waits until the outbox holds nothing unsent, so the census's
// events are not the day's work.
func (h *hospital) settle() {
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, postgres.PoolConfig{URL: h.e.cfg.Database.URL.Reveal(), MaxConns: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		h.b.Fatal(err)
	}
	defer pool.Close()
	outbox := postgres.NewOutboxReader(pool)
	defer outbox.Close()
	for deadline := time.Now().Add(settleWithin); ; {
		n, _, err := outbox.Backlog(ctx)
		if err != nil {
			h.b.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.b.Fatalf("%d census events still unsent after %s", n, settleWithin)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// takeWorkers returns the records so far and starts afresh.
func (h *hospital) takeWorkers() []*loadWorker {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.workers
	h.workers = nil
	return ws
}

// dayResult is what the day did.
type dayResult struct {
	elapsed    time.Duration
	ops        map[string]*opStats
	requests   int
	started    int
	trips      int
	unexpected int
	firsts     []string
	admitted   int64
	samples    []procSample
}

// day runs the census's rounds and the admissions until the day ends, with
// the process sampled all along.
func (h *hospital) day() dayResult {
	stop := make(chan struct{})
	start := time.Now()
	var wg sync.WaitGroup
	// The census's rounds, each patient's at its own moment of the round.
	rng := rand.New(rand.NewPCG(18, 2))
	for _, p := range h.census {
		first := start.Add(time.Duration(rng.Int64N(int64(h.cfg.round))))
		wg.Go(func() { p.rounds(first, stop) })
	}
	// Admissions at the rate, open loop: each on time whatever the engine's
	// answers to the ones before.
	every := time.Duration(float64(time.Minute) / h.cfg.rate)
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := h.newInpatient(h.stay)
			wg.Go(func() {
				h.admitted.Add(1)
				if p.admit() {
					p.rounds(time.Now().Add(h.cfg.round), stop)
				}
			})
		}
	})
	// The sampler.
	interval := time.Minute
	if h.cfg.soak > 0 && h.cfg.soak < 10*time.Minute {
		// A short soak samples ten times, so each third has samples to compare.
		interval = h.cfg.soak / 10
	}
	var samples []procSample
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				samples = append(samples, h.sample(time.Since(start)))
			}
		}
	}()

	time.Sleep(h.cfg.duration)
	close(stop)
	wg.Wait()
	<-sampled
	elapsed := time.Since(start)
	samples = append(samples, h.sample(elapsed))

	d := dayResult{elapsed: elapsed, ops: mergeStats(h.takeWorkers()), admitted: h.admitted.Load(), samples: samples}
	for _, op := range dayOperations {
		s := d.ops[op.name]
		if s == nil {
			continue
		}
		d.unexpected += s.errors
		if s.sample != "" {
			d.firsts = append(d.firsts, op.name+": "+s.sample)
		}
		if slices.Contains(pageOps, op.name) {
			continue
		}
		d.requests += len(s.latencies)
		d.trips += op.trips * len(s.latencies)
		if op.starts {
			d.started += len(s.latencies)
		}
	}
	return d
}

// print writes the day's table, its throughput and each figure beside its
// ceiling.
func (d dayResult) print(h *hospital, before, after counters, c ceiling) {
	cfg := h.cfg
	secs := d.elapsed.Seconds()
	kind := "Hospital day"
	if cfg.soak > 0 {
		kind = "Soak"
	}
	fmt.Printf("\n%s: %.0f admissions/min for %s onto a ward of %d; a %s round every %s (a stay of %d rounds, %s simulated); %s run\n\n",
		kind, cfg.rate, cfg.duration, cfg.inpatients, simulatedRound, cfg.round, h.stay,
		time.Duration(h.stay)*simulatedRound, d.elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tcount\tper s\tp50 ms\tp95 ms\tp99 ms\tunexpected\t")
	for _, op := range dayOperations {
		s := d.ops[op.name]
		if s == nil {
			continue
		}
		slices.Sort(s.latencies)
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f\t%.1f\t%.1f\t%d\t\n", op.name, len(s.latencies), float64(len(s.latencies))/secs,
			quantileMs(s.latencies, 50), quantileMs(s.latencies, 95), quantileMs(s.latencies, 99), s.errors)
	}
	fmt.Fprintf(tw, "all requests\t%d\t%.1f\t\t\t\t%d\t\n", d.requests, float64(d.requests)/secs, d.unexpected)
	tw.Flush()

	count := func(op string) int {
		if s := d.ops[op]; s != nil {
			return len(s.latencies)
		}
		return 0
	}
	discharged := count("encounter discharge")
	fmt.Printf("\nsustained: %.1f requests/s, %.2f workflows started/s; %d admitted (%.2f/min), %d discharged, %d NEWS2 ≥ 7 alerts acknowledged, %d critical results called back\n\n",
		float64(d.requests)/secs, float64(d.started)/secs, d.admitted, float64(d.admitted)/d.elapsed.Minutes(), discharged,
		count("alert acknowledge"), count("callback confirm"))

	commits := float64(after.commits-before.commits) / secs
	events := float64(after.events-before.events) / secs
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tday\tceiling (same stack, same run)\tratio")
	row := func(name string, day, ceil float64, what string) {
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f %s\t%.4f\n", name, day, ceil, what, day/ceil)
	}
	row("Temporal round trips/s (the requests' starts and Updates)", float64(d.trips)/secs, 5*c.fair, "(start + 4 no-op Updates, ×5 round trips)")
	row("workflows started/s (by requests)", float64(d.started)/secs, c.noop, "(no-op workflows)")
	row("encounters discharged/s", float64(discharged)/secs, c.fair, "(start + 4 no-op Updates, the encounter's round trips)")
	row("PostgreSQL transactions/s", commits, c.inserts, fmt.Sprintf("(single-row INSERTs, %d connections)", c.poolSize))
	row("Kafka events/s (all topics)", events, c.produced, fmt.Sprintf("(the relay's publisher, batches of %d)", kafka.DefaultBatchSize))
	tw.Flush()

	last := d.samples[len(d.samples)-1]
	fmt.Printf("\nat the end: live heap %.0f MB, RSS %.0f MB, peak RSS %.0f MB, %d goroutines, %d database connections\n\n",
		megabytes(last.heap), megabytes(last.rss), megabytes(peakRSSBytes(h.b)), last.goroutines, last.dbConns)
}
