package procedure_test

import (
	"encoding/json"
	"os"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	procedurewf "github.com/zarish-sphere/zarish/workflows/procedure"
)

// The histories are real runs recorded on a Temporal server
// (record_test.go). completedHistoryFile: an elective endoscopy in an
// encounter, held and booked (a second booking refused), the checklist
// ticked phase by phase with a start refused before the time-out, checked
// in, started and completed, its allocations released and the encounter
// told. bumpedHistoryFile: a hold that lapsed, a booking after it refused,
// a reschedule that searched again, the booking, a reschedule that swapped
// the slot and one into an evening refused for want of a slot, then the
// slot given up to an emergency, the case booked again on its own, and
// cancelled. emergencyHistoryFile: that emergency, which bumped the case,
// held and booked its slot on its own, and was cancelled.
const (
	completedHistoryFile = "testdata/procedure_completed.json"
	bumpedHistoryFile    = "testdata/procedure_bumped.json"
	emergencyHistoryFile = "testdata/procedure_emergency.json"
)

var historyFiles = []string{completedHistoryFile, bumpedHistoryFile, emergencyHistoryFile}

// TestReplayRecordedHistory fails when a change to the workflow would break
// procedures already running: guard such changes with workflow.GetVersion
// and record a new history beside these.
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range historyFiles {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(procedurewf.ProcedureScheduling, workflow.RegisterOptions{Name: procedurewf.WorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOneTimerAtATime reads the recorded histories: the run keeps one timer,
// for its earliest deadline (or a wait of the bump), cancelling it when the
// deadline moves.
func TestOneTimerAtATime(t *testing.T) {
	type timerEvent struct {
		TimerID string `json:"timerId"`
	}
	type history struct {
		Events []struct {
			Started  *timerEvent `json:"timerStartedEventAttributes"`
			Fired    *timerEvent `json:"timerFiredEventAttributes"`
			Canceled *timerEvent `json:"timerCanceledEventAttributes"`
		} `json:"events"`
	}
	for _, file := range historyFiles {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var h history
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatal(err)
		}
		var pending []string
		started := 0
		for i, e := range h.Events {
			switch {
			case e.Started != nil:
				pending = append(pending, e.Started.TimerID)
				started++
			case e.Fired != nil:
				pending = remove(pending, e.Fired.TimerID)
			case e.Canceled != nil:
				pending = remove(pending, e.Canceled.TimerID)
			}
			if len(pending) > 1 {
				t.Fatalf("%s: timers %v pending at event %d", file, pending, i+1)
			}
		}
		if started == 0 {
			t.Fatalf("%s: no timer at all", file)
		}
	}
}

func remove(ids []string, id string) []string {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
