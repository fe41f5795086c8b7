package outbox

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// WorkflowStart asks for a workflow to be started once the transaction that
// writes it commits. A store writes it beside the change it follows; the
// starter starts it, idempotently: a workflow already running under the id
// counts as started.
type WorkflowStart struct {
	// WorkflowID is the readable id, derived from the resource
	// ("careplan/<id>"), which makes the start idempotent.
	WorkflowID   string
	WorkflowType string
	TaskQueue    string
	// Input is the workflow's one argument as JSON; empty for none.
	Input json.RawMessage
	// SearchAttributes are Keyword search attributes set on the run, by
	// name (e.g. PatientId).
	SearchAttributes map[string]string
	// Grace is how long the starter leaves the start to the writer, which
	// starts the workflow itself right after the commit (eagerly, on the
	// request's path) and then marks the row started; zero hands it to the
	// starter at once. The row still guarantees the start if the writer
	// dies or Temporal refuses it.
	Grace time.Duration
}

// Valid reports whether s names a workflow, its type and its queue.
func (s WorkflowStart) Valid() error {
	if s.WorkflowID == "" || s.WorkflowType == "" || s.TaskQueue == "" {
		return ErrEmptyStart
	}
	return nil
}

// PendingStart is a stored WorkflowStart the starter has not yet started.
type PendingStart struct {
	ID uuid.UUID
	WorkflowStart
	// Attempts counts failed tries so far; LastError is the latest failure.
	Attempts  int
	LastError string
	CreatedAt time.Time
}
