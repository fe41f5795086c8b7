package encounter_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
)

// The histories are real runs recorded on a Temporal server
// (record_test.go). The discharged ones: created, arrived, start before
// triage rejected, triaged, started, an order linked, transferred, discharge
// with the open order rejected, the order closed, discharged. historyFile
// was recorded while the read model was written with regular activities;
// localHistoryFile since it is written with local activities (the
// local-read-model-writes version); atomicHistoryFile since a transition
// changes the state only with its write (atomic-transitions), as the other
// histories are: the triage-overdue alert raised, the encounter-review
// alert raised, and a run that continued as new after many order signals.
const (
	historyFile              = "testdata/encounter_discharged.json"
	localHistoryFile         = "testdata/encounter_discharged_local.json"
	atomicHistoryFile        = "testdata/encounter_discharged_atomic.json"
	triageOverdueHistoryFile = "testdata/encounter_triage_overdue.json"
	reviewHistoryFile        = "testdata/encounter_review.json"
	continuedHistoryFile     = "testdata/encounter_continued_as_new.json"
)

// TestReplayRecordedHistory fails when a change to the workflow would break
// encounters already running: guard such changes with workflow.GetVersion.
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range []string{historyFile, localHistoryFile, atomicHistoryFile,
		triageOverdueHistoryFile, reviewHistoryFile, continuedHistoryFile} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(encounterwf.Encounter, workflow.RegisterOptions{Name: encounterwf.WorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
