package prescription_test

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	prescriptionwf "github.com/zarish-sphere/zarish/workflows/prescription"
)

// The histories are real runs recorded on a Temporal server
// (record_test.go). overriddenHistoryFile: warfarin for a patient on
// ibuprofen, held, an override without a reason refused, overridden,
// verified (the checks run again), dispensed, given and discontinued, its
// encounter told of each end. recheckedHistoryFile: amoxicillin verified,
// its first dose reminded and then given, a recheck that finds nothing new,
// a new penicillin allergy rechecked (held, the prescriber alerted), the
// hold alerted, discontinued.
// completedHistoryFile: checks that could not run hold the order, the hold
// is alerted, a recheck once the store answers activates it, and its
// duration runs out.
// recheckOlderHistoryFile (version 1 of changeNewerCreatedAfter): ibuprofen
// held on the warfarin placed before it, a recheck naming that warfarin
// leaves the hold standing, overridden, discontinued.
const (
	overriddenHistoryFile   = "testdata/prescription_overridden.json"
	recheckedHistoryFile    = "testdata/prescription_rechecked.json"
	completedHistoryFile    = "testdata/prescription_completed.json"
	recheckOlderHistoryFile = "testdata/prescription_recheck_older.json"
)

// TestReplayRecordedHistory fails when a change to the workflow would break
// prescriptions already running: guard such changes with
// workflow.GetVersion and record a new history beside these.
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range []string{overriddenHistoryFile, recheckedHistoryFile, completedHistoryFile, recheckOlderHistoryFile} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(prescriptionwf.Prescription, workflow.RegisterOptions{Name: prescriptionwf.WorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
