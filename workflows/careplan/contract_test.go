package careplan_test

import (
	"testing"

	"github.com/google/uuid"

	careplanwf "github.com/zarish-sphere/zarish/workflows/careplan"
)

// A workflow id reads back as the plan it names; another process's does not.
func TestIDFromWorkflowID(t *testing.T) {
	id := uuid.MustParse("0193a000-0000-7000-8000-0000000000c9")
	got, err := careplanwf.IDFromWorkflowID(careplanwf.WorkflowID(id))
	if err != nil || got != id {
		t.Fatalf("round trip: %s, %v", got, err)
	}
	for _, bad := range []string{"encounter/" + id.String(), "careplan/not-a-uuid", ""} {
		if _, err := careplanwf.IDFromWorkflowID(bad); err == nil {
			t.Errorf("%q read as a care plan", bad)
		}
	}
}
