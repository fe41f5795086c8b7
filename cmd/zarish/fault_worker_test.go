//go:build faults

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/workers"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// TestFaultWorkerKilledMidWorkflow drives encounters through arrival,
// triage, care and discharge while two `zarish worker --queues encounters`
// processes serve them, and kills one (kill -9) half-way. The
// dev stack's own workers serve every other queue. Every encounter is
// open and triaged when care and discharge begin; a few answers into those,
// the worker is killed, holding the workflows it ran last. Every encounter ends
// discharged exactly once: five timeline entries, one outbox event per
// transition, one completed workflow each; and some of them were finished by
// the survivor after the killed worker had begun them.
func TestFaultWorkerKilledMidWorkflow(t *testing.T) {
	bin := faultBinary(t)
	others := slices.DeleteFunc(slices.Clone(workers.Queues), func(q string) bool { return q == workers.QueueEncounters })
	e := startFaultStack(t, faultConfig(t), func(s *devStack) { s.queues = others })
	tc := faultTemporal(t, e)
	doomed := startWorkerProcess(t, bin, e, workers.QueueEncounters)
	survivor := startWorkerProcess(t, bin, e, workers.QueueEncounters)
	waitPollers(t, tc, workers.QueueEncounters, doomed.identity(), survivor.identity())

	admin := e.token(devClientID, "dev-secret", "")
	engine := e.actingToken()
	clinician := demoPractitionerID("dr.karim").String()
	const patients, perPatient, concurrent = 4, 6, 8
	const total = patients * perPatient
	var patientIDs []string
	for range patients {
		r := e.do(http.MethodPost, "/v1/patients", admin, amina())
		var p patientJSON
		r.json(t, &p)
		if r.status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		patientIDs = append(patientIDs, p.ID)
	}

	type transition struct {
		name, status string
		body         map[string]any
	}
	steps := []transition{
		{"arrive", "arrived", map[string]any{}},
		{"triage", "triaged", map[string]any{"acuity": 3, "chiefComplaint": "abdominal pain"}},
		{"start", "in-progress", map[string]any{"attending": clinician}},
		{"discharge", "discharged", map[string]any{"disposition": "home"}},
	}
	answered := atomic.Int32{} // transitions through, of total*len(steps)
	retries := atomic.Int32{}  // answers other than 200 (or none), retried
	var mu sync.Mutex
	var slowest time.Duration // the longest a transition waited for its 200
	ids := make([]string, total)

	// statusOf is the read model's status of an encounter.
	statusOf := func(id string) string {
		r, err := e.call(http.MethodGet, "/v1/clinical/encounters/"+id, admin, nil)
		if err != nil || r.status != http.StatusOK {
			return ""
		}
		var v encounter.Record
		if json.Unmarshal(r.body, &v) != nil || v.ID.String() != id {
			return ""
		}
		return string(v.Status)
	}
	// create starts encounter i; advance takes it through steps.
	create := func(i int) error {
		r, err := e.call(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
			"patientId": patientIDs[i%patients], "class": "emergency", "reason": "abdominal pain", "location": "ed-majors",
			"triageDeadlineMinutes": 120}, "Idempotency-Key", fmt.Sprintf("fault-encounter-%d", i))
		if err != nil || r.status != http.StatusCreated {
			return fmt.Errorf("start encounter %d: %v %d %s", i, err, r.status, r.body)
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil || out.ID == "" {
			return fmt.Errorf("start encounter %d: %s", i, r.body)
		}
		ids[i] = out.ID
		return nil
	}
	advance := func(id string, steps []transition) error {
		for _, s := range steps {
			began := time.Now()
			for {
				r, err := e.call(http.MethodPost, "/v1/clinical/encounters/"+id+"/"+s.name, engine, s.body, onBehalfOf(clinician)...)
				if err == nil && r.status == http.StatusOK {
					break
				}
				// The answer was lost with the worker: the transition
				// either went through (the read model says so) or is
				// sent again.
				retries.Add(1)
				if statusOf(id) == s.status {
					break
				}
				if time.Since(began) > 2*time.Minute {
					return fmt.Errorf("encounter %s: %s not through within 2m: %v %d %s", id, s.name, err, r.status, r.body)
				}
				time.Sleep(500 * time.Millisecond)
			}
			mu.Lock()
			slowest = max(slowest, time.Since(began))
			mu.Unlock()
			answered.Add(1)
		}
		return nil
	}
	// run does each of total on concurrent goroutines.
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
		for i := range total {
			work <- i
		}
		close(work)
		wg.Wait()
	}

	// Every encounter arrives and is triaged on both workers; each
	// workflow now sits on the worker that ran it last (its sticky queue).
	began := time.Now()
	run(func(i int) error {
		if err := create(i); err != nil {
			return err
		}
		return advance(ids[i], steps[:2])
	})
	if t.Failed() {
		t.FailNow()
	}
	// Care and discharge; a few answers in, one worker is killed.
	killAt := answered.Load() + concurrent/2
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
	run(func(i int) error { return advance(ids[i], steps[2:]) })
	<-killed
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d encounters (%d transitions) in %s; worker killed after %d transitions; %d answers retried; slowest transition %s; last answer %s after the kill",
		total, total*len(steps), time.Since(began).Round(time.Millisecond), killedAfter, retries.Load(), slowest.Round(time.Millisecond),
		time.Since(killedAt).Round(time.Millisecond))
	if killedAfter >= int32(total*len(steps)) {
		t.Fatalf("the worker was killed after every transition (%d): nothing was in flight", killedAfter)
	}

	// Each encounter: discharged, five timeline entries, one event each.
	pool := faultDB(t, e)
	wantKinds := []string{"created", "arrived", "triaged", "started", "discharged"}
	for _, id := range ids {
		if s := statusOf(id); s != "discharged" {
			t.Errorf("encounter %s is %q, want discharged", id, s)
		}
		rows, err := pool.Query(context.Background(), `SELECT kind FROM encounter_timeline WHERE encounter_id = $1 ORDER BY seq`, id)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, k)
		}
		rows.Close()
		if !slices.Equal(kinds, wantKinds) {
			t.Errorf("encounter %s timeline %v, want %v", id, kinds, wantKinds)
		}
		for _, k := range wantKinds {
			if n := count(t, pool, `SELECT count(*) FROM outbox WHERE subject = $1 AND type = $2`, id, "encounter."+k); n != 1 {
				t.Errorf("encounter %s has %d encounter.%s events in the outbox, want 1", id, n, k)
			}
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox WHERE type LIKE 'encounter.%'`); n != total*len(wantKinds) {
		t.Errorf("%d encounter events in the outbox, want %d", n, total*len(wantKinds))
	}
	if n := count(t, pool, `SELECT count(*) FROM encounter_timeline`); n != total*len(wantKinds) {
		t.Errorf("%d timeline entries, want %d", n, total*len(wantKinds))
	}

	// Temporal: one completed workflow per encounter, nothing else.
	eventually(t, 30*time.Second, "every encounter workflow completed in visibility", func() bool {
		return countWorkflows(t, tc, "WorkflowType = '"+encounterflow.WorkflowName+"' AND ExecutionStatus = 'Completed'") == total
	})
	if n := countWorkflows(t, tc, "WorkflowType = '"+encounterflow.WorkflowName+"'"); n != total {
		t.Errorf("%d encounter workflows, want %d", n, total)
	}

	// Some encounters began on the killed worker and ended on the survivor.
	moved, onDoomed := 0, 0
	for _, id := range ids {
		var byDoomed, bySurvivor bool
		it := tc.GetWorkflowHistory(context.Background(), encounterflow.WorkflowID(uuid.MustParse(id)), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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
	t.Logf("%d of %d encounters ran on the killed worker; %d of them were finished by the survivor", onDoomed, total, moved)
	if moved == 0 {
		t.Errorf("no encounter moved from the killed worker to the survivor")
	}
}
