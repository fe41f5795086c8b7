package procedure

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/procedure"
)

// Registry is where the workflow and its activities are registered: a
// worker.Worker, or a test environment.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register adds the procedure workflow and its activities to r,
// under the names the contract uses.
func Register(r Registry, a *activities.Activities) {
	r.RegisterWorkflowWithOptions(ProcedureScheduling, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(a, activity.RegisterOptions{})
}
