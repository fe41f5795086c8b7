package fhir

import (
	"strings"
	"time"
)

// Task is a running care process as the FHIR Workflow module shows one: a
// Temporal workflow of the engine (an encounter, a prescription, a
// diagnostic order, a procedure, an alert, a care plan), so a FHIR client
// sees what the Temporal Web UI shows an operator.
type Task struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Identifier   []Identifier `json:"identifier"`
	// Status is the Task.status of the workflow's execution status.
	Status string `json:"status"`
	// BusinessStatus is the process's own status (the encounter's, the
	// prescription's …) as its search attribute says.
	BusinessStatus  *CodeableConcept `json:"businessStatus,omitempty"`
	Intent          string           `json:"intent"`
	Code            *CodeableConcept `json:"code,omitempty"`
	Description     string           `json:"description,omitempty"`
	Focus           *Reference       `json:"focus,omitempty"`
	For             *Reference       `json:"for,omitempty"`
	ExecutionPeriod *Period          `json:"executionPeriod,omitempty"`
	LastModified    string           `json:"lastModified,omitempty"`
	// Owner is the practitioner responsible when the process started.
	Owner *Reference `json:"owner,omitempty"`
	// Restriction holds, as its period's end, the first deadline the
	// process ran against when it was known at the start.
	Restriction *TaskRestriction `json:"restriction,omitempty"`
}

// TaskRestriction is Task.restriction: here only the period the Task is to
// be done within.
type TaskRestriction struct {
	Period *Period `json:"period,omitempty"`
}

// Ref is Task/id.
func (t Task) Ref() string { return "Task/" + t.ID }

// SystemWorkflowID is the identifier system of a Task's Temporal workflow id.
const SystemWorkflowID = "urn:zarish:workflow-id"

// taskKinds are the engine's workflow types: the resource a Task focuses
// on, and its id prefix.
var taskKinds = map[string]struct{ prefix, focus, display string }{
	"Encounter":           {"encounter", "Encounter", "Encounter"},
	"Prescription":        {"prescription", "MedicationRequest", "Prescription checks, verification and dispensing"},
	"DiagnosticReport":    {"diagnostic", "ServiceRequest", "Diagnostic order to a verified report"},
	"ProcedureScheduling": {"procedure", "ServiceRequest", "Procedure scheduling and performance"},
	"AlertEscalation":     {"alert", "Flag", "Alert escalation"},
	"CarePlan":            {"careplan", "CarePlan", "Care plan reminders"},
}

// TaskStatuses are the Task.status codes a search takes.
var TaskStatuses = []string{"in-progress", "completed", "failed", "cancelled"}

// TaskStatusOf is the Task.status of a Temporal execution status (Running,
// Completed, Failed, Canceled, Terminated, ContinuedAsNew, TimedOut).
func TaskStatusOf(execution string) string {
	switch execution {
	case "Running", "ContinuedAsNew":
		return "in-progress"
	case "Completed":
		return "completed"
	case "Canceled":
		return "cancelled"
	}
	return "failed"
}

// ExecutionStatusesOf are the Temporal execution statuses of a Task.status.
func ExecutionStatusesOf(status string) []string {
	switch status {
	case "in-progress":
		return []string{"Running"}
	case "completed":
		return []string{"Completed"}
	case "cancelled":
		return []string{"Canceled"}
	case "failed":
		return []string{"Failed", "Terminated", "TimedOut"}
	}
	return nil
}

// Workflow is what a Task is made of: one workflow execution as Temporal's
// visibility lists it.
type Workflow struct {
	ID, Type, ExecutionStatus string
	// PatientID, BusinessStatus, OwnerID and Deadline are its search
	// attributes; OwnerID and Deadline are set at the start only, and
	// empty or zero when the start knew none.
	PatientID, BusinessStatus, OwnerID string
	Deadline                           time.Time
	Start, Close                       time.Time
}

// TaskID is a workflow id as a Task id: "encounter/<uuid>" is
// "encounter-<uuid>" (a FHIR id has no "/").
func TaskID(workflowID string) string { return strings.Replace(workflowID, "/", "-", 1) }

// WorkflowIDOf is the workflow id of a Task id, false when it names no
// workflow of a known kind.
func WorkflowIDOf(taskID string) (string, bool) {
	prefix, rest, ok := strings.Cut(taskID, "-")
	if !ok || rest == "" {
		return "", false
	}
	for _, k := range taskKinds {
		if k.prefix == prefix {
			return prefix + "/" + rest, true
		}
	}
	return "", false
}

// FromWorkflow is w as a Task.
func FromWorkflow(w Workflow) Task {
	t := Task{ResourceType: "Task", ID: TaskID(w.ID), Status: TaskStatusOf(w.ExecutionStatus), Intent: "order",
		Identifier: []Identifier{{System: SystemWorkflowID, Value: w.ID}}}
	if k, ok := taskKinds[w.Type]; ok {
		t.Code = &CodeableConcept{Text: w.Type}
		t.Description = k.display
		if _, id, ok := strings.Cut(w.ID, "/"); ok {
			t.Focus = &Reference{Reference: k.focus + "/" + id}
		}
	} else {
		t.Code = &CodeableConcept{Text: w.Type}
	}
	if w.BusinessStatus != "" {
		t.BusinessStatus = &CodeableConcept{Text: w.BusinessStatus}
	}
	if w.PatientID != "" {
		t.For = &Reference{Reference: "Patient/" + w.PatientID}
	}
	if w.OwnerID != "" {
		t.Owner = &Reference{Reference: "Practitioner/" + w.OwnerID}
	}
	if !w.Deadline.IsZero() {
		t.Restriction = &TaskRestriction{Period: &Period{End: w.Deadline.UTC().Format(time.RFC3339)}}
	}
	p := &Period{}
	if !w.Start.IsZero() {
		p.Start = w.Start.UTC().Format(time.RFC3339)
		t.LastModified = p.Start
	}
	if !w.Close.IsZero() {
		p.End = w.Close.UTC().Format(time.RFC3339)
		t.LastModified = p.End
	}
	if p.Start != "" {
		t.ExecutionPeriod = p
	}
	return t
}
