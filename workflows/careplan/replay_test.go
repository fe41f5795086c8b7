package careplan_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	careplanwf "github.com/zarish-sphere/zarish/workflows/careplan"
)

// The histories are real runs recorded on a Temporal server
// (record_test.go): the first activity falls due and is alerted, then
// completed (signal); the second is rescheduled earlier (signal), falls due
// and is alerted; the plan is completed (signal) and the run ends.
// historyFile was recorded before the workflow resolved settled reminders;
// settledHistoryFile after, so it holds the settle-reminders version marker
// and activities.
const (
	historyFile        = "testdata/careplan_completed.json"
	settledHistoryFile = "testdata/careplan_settled.json"
)

// TestReplayRecordedHistory fails when a change to the workflow would break
// plans whose reminders are already running: guard such changes with
// workflow.GetVersion.
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range []string{historyFile, settledHistoryFile} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(careplanwf.CarePlan, workflow.RegisterOptions{Name: careplanwf.WorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
