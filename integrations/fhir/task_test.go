package fhir

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A workflow started with an owner and a deadline is a Task with owner
// Practitioner/<id> and restriction.period.end the deadline, in UTC; one
// started with neither has neither.
func TestFromWorkflowTaskOwnerAndDeadline(t *testing.T) {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	dhaka := time.FixedZone("Asia/Dhaka", 6*60*60)
	w := Workflow{ID: "diagnostic/0193e000-0000-7000-8000-00000000d001", Type: "DiagnosticReport", ExecutionStatus: "Running",
		PatientID: "0193e000-0000-7000-8000-0000000000a1", BusinessStatus: "registered",
		OwnerID: "0193e000-0000-7000-8000-0000000000d1", Deadline: time.Date(2026, 12, 1, 15, 30, 0, 0, dhaka), Start: start}
	task := FromWorkflow(w)
	raw, err := json.Marshal(task)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"owner":{"reference":"Practitioner/0193e000-0000-7000-8000-0000000000d1"}`,
		`"restriction":{"period":{"end":"2026-12-01T09:30:00Z"}}`,
		`"executionPeriod":{"start":"2026-12-01T08:00:00Z"}`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the Task lacks %s: %s", want, raw)
		}
	}
	if typ, err := validateR4(t, task); err != nil {
		t.Errorf("the %s does not conform to R4: %v", typ, err)
	}

	w.OwnerID, w.Deadline = "", time.Time{}
	raw, err = json.Marshal(FromWorkflow(w))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), `"owner"`) || strings.Contains(string(raw), `"restriction"`) {
		t.Errorf("a Task started with no owner or deadline shows one: %s", raw)
	}
}
