//go:build faults

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/workers"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// TestFaultWorkerKilledMidWorkflow drives encounters through arrival,
// triage, care and discharge while two `zarish worker --queues encounters`
// processes serve them, and kills one (kill -9) half-way. Every encounter
// is open and triaged on both workers when care and discharge begin; a few
// answers into those, the worker is killed, holding the workflows it ran
// last. Every encounter ends discharged exactly once: five timeline
// entries, one outbox event per transition, one completed workflow each;
// and some of them were finished by the survivor after the killed worker
// had begun them.
func TestFaultWorkerKilledMidWorkflow(t *testing.T) {
	clinician := demo("dr.karim")
	const patients = 4
	var patientIDs []string
	step := func(name string, body map[string]any) killStep {
		return killStep{name: name, as: clinician,
			path: func(id string) string { return "/v1/clinical/encounters/" + id + "/" + name },
			body: func(*killRun, string) map[string]any { return body }}
	}
	runKilledProcess(t, killedProcess{
		queue: workers.QueueEncounters, workflowType: encounterflow.WorkflowName, workflowID: encounterflow.WorkflowID, items: 24, killAt: 4,
		setup: func(k *killRun) {
			for range patients {
				id, err := k.register()
				if err != nil {
					t.Fatal(err)
				}
				patientIDs = append(patientIDs, id)
			}
		},
		open: func(k *killRun, i int) (string, error) {
			var retries atomic.Int32
			r, err := k.post("/v1/clinical/encounters", clinician(), fmt.Sprintf("fault-encounter-%d", i), map[string]any{
				"patientId": patientIDs[i%patients], "class": "emergency", "reason": "abdominal pain", "location": "ed-majors",
				"triageDeadlineMinutes": 120}, &retries)
			if err != nil {
				return "", err
			}
			var out struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(r.body, &out); err != nil || out.ID == "" {
				return "", fmt.Errorf("start encounter %d: %s", i, r.body)
			}
			return out.ID, nil
		},
		before: []killStep{step("arrive", map[string]any{}), step("triage", map[string]any{"acuity": 3, "chiefComplaint": "abdominal pain"})},
		after:  []killStep{step("start", map[string]any{"attending": clinician()}), step("discharge", map[string]any{"disposition": "home"})},
		check: func(k *killRun, ids []string) {
			wantKinds := []string{"created", "arrived", "triaged", "started", "discharged"}
			for _, id := range ids {
				r := k.e.do(http.MethodGet, "/v1/clinical/encounters/"+id, k.admin, nil)
				var v encounter.Record
				r.json(k.t, &v)
				if v.Status != encounter.StatusDischarged {
					k.t.Errorf("encounter %s is %q, want discharged", id, v.Status)
				}
				rows, err := k.pool.Query(context.Background(), `SELECT kind FROM encounter_timeline WHERE encounter_id = $1 ORDER BY seq`, id)
				if err != nil {
					k.t.Fatal(err)
				}
				var kinds []string
				for rows.Next() {
					var kind string
					if err := rows.Scan(&kind); err != nil {
						k.t.Fatal(err)
					}
					kinds = append(kinds, kind)
				}
				rows.Close()
				if !slices.Equal(kinds, wantKinds) {
					k.t.Errorf("encounter %s timeline %v, want %v", id, kinds, wantKinds)
				}
				var events []string
				for _, kind := range wantKinds {
					events = append(events, "encounter."+kind)
				}
				k.eventsOnce(id, events...)
			}
			if n := count(k.t, k.pool, `SELECT count(*) FROM encounter_timeline`); n != len(ids)*len(wantKinds) {
				k.t.Errorf("%d timeline entries, want %d", n, len(ids)*len(wantKinds))
			}
			k.workflowsEnd(encounterflow.WorkflowName, "Completed", len(ids))
		},
	})
}
