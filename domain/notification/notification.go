// Package notification holds the notifications alerts send: channels,
// statuses, attempts, the in-app inbox and the delivery log operators read.
// The notification store (integrations/postgres) keeps them, the dispatcher
// (integrations/notify) delivers them, the API shows them.
package notification

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Message is an in-app message a process asks to put in a practitioner's
// inbox, about one of its resources rather than an alert: a diagnostic
// report sent, a procedure booked or moved. Its ID is stable (the resource,
// the timeline entry and the person), so a timeline written twice asks for
// each message once.
type Message struct {
	ID       uuid.UUID
	Seq      int // the timeline entry that asks for it
	To       uuid.UUID
	Severity string // info or warning
	Subject  string
	Body     string
}

// Notification channels.
const (
	ChannelInApp = "inapp"
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPush  = "push"
)

// Notification statuses. Queued and failed notifications wait for an attempt
// (failed ones have had at least one); delivered and dead are final.
const (
	StatusQueued    = "queued"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
	StatusDead      = "dead"
)

// Attempt outcomes.
const (
	// AttemptDelivered: the channel took the message.
	AttemptDelivered = "delivered"
	// AttemptFailed: the attempt failed and another is scheduled.
	AttemptFailed = "failed"
	// AttemptDead: the attempt failed and no other will be made.
	AttemptDead = "dead"
	// AttemptRequeued: an operator requeued the dead notification, starting
	// a new round of attempts; it is attempt 0 of that round.
	AttemptRequeued = "requeued"
)

// Notification is one message to deliver to one person over one channel.
type Notification struct {
	ID      uuid.UUID // the requesting event's notificationId
	AlertID uuid.UUID // the nil uuid for a notification about something else
	// About names what a notification that is not an alert's is about, as
	// "<resource type>/<id>" (DiagnosticReport/…); empty for an alert's.
	About          string
	PatientID      uuid.UUID
	PractitionerID string
	RecipientName  string
	Channel        string // inapp, email, sms or push
	Address        string // email address, phone number or push token; empty for inapp
	Subject        string
	Body           string
	Severity       string // info, warning, urgent or critical
	Category       string
	Level          int // escalation level
	CreatedAt      time.Time

	Status string
	// Attempts counts the attempts of the current round; Round is 0 until
	// the notification is first requeued, then one more per requeue.
	Attempts      int
	Round         int
	NextAttemptAt time.Time
	LastError     string
	Receipt       string
	DeliveredAt   *time.Time
	UpdatedAt     time.Time

	// AttemptLog lists every attempt in order; filled by Get only.
	AttemptLog []Attempt
}

// Attempt is one entry of a notification's attempt history: a
// delivery attempt, or an operator's requeue.
type Attempt struct {
	Round   int       `json:"round"`   // 0, then one more per requeue
	Attempt int       `json:"attempt"` // from 1 within its round; 0 for the requeue that began it
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`      // AttemptDelivered, AttemptFailed, AttemptDead or AttemptRequeued
	Detail  string    `json:"detail"`       // the receipt, what went wrong, or why it was requeued
	By      string    `json:"by,omitempty"` // who requeued it
}

// AttemptResult is what one delivery attempt came to.
type AttemptResult struct {
	Outcome string // AttemptDelivered, AttemptFailed or AttemptDead
	// Detail is the receipt when delivered, else the error.
	Detail string
	// NextAttemptAt is when to try again; used when Outcome is AttemptFailed.
	NextAttemptAt time.Time
}

// Status is a notification's delivery state, for an alert's
// timeline.
type Status struct {
	NotificationID uuid.UUID  `json:"notificationId"`
	PractitionerID string     `json:"practitionerId"`
	Channel        string     `json:"channel"`
	Level          int        `json:"level"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"lastError,omitempty"`
	DeliveredAt    *time.Time `json:"deliveredAt,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

// InboxItem is an in-app notification in a practitioner's inbox.
type InboxItem struct {
	ID             uuid.UUID `json:"id"`
	PractitionerID string    `json:"practitionerId"`
	NotificationID uuid.UUID `json:"notificationId"`
	AlertID        uuid.UUID `json:"alertId,omitzero"`
	// About is what an item that is not an alert's is about:
	// "DiagnosticReport/<id>".
	About     string     `json:"about,omitempty"`
	PatientID uuid.UUID  `json:"patientId"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	Severity  string     `json:"severity"`
	CreatedAt time.Time  `json:"createdAt"`
	ReadAt    *time.Time `json:"readAt,omitempty"`
}

// InboxEvent says a practitioner's inbox has a new item.
type InboxEvent struct {
	PractitionerID string
}

// Pending filters the delivery log for notifications still waiting
// for an attempt: StatusQueued or StatusFailed.
const Pending = "pending"

// Delivery is a notification as the delivery log shows it to an operator:
// who it is for, how it goes, where it stands and its attempt history. The
// message itself (subject and body) is left out.
type Delivery struct {
	ID             uuid.UUID `json:"id"`
	AlertID        uuid.UUID `json:"alertId"`
	PatientID      uuid.UUID `json:"patientId"`
	PractitionerID string    `json:"practitionerId"`
	RecipientName  string    `json:"recipientName,omitempty"`
	Channel        string    `json:"channel"`
	Address        string    `json:"address,omitempty"`
	Severity       string    `json:"severity"`
	Category       string    `json:"category,omitempty"`
	Level          int       `json:"level"`
	Status         string    `json:"status"`
	// Attempts counts the attempts of the current round; Round is how many
	// times the notification was requeued.
	Attempts int `json:"attempts"`
	Round    int `json:"round"`
	// NextAttemptAt is when the next attempt is due; set only while the
	// notification waits for one.
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	Receipt       string     `json:"receipt,omitempty"`
	DeliveredAt   *time.Time `json:"deliveredAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	History       []Attempt  `json:"history"`
}

// Filter selects from the delivery log; zero fields do not filter.
type Filter struct {
	// Status is a notification status or Pending.
	Status    string
	Channel   string
	AlertID   uuid.UUID
	PatientID uuid.UUID
	// From and To bound when the notification was requested: From ≤
	// createdAt < To.
	From, To time.Time
	Limit    int
	Cursor   string // Next of the previous page
}

// Page is one page of the delivery log, newest first; Next is empty
// on the last page.
type Page struct {
	Deliveries []Delivery
	Next       string
}

// StateError refuses to requeue a notification that is not dead:
// it names the status the notification is in. It wraps domain.ErrConflict.
type StateError struct {
	ID     uuid.UUID
	Status string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("notification %s is %s, not dead", e.ID, e.Status)
}

// Unwrap makes the error a domain.ErrConflict.
func (e *StateError) Unwrap() error { return domain.ErrConflict }
