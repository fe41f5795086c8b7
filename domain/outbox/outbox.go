// Package outbox describes what a committed write leaves for the relay to
// carry out after it: events to publish (and the dead letters of those the
// broker refused for good) and workflows to start. It is pure Go: the
// stores in integrations/postgres keep these records, the relay and the
// workflow starter act on them, and the API shows them to operators.
package outbox

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// MaxEventBytes caps the size of one event as the relay publishes it (the
// whole CloudEvent JSON, envelope included): a quarter of Kafka's default
// 1 MB message limit, so a record batch always has room. An event over the
// cap is written in its reference form (see Reference) instead.
const MaxEventBytes = 256 << 10

// Dead-letter statuses: a dead letter waits for an operator until it is
// requeued; a requeued one is kept as history.
const (
	StatusDead     = "dead"
	StatusRequeued = "requeued"
)

// MaxRequeueReason bounds the reason an operator gives for a requeue, in
// characters.
const MaxRequeueReason = 500

// ErrAlreadyRequeued refuses to requeue a dead letter a second time: the
// event is back in the outbox (or was delivered since). It is a
// domain.ErrConflict.
var ErrAlreadyRequeued = fmt.Errorf("dead letter was already requeued: %w", domain.ErrConflict)

// DeadLetter is an event the broker refused for good, moved out of the
// outbox so that the events after it flow on. The data itself is kept for a
// requeue but not shown: it may hold clinical text.
type DeadLetter struct {
	ID      uuid.UUID `json:"id"` // the event id (CloudEvent id)
	Topic   string    `json:"topic"`
	Key     string    `json:"key"` // the partition key: the patient id
	Type    string    `json:"type"`
	Source  string    `json:"source"`
	Subject string    `json:"subject,omitempty"`
	// EventTime is the event's time; WrittenAt when its outbox row was
	// written; FailedAt when the relay gave up on it.
	EventTime time.Time `json:"eventTime"`
	WrittenAt time.Time `json:"writtenAt"`
	FailedAt  time.Time `json:"failedAt"`
	// Size is the event's size in bytes as the relay encoded it.
	Size int `json:"size"`
	// Error is the broker's (or the client's) refusal; Attempts how many
	// publishes of the event were tried before it was dead-lettered.
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
	Status   string `json:"status"` // StatusDead or StatusRequeued
	// RequeuedAt, RequeuedBy and RequeueReason record the operator's requeue.
	RequeuedAt    *time.Time `json:"requeuedAt,omitempty"`
	RequeuedBy    string     `json:"requeuedBy,omitempty"`
	RequeueReason string     `json:"requeueReason,omitempty"`
}

// DeadLetterFilter selects dead letters; zero fields do not filter.
type DeadLetterFilter struct {
	Status string // StatusDead or StatusRequeued
	Topic  string
	Type   string
	Limit  int
	Cursor string // Next of the previous page
}

// DeadLetterPage is one page of dead letters, newest failure first; Next is
// empty on the last page.
type DeadLetterPage struct {
	DeadLetters []DeadLetter
	Next        string
}

// ValidStatus reports whether s is a dead-letter status (or empty).
func ValidStatus(s string) bool {
	return s == "" || s == StatusDead || s == StatusRequeued
}

// ErrEmptyStart refuses a workflow start with no workflow id, type or task
// queue.
var ErrEmptyStart = errors.New("workflow start needs a workflow id, type and task queue")
