package alert_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
)

// historyFile is a real run recorded on a Temporal server (record_test.go):
// raised, escalated after level 1 timed out, a stranger's acknowledgement
// rejected, acknowledged by the level-1 nurse, resolved.
const historyFile = "testdata/escalation_acknowledged.json"

// TestReplayRecordedHistory fails when a change to the workflow would break
// alerts already running: guard such changes with workflow.GetVersion.
func TestReplayRecordedHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(alertwf.Escalation, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, historyFile); err != nil {
		t.Fatal(err)
	}
}
