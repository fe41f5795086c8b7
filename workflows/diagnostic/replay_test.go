package diagnostic_test

import (
	"encoding/json"
	"os"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	diagnosticwf "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// The histories are real runs recorded on a Temporal server
// (record_test.go). finalHistoryFile: a routine renal panel in an
// encounter, collected and received, resulted in two deliveries with a
// verification refused before the second and another before its flag was
// reviewed, verified (its orderer sent it, the encounter told), released
// when its delay ran out, opened by a clinician and by the patient,
// corrected, amended and entered in error. criticalHistoryFile: a STAT order
// whose collection target passed (the ward alerted, the alert resolved at
// collection), a critical potassium (its orderer alerted), a callback with
// an unanswered attempt, a read-back refused as a mismatch and a matching
// one, the rest of the results, verified and entered in error.
// rejectedHistoryFile: a tube rejected as haemolysed, receiving it again
// refused, recollected and received, a critical potassium whose callback
// reached nobody, and the order cancelled.
const (
	finalHistoryFile    = "testdata/diagnostic_final.json"
	criticalHistoryFile = "testdata/diagnostic_critical.json"
	rejectedHistoryFile = "testdata/diagnostic_rejected.json"
)

// TestReplayRecordedHistory fails when a change to the workflow would break
// reports already running: guard such changes with workflow.GetVersion and
// record a new history beside these.
func TestReplayRecordedHistory(t *testing.T) {
	for _, file := range []string{finalHistoryFile, criticalHistoryFile, rejectedHistoryFile} {
		t.Run(file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(diagnosticwf.DiagnosticReport, workflow.RegisterOptions{Name: diagnosticwf.WorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, file); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOneTimerAtATime reads the recorded histories: the run keeps one timer,
// for its earliest deadline, cancelling it when the deadline moves.
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
	for _, file := range []string{finalHistoryFile, criticalHistoryFile, rejectedHistoryFile} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var h history
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatal(err)
		}
		var pending []string
		for i, e := range h.Events {
			switch {
			case e.Started != nil:
				pending = append(pending, e.Started.TimerID)
			case e.Fired != nil:
				pending = remove(pending, e.Fired.TimerID)
			case e.Canceled != nil:
				pending = remove(pending, e.Canceled.TimerID)
			}
			if len(pending) > 1 {
				t.Fatalf("%s: timers %v pending at event %d", file, pending, i+1)
			}
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
