package alert_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
)

// The histories are real runs recorded on a Temporal server
// (record_test.go). historyFile was recorded before the reach-a-human
// version (Status search attribute, unbounded retries): raised, escalated
// after level 1 timed out, a stranger's acknowledgement rejected,
// acknowledged by the level-1 nurse, resolved. The others since: level 1
// timed out and the level-2 charge nurse acknowledged (level2HistoryFile);
// every level timed out (exhaustedHistoryFile); a unit with nobody on any
// level, closed as undeliverable with the operator alarm
// (undeliverableHistoryFile).
const (
	historyFile              = "testdata/escalation_acknowledged.json"
	level2HistoryFile        = "testdata/escalation_level2.json"
	exhaustedHistoryFile     = "testdata/escalation_exhausted.json"
	undeliverableHistoryFile = "testdata/escalation_undeliverable.json"
)

// TestReplayRecordedHistory fails when a change to the workflow would break
// alerts already running: guard such changes with workflow.GetVersion.
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range []string{historyFile, level2HistoryFile, exhaustedHistoryFile, undeliverableHistoryFile} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(alertwf.Escalation, workflow.RegisterOptions{Name: alertwf.WorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
