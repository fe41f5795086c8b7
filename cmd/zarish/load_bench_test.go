package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
)

// loadPatients is how many patients the registry holds before the load starts.
const loadPatients = 3000

var (
	loadGivenNames  = []string{"Amina", "Karim", "Nasrin", "Rafi", "Salma", "Jamal", "Farida", "Hasan", "Rumana", "Sabbir", "Tahmina", "Arif", "Shirin", "Mahmud", "Nadia", "Imran", "Laila", "Tanvir", "Sadia", "Habib", "Ayesha", "Rohan", "Priya", "Mohammed", "Fatima"}
	loadFamilyNames = []string{"Rahman", "Uddin", "Begum", "Ahmed", "Khatun", "Hossain", "Islam", "Akter", "Chowdhury", "Haque", "Sarker", "Miah", "Alam", "Karim", "Siddique", "Bhuiyan", "Talukder", "Mondal", "Sheikh", "Das"}
)

// BenchmarkMixedLoad runs a day's mix of traffic against one embedded stack
// seeded with patients through the API: LOAD_CLIENTS clients (16) for
// LOAD_DURATION (30s), each looping over patient search by name, patient
// reads, the patient-view decision support call, an encounter driven from
// start to discharge with a note (by the ward's system, for its nurse), a
// care plan created and listed, and now and then an audit query. It prints, per operation, requests, requests per
// second, p50/p95/p99 latency and unexpected answers, then the process's
// memory; any unexpected answer fails the run. Run it with -benchtime 1x
// (make load).
func BenchmarkMixedLoad(b *testing.B) {
	duration := loadSetting(b, "LOAD_DURATION", 30*time.Second, time.ParseDuration)
	clients := loadSetting(b, "LOAD_CLIENTS", 16, strconv.Atoi)

	// Measure the engine, not the request budget one client would spend.
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0"))
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = clients
	b.Cleanup(transport.CloseIdleConnections)
	api := &loadClient{
		base:  e.stack.APIURL,
		token: newLoadToken(func() string { return e.token(devClientID, "dev-secret", "") }),
		http:  &http.Client{Transport: transport, Timeout: time.Minute},
	}

	start := time.Now()
	reg := seedRegistry(b, api, clients)
	b.Logf("seeded %d patients through the API in %s", len(reg.patients), time.Since(start).Round(time.Millisecond))
	// The ward's system records what its nurse does (X-On-Behalf-Of).
	ward := &loadClient{base: api.base, token: newLoadToken(e.actingToken), http: api.http, actingFor: reg.nurse}

	for b.Loop() {
		start := time.Now()
		deadline := start.Add(duration)
		workers := make([]*loadWorker, clients)
		var wg sync.WaitGroup
		for i := range workers {
			w := newLoadWorker(api, ward, uint64(i))
			workers[i] = w
			wg.Go(func() {
				for time.Now().Before(deadline) {
					w.pick(reg)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)

		ops := mergeStats(workers)
		total, failed := 0, 0
		for _, s := range ops {
			total += len(s.latencies)
			failed += s.errors
		}
		var mem runtime.MemStats
		runtime.ReadMemStats(&mem)
		peakRSS := peakRSSBytes(b)

		fmt.Printf("\nMixed load: %d clients for %s against %d patients (%s run)\n\n",
			clients, duration, len(reg.patients), elapsed.Round(time.Millisecond))
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "operation\trequests\treq/s\tp50 ms\tp95 ms\tp99 ms\terrors\t")
		for _, name := range loadOperations {
			s := ops[name]
			if s == nil {
				continue
			}
			slices.Sort(s.latencies)
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t\n", name, len(s.latencies),
				float64(len(s.latencies))/elapsed.Seconds(),
				quantileMs(s.latencies, 50), quantileMs(s.latencies, 95), quantileMs(s.latencies, 99), s.errors)
		}
		fmt.Fprintf(tw, "all\t%d\t%.1f\t\t\t\t%d\t\n", total, float64(total)/elapsed.Seconds(), failed)
		tw.Flush()
		fmt.Printf("\nmemory at the end: heap in use %.0f MB, from the OS %.0f MB; peak RSS %.0f MB\n\n",
			megabytes(mem.HeapInuse), megabytes(mem.Sys), megabytes(peakRSS))

		b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
		b.ReportMetric(megabytes(mem.HeapInuse), "heap-inuse-MB")
		b.ReportMetric(megabytes(mem.Sys), "sys-MB")
		b.ReportMetric(megabytes(peakRSS), "peak-rss-MB")
		if failed > 0 {
			var first []string
			for _, name := range loadOperations {
				if s := ops[name]; s != nil && s.sample != "" {
					first = append(first, name+": "+s.sample)
				}
			}
			b.Fatalf("%d unexpected answers under load; the figures are not from a clean run:\n%s", failed, strings.Join(first, "\n"))
		}
	}
}

// loadOperations names every operation the mix times, in the table's order.
var loadOperations = []string{
	"patient search", "patient read", "cds patient-view",
	"encounter create", "encounter arrive", "encounter triage", "encounter start", "note create", "encounter discharge",
	"care plan create", "care plan list", "audit search",
}

// loadSetting reads an environment variable with parse, or returns def when
// it is unset.
func loadSetting[T any](b *testing.B, name string, def T, parse func(string) (T, error)) T {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, v, err)
	}
	return x
}

// loadClient calls the API as one client app with its token, over a
// connection pool as wide as the load; acting for a practitioner when
// actingFor names one.
type loadClient struct {
	base      string
	token     *loadToken
	http      *http.Client
	actingFor string
}

// loadTokenRenewal is how old a load client's token grows before it is
// minted again: half the longest lifetime a token may have (config's
// MaxTokenTTL, an hour), so a run of any length never sends an expired one.
const loadTokenRenewal = 30 * time.Minute

// loadToken is a client's access token, minted again once it is
// loadTokenRenewal old; clients of one app share it.
type loadToken struct {
	mint func() string
	mu   sync.Mutex
	tok  string
	at   time.Time
}

func newLoadToken(mint func() string) *loadToken { return &loadToken{mint: mint} }

// get returns the current token, minting one when there is none or it is
// due for renewal.
func (t *loadToken) get() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok == "" || time.Since(t.at) > loadTokenRenewal {
		t.tok, t.at = t.mint(), time.Now()
	}
	return t.tok
}

// authorize sets the request's credentials: the client's token, and whom it
// acts for.
func (c *loadClient) authorize(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+c.token.get())
	if c.actingFor != "" {
		req.Header.Set("X-On-Behalf-Of", "Practitioner/"+c.actingFor)
	}
}

// call makes one request; it returns the status and body, or the transport
// error.
func (c *loadClient) call(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.authorize(req)
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, raw, err
}

// registry is what the seeding left for the load to work on.
type registry struct {
	patients []seededPatient
	nurse    string // a practitioner on ward-8, who owns care plan activities and writes notes
}

type seededPatient struct {
	id   string
	name string // "given family", as a clerk would type it
}

// seedRegistry registers loadPatients patients and one nurse through the
// API, with as many clients as the load will use.
func seedRegistry(b *testing.B, api *loadClient, clients int) registry {
	b.Helper()
	status, raw, err := api.call(http.MethodPost, "/v1/clinical/practitioners", map[string]any{
		"name": "Nurse Load", "roles": []string{"nurse"}, "units": []string{"ward-8"}})
	var nurse struct {
		ID string `json:"id"`
	}
	if err != nil || status != http.StatusCreated || json.Unmarshal(raw, &nurse) != nil {
		b.Fatalf("practitioner: %d %s %v", status, raw, err)
	}

	reg := registry{patients: make([]seededPatient, loadPatients), nurse: nurse.ID}
	rng := rand.New(rand.NewPCG(42, 7))
	bodies := make([]map[string]any, loadPatients)
	born := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range bodies {
		given, family := loadGivenNames[rng.IntN(len(loadGivenNames))], loadFamilyNames[rng.IntN(len(loadFamilyNames))]
		reg.patients[i].name = given + " " + family
		bodies[i] = map[string]any{
			"name":      map[string]any{"given": []string{given}, "family": family},
			"birthDate": born.AddDate(0, 0, rng.IntN(30000)).Format(time.DateOnly),
			"sex":       []string{"female", "male"}[rng.IntN(2)],
			"telecom":   []map[string]any{{"system": "phone", "value": fmt.Sprintf("+8801%09d", i)}},
			"address":   []map[string]any{{"city": "Cox's Bazar", "country": "BD"}},
		}
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
	)
	next := make(chan int)
	for range clients {
		wg.Go(func() {
			for i := range next {
				status, raw, err := api.call(http.MethodPost, "/v1/patients", bodies[i])
				var p patientJSON
				if err == nil && status == http.StatusCreated {
					err = json.Unmarshal(raw, &p)
				}
				if err != nil || status != http.StatusCreated {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("patient %d: %d %s %v", i, status, raw, err))
					mu.Unlock()
					continue
				}
				reg.patients[i].id = p.ID
			}
		})
	}
	for i := range bodies {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(failures) > 0 {
		b.Fatalf("%d of %d registrations failed; first: %s", len(failures), loadPatients, failures[0])
	}
	return reg
}

// opStats is one operation's record on one worker.
type opStats struct {
	latencies []time.Duration
	errors    int
	sample    string // the first unexpected answer
}

// loadWorker is one client of the load: its own random mix and its own
// record, merged when the load ends. ward is the client of the acts that
// need a person.
type loadWorker struct {
	api, ward *loadClient
	rng       *rand.Rand
	stats     map[string]*opStats
}

func newLoadWorker(api, ward *loadClient, seed uint64) *loadWorker {
	return &loadWorker{api: api, ward: ward, rng: rand.New(rand.NewPCG(seed, 99)), stats: map[string]*opStats{}}
}

// loadMix weighs what a client does next: mostly finding and reading
// patients, now and then a whole encounter or a care plan, rarely an audit
// query.
var loadMix = []struct {
	weight int
	run    func(w *loadWorker, reg registry, p seededPatient)
}{
	{45, (*loadWorker).searchPatient},
	{25, (*loadWorker).readPatient},
	{12, (*loadWorker).patientView},
	{6, (*loadWorker).encounter},
	{8, (*loadWorker).carePlan},
	{2, (*loadWorker).auditSearch},
}

// pick runs one step of the mix for a random patient.
func (w *loadWorker) pick(reg registry) {
	p := reg.patients[w.rng.IntN(len(reg.patients))]
	total := 0
	for _, m := range loadMix {
		total += m.weight
	}
	n := w.rng.IntN(total)
	for _, m := range loadMix {
		if n < m.weight {
			m.run(w, reg, p)
			return
		}
		n -= m.weight
	}
}

// do times one request of the client app under op; an answer other than
// want is an error. When out is not nil the body is decoded into it. It
// reports whether the answer was the one expected.
func (w *loadWorker) do(op, method, path string, body any, want int, out any) bool {
	return w.doWith(w.api, op, method, path, body, want, out)
}

// doWith is do as client c.
func (w *loadWorker) doWith(c *loadClient, op, method, path string, body any, want int, out any) bool {
	start := time.Now()
	status, raw, err := c.call(method, path, body)
	s := w.op(op)
	s.latencies = append(s.latencies, time.Since(start))
	if err == nil && status == want && out != nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil || status != want {
		s.errors++
		if s.sample == "" {
			s.sample = fmt.Sprintf("%s %s: %d %s %v", method, path, status, raw, err)
		}
		return false
	}
	return true
}

// op is the worker's record of the operation name, started when new.
func (w *loadWorker) op(name string) *opStats {
	s := w.stats[name]
	if s == nil {
		s = &opStats{}
		w.stats[name] = s
	}
	return s
}

func (w *loadWorker) searchPatient(_ registry, p seededPatient) {
	w.do("patient search", http.MethodGet, "/v1/patients?name="+url.QueryEscape(p.name), nil, http.StatusOK, nil)
}

func (w *loadWorker) readPatient(_ registry, p seededPatient) {
	w.do("patient read", http.MethodGet, "/v1/patients/"+p.id, nil, http.StatusOK, nil)
}

func (w *loadWorker) patientView(reg registry, p seededPatient) {
	w.do("cds patient-view", http.MethodPost, "/v1/clinical/cds-services/patient-view", map[string]any{
		"hook": "patient-view", "hookInstance": uuid.NewString(),
		"context": map[string]any{"patientId": p.id, "userId": "Practitioner/" + reg.nurse}}, http.StatusOK, nil)
}

// encounter is one visit: started, driven through arrival, triage and care,
// a progress note written, then discharged.
func (w *loadWorker) encounter(reg registry, p seededPatient) {
	var enc struct {
		ID string `json:"id"`
	}
	if !w.do("encounter create", http.MethodPost, "/v1/clinical/encounters", map[string]any{
		"patientId": p.id, "class": "emergency", "location": "ed"}, http.StatusCreated, &enc) {
		return
	}
	path := "/v1/clinical/encounters/" + enc.ID
	steps := []struct {
		op, path string
		body     map[string]any
		want     int
	}{
		{"encounter arrive", path + "/arrive", map[string]any{}, http.StatusOK},
		{"encounter triage", path + "/triage", map[string]any{"acuity": 3, "chiefComplaint": "abdominal pain"}, http.StatusOK},
		{"encounter start", path + "/start", map[string]any{"attending": reg.nurse}, http.StatusOK},
		{"note create", path + "/notes", map[string]any{"type": "progress", "patientId": p.id,
			"text": "Abdominal pain since morning; observations stable; analgesia given."}, http.StatusCreated},
		{"encounter discharge", path + "/discharge", map[string]any{"disposition": "home"}, http.StatusOK},
	}
	for _, s := range steps {
		if !w.doWith(w.ward, s.op, http.MethodPost, s.path, s.body, s.want, nil) {
			return
		}
	}
}

// carePlan creates a plan with a two-hourly activity and lists the
// patient's plans.
func (w *loadWorker) carePlan(reg registry, p seededPatient) {
	now := time.Now().UTC()
	if !w.do("care plan create", http.MethodPost, "/v1/clinical/care-plans", map[string]any{
		"patientId": p.id, "title": "Pressure injury prevention", "unit": "ward-8", "status": "active",
		"period": map[string]any{"start": now.Format(time.RFC3339)},
		"goals":  []map[string]any{{"description": "Skin intact", "target": "no new pressure injury", "dueDate": now.AddDate(0, 0, 14).Format(time.DateOnly)}},
		"activities": []map[string]any{{"title": "Reposition", "ownerId": reg.nurse,
			"schedule": map[string]any{"dueAt": now.Add(2 * time.Hour).Format(time.RFC3339), "repeat": "PT2H"}}},
	}, http.StatusCreated, nil) {
		return
	}
	w.do("care plan list", http.MethodGet, "/v1/clinical/care-plans?patientId="+p.id, nil, http.StatusOK, nil)
}

func (w *loadWorker) auditSearch(_ registry, p seededPatient) {
	w.do("audit search", http.MethodGet, "/v1/audit/events?patientId="+p.id, nil, http.StatusOK, nil)
}

// mergeStats puts the workers' records together, per operation.
func mergeStats(workers []*loadWorker) map[string]*opStats {
	out := map[string]*opStats{}
	for _, w := range workers {
		for name, s := range w.stats {
			m := out[name]
			if m == nil {
				m = &opStats{}
				out[name] = m
			}
			m.latencies = append(m.latencies, s.latencies...)
			m.errors += s.errors
			if m.sample == "" {
				m.sample = s.sample
			}
		}
	}
	return out
}

// quantileMs is the q-th percentile of sorted latencies, in milliseconds.
func quantileMs(sorted []time.Duration, q int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(len(sorted)-1, len(sorted)*q/100)].Microseconds()) / 1000
}

func megabytes(n uint64) float64 { return float64(n) / (1 << 20) }

// peakRSSBytes is the process's peak resident set (VmHWM): the engine runs
// in this process, so it is the engine's footprint with the load's clients.
func peakRSSBytes(b *testing.B) uint64 {
	b.Helper()
	n, err := procStatusBytes("VmHWM")
	if err != nil {
		b.Logf("peak RSS unknown: %v", err)
	}
	return n
}

// procStatusBytes reads a size field of /proc/self/status (VmRSS, VmHWM),
// in bytes.
func procStatusBytes(field string) (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s in /proc/self/status: %w", field, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}
