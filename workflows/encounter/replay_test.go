package encounter_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
)

// historyFile is a real run recorded on a Temporal server (record_test.go):
// created, arrived, start before triage rejected, triaged, started, an order
// linked, transferred, discharge with the open order rejected, the order
// closed, discharged.
const historyFile = "testdata/encounter_discharged.json"

// TestReplayRecordedHistory fails when a change to the workflow would break
// encounters already running: guard such changes with workflow.GetVersion.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(encounterwf.Encounter, workflow.RegisterOptions{Name: encounterwf.WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, historyFile); err != nil {
		t.Fatal(err)
	}
}
