//go:build faults

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/workers"
	alertflow "github.com/zarish-sphere/zarish/workflows/alert"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	prescriptionflow "github.com/zarish-sphere/zarish/workflows/prescription"
	procedureflow "github.com/zarish-sphere/zarish/workflows/procedure"
)

// killedProcess is one process's kill -9 fault: two `zarish worker --queues
// <queue>` processes serve its queue, the dev stack's own workers every
// other. Each of items resources is opened, taken through before on both
// workers, then through after, one worker killed a few answers in. Every
// step carries an Idempotency-Key and is sent again with it until it is
// answered 200, as a client whose answer was lost would: each is done once.
type killedProcess struct {
	queue        string
	workflowType string
	workflowID   func(id uuid.UUID) string
	items        int
	// setup, when set, runs first, once.
	setup func(k *killRun)
	// open creates resource i and returns its id; it runs on both workers.
	open          func(k *killRun, i int) (string, error)
	before, after []killStep
	// killAt is how many after steps are answered before the kill; 0 kills
	// as the after steps begin.
	killAt int32
	// check asserts the end state of the resources, after every step.
	check func(k *killRun, ids []string)
}

// killStep is one step of a process: once await (when set) has seen the
// resource ready for it, POST path (of the resource's id) with body, by
// the practitioner as.
type killStep struct {
	name  string
	path  func(id string) string
	body  func(k *killRun, id string) map[string]any
	as    func() string
	await func(k *killRun, id string) error
}

// killRun is a killedProcess's stack while it runs.
type killRun struct {
	t      *testing.T
	e      *e2e
	tc     client.Client
	pool   *pgxpool.Pool
	admin  string // the dev client's token
	acting string // the acting client's token, for X-On-Behalf-Of
	mu     sync.Mutex
	seen   map[string]map[string]any // what open learnt of each resource
}

func (k *killRun) remember(id, what string, v any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seen[id] == nil {
		k.seen[id] = map[string]any{}
	}
	k.seen[id][what] = v
}

func (k *killRun) recall(id, what string) any {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.seen[id][what]
}

// post sends body to path as practitioner as, with key, until it is
// answered 2xx: an answer lost with the worker (none, or a 5xx) is sent
// again with the same key; any other answer is an error.
func (k *killRun) post(path, as, key string, body any, retries *atomic.Int32) (response, error) {
	began := time.Now()
	for {
		r, err := k.e.call(http.MethodPost, path, k.acting, body, append(onBehalfOf(as), "Idempotency-Key", key)...)
		switch {
		case err == nil && r.status >= 200 && r.status < 300:
			return r, nil
		case err == nil && r.status < 500:
			return r, fmt.Errorf("POST %s: %d %s", path, r.status, r.body)
		}
		retries.Add(1)
		if time.Since(began) > 2*time.Minute {
			return r, fmt.Errorf("POST %s: not answered within 2m: %v %d %s", path, err, r.status, r.body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// register is a new patient's id.
func (k *killRun) register() (string, error) {
	r, err := k.e.call(http.MethodPost, "/v1/patients", k.admin, amina())
	if err != nil || r.status != http.StatusCreated {
		return "", fmt.Errorf("register: %v %d %s", err, r.status, r.body)
	}
	var p patientJSON
	if err := json.Unmarshal(r.body, &p); err != nil || p.ID == "" {
		return "", fmt.Errorf("register answered %s", r.body)
	}
	return p.ID, nil
}

// outboxTypes is how many clinical events of each type the outbox holds
// about resource id (their subject, <id> or <Type>/<id>).
func (k *killRun) outboxTypes(id string) map[string]int {
	rows, err := k.pool.Query(context.Background(), `SELECT type, count(*) FROM outbox WHERE topic = $1 AND (subject = $2 OR subject LIKE '%/' || $2) GROUP BY type`,
		kafka.TopicClinical, id)
	if err != nil {
		k.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			k.t.Fatal(err)
		}
		out[typ] = n
	}
	return out
}

// eventsOnce checks that the outbox holds exactly the types want about
// subject, one event each, and any number of a type want names with a
// leading ~; with no want, one event of each type it holds.
func (k *killRun) eventsOnce(subject string, want ...string) {
	got := k.outboxTypes(subject)
	once := map[string]int{}
	for _, typ := range want {
		if any, ok := strings.CutPrefix(typ, "~"); ok {
			delete(got, any)
			continue
		}
		once[typ] = 1
	}
	if len(want) == 0 {
		for typ := range got {
			once[typ] = 1
		}
	}
	if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(once) {
		k.t.Errorf("%s's events in the outbox: %v, want one each of %v", subject, got, slices.Sorted(maps.Keys(once)))
	}
}

// demo is a demo practitioner's id, as a step's as.
func demo(username string) func() string {
	id := demoPractitionerID(username).String()
	return func() string { return id }
}

// runKilledProcess runs p and checks it: every step answered, one worker
// killed while the after steps ran, the resources' end state, and some
// workflows finished by the survivor after the killed worker had run them.
func runKilledProcess(t *testing.T, p killedProcess) {
	bin := faultBinary(t)
	others := slices.DeleteFunc(slices.Clone(workers.Queues), func(q string) bool { return q == p.queue })
	e := startFaultStack(t, faultConfig(t), func(s *devStack) { s.queues = others })
	tc := faultTemporal(t, e)
	doomed := startWorkerProcess(t, bin, e, p.queue)
	survivor := startWorkerProcess(t, bin, e, p.queue)
	waitPollers(t, tc, p.queue, doomed.identity(), survivor.identity())
	k := &killRun{t: t, e: e, tc: tc, pool: faultDB(t, e), admin: e.token(devClientID, "dev-secret", ""), acting: e.actingToken(),
		seen: map[string]map[string]any{}}

	const concurrent = 8
	answered := atomic.Int32{} // steps through
	retries := atomic.Int32{}  // answers lost and sent again
	var slowMu sync.Mutex
	var slowest time.Duration // the longest a step waited for its answer
	var slowStep string
	ids := make([]string, p.items)
	advance := func(id string, steps []killStep) error {
		for _, s := range steps {
			if s.await != nil {
				if err := s.await(k, id); err != nil {
					return err
				}
			}
			sent := time.Now()
			if _, err := k.post(s.path(id), s.as(), s.name+"-"+id, s.body(k, id), &retries); err != nil {
				return err
			}
			slowMu.Lock()
			if d := time.Since(sent); d > slowest {
				slowest, slowStep = d, s.name
			}
			slowMu.Unlock()
			answered.Add(1)
		}
		return nil
	}
	run := func(each func(i int) error) {
		var wg sync.WaitGroup
		work := make(chan int)
		for range concurrent {
			wg.Go(func() {
				for i := range work {
					if err := each(i); err != nil {
						t.Error(err)
					}
				}
			})
		}
		for i := range p.items {
			work <- i
		}
		close(work)
		wg.Wait()
	}

	if p.setup != nil {
		p.setup(k)
	}
	began := time.Now()
	run(func(i int) error {
		id, err := p.open(k, i)
		if err != nil {
			return err
		}
		ids[i] = id
		return advance(id, p.before)
	})
	if t.Failed() {
		t.FailNow()
	}
	killAt := answered.Load() + p.killAt
	var killedAfter int32
	var killedAt time.Time
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for answered.Load() < killAt {
			time.Sleep(time.Millisecond)
		}
		doomed.kill()
		killedAt, killedAfter = time.Now(), answered.Load()
	}()
	run(func(i int) error { return advance(ids[i], p.after) })
	<-killed
	if t.Failed() {
		t.FailNow()
	}
	total := int32(p.items * (len(p.before) + len(p.after)))
	t.Logf("%d %s (%d steps) in %s; worker killed after %d steps; %d answers lost and sent again; slowest step %s %s; last answer %s after the kill",
		p.items, p.workflowType, total, time.Since(began).Round(time.Millisecond), killedAfter, retries.Load(),
		slowStep, slowest.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
	if killedAfter >= total {
		t.Fatalf("the worker was killed after every step (%d): nothing was in flight", killedAfter)
	}

	p.check(k, ids)

	// Some resources began on the killed worker and went on on the survivor.
	moved, onDoomed := 0, 0
	for _, id := range ids {
		var byDoomed, bySurvivor bool
		it := tc.GetWorkflowHistory(context.Background(), p.workflowID(uuid.MustParse(id)), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
				byDoomed = byDoomed || strings.Contains(a.GetIdentity(), doomed.identity())
				bySurvivor = bySurvivor || strings.Contains(a.GetIdentity(), survivor.identity())
			}
		}
		if byDoomed {
			onDoomed++
		}
		if byDoomed && bySurvivor {
			moved++
		}
	}
	t.Logf("%d of %d ran on the killed worker; %d of them went on on the survivor", onDoomed, p.items, moved)
	if moved == 0 {
		t.Errorf("no %s moved from the killed worker to the survivor", p.workflowType)
	}
}

// workflowsEnd checks that each of the process's workflows is in status,
// and that there are no others.
func (k *killRun) workflowsEnd(workflowType, status string, n int) {
	eventually(k.t, 30*time.Second, fmt.Sprintf("every %s workflow %s in visibility", workflowType, status), func() bool {
		return countWorkflows(k.t, k.tc, "WorkflowType = '"+workflowType+"' AND ExecutionStatus = '"+status+"'") == n
	})
	if got := countWorkflows(k.t, k.tc, "WorkflowType = '"+workflowType+"'"); got != n {
		k.t.Errorf("%d %s workflows, want %d", got, workflowType, n)
	}
}

// TestFaultWorkerKilledMidPrescriptions: paracetamol prescribed and
// verified for each patient on both workers; the dispense, a dose given
// and the discontinuation go on while one is killed. Each prescription is
// stopped with one dispense and one dose, one event per step, its workflow
// completed once.
func TestFaultWorkerKilledMidPrescriptions(t *testing.T) {
	asPharmacist, asNurse, asDoctor := demo("pharm.farhana"), demo("nurse.nadia"), demo("dr.karim")
	rx := func(step string) func(string) string {
		return func(id string) string { return "/v1/medications/prescriptions/" + id + "/" + step }
	}
	fixed := func(body map[string]any) func(*killRun, string) map[string]any {
		return func(*killRun, string) map[string]any { return body }
	}
	runKilledProcess(t, killedProcess{
		queue: workers.QueuePrescriptions, workflowType: prescriptionflow.WorkflowName, workflowID: prescriptionflow.WorkflowID, items: 16, killAt: 4,
		open: func(k *killRun, i int) (string, error) {
			patient, err := k.register()
			if err != nil {
				return "", err
			}
			var retries atomic.Int32
			// Her weight and creatinine, for the dose checks.
			for _, o := range []map[string]any{
				{"code": "29463-7", "value": map[string]any{"value": 62, "unit": "kg"}},
				{"code": "2160-0", "value": map[string]any{"value": 0.8, "unit": "mg/dL"}},
			} {
				o["patientId"], o["effectiveAt"] = patient, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
				if _, err := k.post("/v1/observations", asNurse(), fmt.Sprintf("obs-%s-%s", patient, o["code"]), o, &retries); err != nil {
					return "", err
				}
			}
			r, err := k.post("/v1/medications/prescriptions", asDoctor(), "rx-"+patient, map[string]any{
				"patientId": patient, "medication": map[string]any{"name": "paracetamol"}, "route": "oral",
				"dose": map[string]any{"value": 1000, "unit": "mg"}, "frequency": "q6h", "indication": "fever",
				"durationDays": 3, "quantity": map[string]any{"value": 24, "unit": "tablet"}}, &retries)
			if err != nil {
				return "", err
			}
			var placed prescriptionJSON
			if err := json.Unmarshal(r.body, &placed); err != nil || placed.Status != prescription.StatusActive {
				return "", fmt.Errorf("paracetamol for %s answered %s", patient, r.body)
			}
			return placed.Details.ID.String(), nil
		},
		before: []killStep{{"verify", rx("verify"), fixed(map[string]any{}), asPharmacist, nil}},
		after: []killStep{
			{"dispense", rx("dispense"), fixed(map[string]any{"quantity": map[string]any{"value": 8, "unit": "tablet"}}), asPharmacist, nil},
			{"administer", rx("administer"), fixed(map[string]any{"dose": map[string]any{"value": 1000, "unit": "mg"}}), asNurse, nil},
			{"discontinue", rx("discontinue"), fixed(map[string]any{"reason": "fever settled"}), asDoctor, nil},
		},
		check: func(k *killRun, ids []string) {
			for _, id := range ids {
				r := k.e.do(http.MethodGet, "/v1/medications/prescriptions/"+id, k.admin, nil)
				var v prescriptionJSON
				r.json(k.t, &v)
				if v.Status != prescription.StatusStopped || len(v.Administrations) != 1 || len(v.Dispenses) != 1 {
					k.t.Errorf("prescription %s: %s with %d doses given and %d dispenses, want stopped with one each",
						id, v.Status, len(v.Administrations), len(v.Dispenses))
				}
				// Rechecks follow the patient's changes (her weight and
				// creatinine, whose events may reach the checks after the
				// order), as many as there were.
				k.eventsOnce(id, "prescription.created", "prescription.activated", "prescription.verified", "prescription.dispensed",
					"prescription.administered", "prescription.discontinued", "~prescription.rechecked")
			}
			k.workflowsEnd(prescriptionflow.WorkflowName, "Completed", len(ids))
		},
	})
}

// TestFaultWorkerKilledMidProcedures: a colonoscopy requested for each
// patient on one room, endoscopist and scope, each held in its own slot on
// both workers; the booking and then the cancellation go on while one is
// killed. Each was booked once — its four allocations booked, no two
// overlapping — and cancelled, its allocations released, one event per
// step, its workflow completed once.
func TestFaultWorkerKilledMidProcedures(t *testing.T) {
	asDoctor := demo("dr.karim")
	var booked sync.Map // procedure id → its allocations once booked
	runKilledProcess(t, killedProcess{
		queue: workers.QueueProcedures, workflowType: procedureflow.WorkflowName, workflowID: procedureflow.WorkflowID, items: 12, killAt: 4,
		setup: openEndoscopyList,
		open: func(k *killRun, i int) (string, error) {
			patient, err := k.register()
			if err != nil {
				return "", err
			}
			now := time.Now().UTC()
			var retries atomic.Int32
			r, err := k.post("/v1/procedures/requests", asDoctor(), "procedure-"+patient, map[string]any{
				"patientId":       patient,
				"procedure":       map[string]any{"system": procedure.SystemSNOMED, "code": "73761001", "display": "Colonoscopy"},
				"durationMinutes": 30, "priority": "elective",
				"requirements": []map[string]any{{"type": "room", "capability": "endoscopy"}, {"type": "staff", "skill": "endoscopist"},
					{"type": "equipment", "kind": "video-endoscope"}},
				"window": map[string]any{"from": now.Add(time.Hour).Format(time.RFC3339), "to": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)},
			}, &retries)
			if err != nil {
				return "", err
			}
			var held procedureJSON
			if err := json.Unmarshal(r.body, &held); err != nil || held.Status != procedure.StatusHeld {
				return "", fmt.Errorf("colonoscopy for %s answered %s", patient, r.body)
			}
			return held.Request.ID, nil
		},
		after: []killStep{
			{"book", func(id string) string { return "/v1/procedures/" + id + "/book" }, func(k *killRun, id string) map[string]any {
				return map[string]any{}
			}, asDoctor, nil},
			{"cancel", func(id string) string { return "/v1/procedures/" + id + "/cancel" }, func(k *killRun, id string) map[string]any {
				// What the booking allocated, read before it is released.
				booked.Store(id, allocations(k, id))
				return map[string]any{"reason": "patient declined"}
			}, asDoctor, nil},
		},
		check: func(k *killRun, ids []string) {
			for _, id := range ids {
				r := k.e.do(http.MethodGet, "/v1/procedures/"+id, k.admin, nil)
				var v procedureJSON
				r.json(k.t, &v)
				if v.Status != procedure.StatusCancelled {
					k.t.Errorf("procedure %s is %s, want cancelled", id, v.Status)
				}
				if got, _ := booked.Load(id); got != "booked booked booked booked" {
					k.t.Errorf("procedure %s held %q when booked, want its room, staff, equipment and patient booked", id, got)
				}
				if left := allocations(k, id); left != "" {
					k.t.Errorf("procedure %s still holds %q after its cancellation", id, left)
				}
				k.eventsOnce(id, "procedure.requested", "procedure.held", "procedure.booked", "procedure.cancelled")
			}
			k.workflowsEnd(procedureflow.WorkflowName, "Completed", len(ids))
		},
	})
}

// openEndoscopyList puts one endoscopy room, one endoscopist and one scope
// in the procedure directory, open around the clock.
func openEndoscopyList(k *killRun) {
	week := make([]map[string]any, 7)
	for d := range week {
		week[d] = map[string]any{"weekday": d, "from": "00:00", "to": "24:00"}
	}
	for _, body := range []map[string]any{
		{"kind": "room", "name": "Endoscopy 1", "capabilities": []string{"endoscopy"}, "turnoverMinutes": 15},
		{"kind": "staff", "name": "Dr. Karim", "skills": []string{"endoscopist"}, "practitionerId": demoPractitionerID("dr.karim").String()},
		{"kind": "equipment", "name": "Video endoscope A", "equipmentKind": "video-endoscope"},
	} {
		body["hours"] = week
		if r := k.e.do(http.MethodPost, "/v1/procedures/resources", k.admin, body); r.status != http.StatusCreated {
			k.t.Fatalf("resource %v: %d %s", body["name"], r.status, r.body)
		}
	}
}

// allocations is the states of the procedure's allocations, space-separated.
func allocations(k *killRun, id string) string {
	var states string
	if err := k.pool.QueryRow(context.Background(),
		`SELECT coalesce(string_agg(state, ' ' ORDER BY kind), '') FROM procedure_allocations WHERE procedure_id = $1`, id).Scan(&states); err != nil {
		k.t.Error(err)
	}
	return states
}

// TestFaultWorkerKilledMidDiagnostics: a potassium ordered for each
// patient, its tube collected and received on both workers; the result and
// the verification go on while one is killed. Each report is final with
// one result, one event per step, its workflow still running for
// amendments, none failed.
func TestFaultWorkerKilledMidDiagnostics(t *testing.T) {
	asScientist, asPathologist, asDoctor := demo("lab.rahim"), demo("path.imran"), demo("dr.karim")
	orders := func(step string) func(string) string {
		return func(id string) string { return "/v1/diagnostics/orders/" + id + "/" + step }
	}
	runKilledProcess(t, killedProcess{
		queue: workers.QueueDiagnostics, workflowType: diagnosticflow.WorkflowName, workflowID: diagnosticflow.WorkflowID, items: 16, killAt: 4,
		open: func(k *killRun, i int) (string, error) {
			patient, err := k.register()
			if err != nil {
				return "", err
			}
			var retries atomic.Int32
			r, err := k.post("/v1/diagnostics/orders", asDoctor(), "order-"+patient, map[string]any{
				"patientId": patient, "tests": []string{"2823-3"}}, &retries)
			if err != nil {
				return "", err
			}
			var placed reportJSON
			if err := json.Unmarshal(r.body, &placed); err != nil || len(placed.Awaiting) != 1 {
				return "", fmt.Errorf("potassium for %s answered %s", patient, r.body)
			}
			k.remember(placed.Order.ID, "container", placed.Awaiting[0])
			return placed.Order.ID, nil
		},
		before: []killStep{
			{"collect", orders("specimens"), func(k *killRun, id string) map[string]any {
				return map[string]any{"container": k.recall(id, "container"), "accessionId": "K-" + id[len(id)-12:]}
			}, asScientist, nil},
			{"receive", func(id string) string {
				return "/v1/diagnostics/orders/" + id + "/specimens/K-" + id[len(id)-12:] + "/receive"
			},
				func(*killRun, string) map[string]any { return map[string]any{} }, asScientist, nil},
		},
		after: []killStep{
			{"results", orders("results"), func(*killRun, string) map[string]any {
				return map[string]any{"observations": []map[string]any{{"code": "2823-3", "value": map[string]any{"value": 4.1, "unit": "mmol/L"}}}}
			}, asScientist, nil},
			{"verify", func(id string) string { return "/v1/diagnostics/reports/" + id + "/verify" },
				func(*killRun, string) map[string]any { return map[string]any{"conclusion": "Potassium within range."} }, asPathologist, nil},
		},
		check: func(k *killRun, ids []string) {
			for _, id := range ids {
				r := k.e.do(http.MethodGet, "/v1/diagnostics/reports/"+id, k.admin, nil)
				var v reportJSON
				r.json(k.t, &v)
				if v.Status != diagnostic.StatusFinal || len(v.Results) != 1 {
					k.t.Errorf("report %s: %s with %d results, want final with one", id, v.Status, len(v.Results))
				}
				if n := count(k.t, k.pool, `SELECT count(*) FROM observations WHERE based_on = $1`, id); n != 1 {
					k.t.Errorf("order %s has %d observations, want 1", id, n)
				}
				k.eventsOnce(id)
			}
			k.workflowsEnd(diagnosticflow.WorkflowName, "Running", len(ids))
		},
	})
}

// TestFaultWorkerKilledMidAlerts: critical alerts raised for patients on a
// ward whose policy pages its nurse in-app, then after 3 s unacknowledged
// its charge nurse; one worker is killed as soon as they are raised, their
// first escalation timers due. Each alert reaches the charge nurse once,
// and is acknowledged and resolved by her: one notification per level, each
// requested by one event, its workflow completed once.
func TestFaultWorkerKilledMidAlerts(t *testing.T) {
	const unit = "ward-fault"
	var nurse, charge string
	alerts := func(step string) func(string) string {
		return func(id string) string { return "/v1/notifications/alerts/" + id + "/" + step }
	}
	levels := func(k *killRun, id string) string {
		var got string
		if err := k.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(level::text || ':' || practitioner_id, ' ' ORDER BY level), '')
			FROM notifications WHERE alert_id = $1`, id).Scan(&got); err != nil {
			k.t.Error(err)
		}
		return got
	}
	runKilledProcess(t, killedProcess{
		queue: workers.QueueAlerts, workflowType: alertflow.WorkflowName, workflowID: alertflow.WorkflowID, items: 12,
		setup: func(k *killRun) { nurse, charge = wardPolicy(k, unit) },
		open: func(k *killRun, i int) (string, error) {
			patient, err := k.register()
			if err != nil {
				return "", err
			}
			var retries atomic.Int32
			r, err := k.post("/v1/notifications/alerts", nurse, "alert-"+patient, map[string]any{
				"patientId": patient, "unit": unit, "severity": "critical", "category": "news2-high",
				"message": "NEWS2 score 9", "source": "faults/observation", "policyId": unit}, &retries)
			if err != nil {
				return "", err
			}
			var raised struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(r.body, &raised); err != nil || raised.ID == "" {
				return "", fmt.Errorf("raise for %s answered %s", patient, r.body)
			}
			return raised.ID, nil
		},
		killAt: 0,
		after: []killStep{
			{name: "acknowledge", path: alerts("acknowledge"), as: func() string { return charge },
				body: func(*killRun, string) map[string]any { return map[string]any{} },
				await: func(k *killRun, id string) error {
					deadline := time.Now().Add(time.Minute)
					for levels(k, id) != "1:"+nurse+" 2:"+charge {
						if time.Now().After(deadline) {
							return fmt.Errorf("alert %s not escalated to the charge nurse within a minute: %q", id, levels(k, id))
						}
						time.Sleep(200 * time.Millisecond)
					}
					return nil
				}},
			{name: "resolve", path: alerts("resolve"), as: func() string { return charge },
				body: func(*killRun, string) map[string]any {
					return map[string]any{"note": "reviewed, observations repeated"}
				}},
		},
		check: func(k *killRun, ids []string) {
			var firstPage, lateEscalation time.Duration // the worst of each, over the alerts
			for _, id := range ids {
				r := k.e.do(http.MethodGet, "/v1/notifications/alerts/"+id, k.admin, nil)
				var v alert.Record
				r.json(k.t, &v)
				var first, second time.Time
				if err := k.pool.QueryRow(context.Background(), `SELECT min(created_at) FILTER (WHERE level = 1), min(created_at) FILTER (WHERE level = 2)
					FROM notifications WHERE alert_id = $1`, id).Scan(&first, &second); err == nil {
					firstPage = max(firstPage, first.Sub(v.RaisedAt))
					lateEscalation = max(lateEscalation, second.Sub(first)-3*time.Second)
				}
				if v.Status != alert.StatusResolved {
					k.t.Errorf("alert %s is %s, want resolved", id, v.Status)
				}
				if got := levels(k, id); got != "1:"+nurse+" 2:"+charge {
					k.t.Errorf("alert %s notified %q, want the nurse at level 1 and the charge nurse at level 2, once each", id, got)
				}
				// Its events are its notifications' requests.
				if n := count(k.t, k.pool, `SELECT count(*) FROM outbox WHERE topic = $1 AND subject = $2 AND type = 'notification.requested'`,
					kafka.TopicNotifications, id); n != 2 {
					k.t.Errorf("alert %s has %d notification.requested events, want 2", id, n)
				}
			}
			k.t.Logf("first page at most %s after its raise; escalation to the charge nurse at most %s after it was due",
				firstPage.Round(time.Millisecond), lateEscalation.Round(time.Millisecond))
			k.workflowsEnd(alertflow.WorkflowName, "Completed", len(ids))
		},
	})
}

// wardPolicy puts a nurse and a charge nurse on unit, and an escalation
// policy of the unit's id: its nurses in-app, then after 3 s its charge
// nurses in-app. It returns their ids.
func wardPolicy(k *killRun, unit string) (nurse, charge string) {
	person := func(name, role string) string {
		r := k.e.do(http.MethodPost, "/v1/clinical/practitioners", k.admin, map[string]any{
			"name": name, "roles": []string{role}, "units": []string{unit},
			"contacts": []map[string]string{{"system": "email", "value": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@hospital.example"}},
		})
		var out struct {
			ID string `json:"id"`
		}
		r.json(k.t, &out)
		if r.status != http.StatusCreated || out.ID == "" {
			k.t.Fatalf("practitioner %s: %d %s", name, r.status, r.body)
		}
		return out.ID
	}
	nurse, charge = person("Nurse Shirin", "nurse"), person("Charge Nurse Mamun", "charge-nurse")
	r := k.e.do(http.MethodPost, "/v1/notifications/policies", k.admin, map[string]any{
		"id": unit, "name": unit + " fault policy",
		"levels": []map[string]any{
			{"recipients": []map[string]any{{"kind": "unit-role", "role": "nurse"}}, "channels": []string{"inapp"}, "ackTimeoutSeconds": 3},
			{"recipients": []map[string]any{{"kind": "unit-role", "role": "charge-nurse"}}, "channels": []string{"inapp"}, "ackTimeoutSeconds": 600},
		},
	})
	if r.status != http.StatusCreated {
		k.t.Fatalf("policy: %d %s", r.status, r.body)
	}
	return nurse, charge
}
