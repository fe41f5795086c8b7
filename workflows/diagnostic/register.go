package diagnostic

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/diagnostic"
)

// Registry is where the workflow and its activities are registered: a
// worker.Worker, or a test environment.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register adds the diagnostic report workflow and its activities to r,
// under the names the contract uses.
func Register(r Registry, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(DiagnosticReport, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(a, activity.RegisterOptions{})
}
