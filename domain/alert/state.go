package alert

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// EventKind names an entry of an alert's timeline.
type EventKind string

// The timeline entries.
const (
	EventRaised       EventKind = "raised"
	EventNotified     EventKind = "notified"
	EventEscalated    EventKind = "escalated"
	EventAcknowledged EventKind = "acknowledged"
	EventReminded     EventKind = "reminded"
	EventResolved     EventKind = "resolved"
	EventExhausted    EventKind = "exhausted"
	// EventUnreachable: a level had nobody to notify (its note says who
	// was missing, e.g. "no nurse on ward-3"); the alert escalated at once.
	EventUnreachable EventKind = "unreachable"
	// EventUndeliverable: no level could be delivered; the operator's
	// fallback contact was alerted instead.
	EventUndeliverable EventKind = "undeliverable"
)

// Event is one entry of the timeline.
type Event struct {
	Kind           EventKind `json:"kind"`
	At             time.Time `json:"at"`
	Level          int       `json:"level,omitempty"` // 1-based
	Round          int       `json:"round,omitempty"`
	PractitionerID uuid.UUID `json:"practitionerId,omitzero"`
	Name           string    `json:"name,omitempty"`
	Channel        Channel   `json:"channel,omitempty"`
	NotificationID uuid.UUID `json:"notificationId,omitzero"`
	Note           string    `json:"note,omitempty"`
}

// NotifiedEvents turns sent notifications into timeline entries.
func NotifiedEvents(ns []Notification) []Event {
	out := make([]Event, 0, len(ns))
	for _, n := range ns {
		out = append(out, Event{Kind: n.Kind, At: n.CreatedAt, Level: n.Level, Round: n.Round,
			PractitionerID: n.PractitionerID, Name: n.Name, Channel: n.Channel, NotificationID: n.ID})
	}
	return out
}

// Recipient is a practitioner who has been notified of an alert.
type Recipient struct {
	PractitionerID uuid.UUID `json:"practitionerId"`
	Name           string    `json:"name"`
}

// State is an alert as its escalation sees it.
type State struct {
	Raise  Raise  `json:"raise"`
	Policy Policy `json:"policy"`
	Status Status `json:"status"`
	Step   Step   `json:"step"`
	// WaitUntil is when the current wait ends: the level's acknowledgement
	// deadline, or the next resolve reminder. It survives continue-as-new.
	WaitUntil      time.Time   `json:"waitUntil,omitzero"`
	Reminders      int         `json:"reminders,omitempty"` // resolve reminders sent
	Recipients     []Recipient `json:"recipients"`          // everyone notified so far
	AcknowledgedBy uuid.UUID   `json:"acknowledgedBy,omitzero"`
	Timeline       []Event     `json:"timeline"`
}

// Errors the acknowledge and resolve rules report.
var (
	ErrNotRecipient    = errors.New("practitioner is not a recipient of this alert")
	ErrAlreadyAcked    = errors.New("alert is already acknowledged")
	ErrAlreadyClosed   = errors.New("alert is closed")
	ErrPractitionerReq = errors.New("practitionerId is required")
)

// IsRecipient reports whether id has been notified of the alert. Escalation
// widens the circle: whoever was notified at an earlier level may still answer.
func (s State) IsRecipient(id uuid.UUID) bool {
	return slices.ContainsFunc(s.Recipients, func(r Recipient) bool { return r.PractitionerID == id })
}

// AddRecipients records who a step notified.
func (s *State) AddRecipients(ns []Notification) {
	for _, n := range ns {
		if !s.IsRecipient(n.PractitionerID) {
			s.Recipients = append(s.Recipients, Recipient{PractitionerID: n.PractitionerID, Name: n.Name})
		}
	}
}

// CanAcknowledge says whether practitioner may acknowledge the alert now.
func (s State) CanAcknowledge(practitioner uuid.UUID) error {
	switch {
	case practitioner == uuid.Nil:
		return ErrPractitionerReq
	case s.Status.Closed():
		return fmt.Errorf("%w (%s)", ErrAlreadyClosed, s.Status)
	case s.Status == StatusAcknowledged:
		return ErrAlreadyAcked
	case !s.IsRecipient(practitioner):
		return ErrNotRecipient
	}
	return nil
}

// CanResolve says whether practitioner may resolve the alert now.
func (s State) CanResolve(practitioner uuid.UUID) error {
	switch {
	case practitioner == uuid.Nil:
		return ErrPractitionerReq
	case s.Status.Closed():
		return fmt.Errorf("%w (%s)", ErrAlreadyClosed, s.Status)
	}
	return nil
}

// Acknowledge moves the alert to acknowledged; CanAcknowledge must hold.
func (s *State) Acknowledge(practitioner uuid.UUID, at time.Time) Event {
	s.Status, s.AcknowledgedBy = StatusAcknowledged, practitioner
	e := Event{Kind: EventAcknowledged, At: at, Level: s.Step.Level + 1, Round: s.Step.Round,
		PractitionerID: practitioner, Name: s.recipientName(practitioner)}
	s.Timeline = append(s.Timeline, e)
	return e
}

// Resolve closes the alert; CanResolve must hold.
func (s *State) Resolve(practitioner uuid.UUID, note string, at time.Time) Event {
	s.Status = StatusResolved
	e := Event{Kind: EventResolved, At: at, PractitionerID: practitioner, Name: s.recipientName(practitioner), Note: note}
	s.Timeline = append(s.Timeline, e)
	return e
}

// Notified reports whether any level has reached anyone yet.
func (s State) Notified() bool { return len(s.Recipients) > 0 }

// Unreachable lists the notes of the levels that had nobody to notify, in
// the order they were met.
func (s State) Unreachable() []string {
	var out []string
	for _, e := range s.Timeline {
		if e.Kind == EventUnreachable {
			out = append(out, e.Note)
		}
	}
	return out
}

// Record is the alert as the read model keeps it, built from the
// escalation's own state, so an Update answers in the same shape a read does.
func (s State) Record() Record {
	r := Record{
		ID: s.Raise.AlertID, PatientID: s.Raise.PatientID, EncounterID: s.Raise.EncounterID, Unit: s.Raise.Unit,
		Severity: s.Raise.Severity, Category: s.Raise.Category, Source: s.Raise.Source, Message: s.Raise.Message,
		Status: s.Status, PolicyID: s.Policy.ID, Timeline: slices.Clone(s.Timeline),
	}
	if r.PolicyID == "" {
		r.PolicyID = s.Raise.PolicyID
	}
	for _, e := range s.Timeline {
		switch e.Kind {
		case EventRaised:
			r.RaisedAt = e.At
		case EventNotified, EventUnreachable:
			r.Level, r.Round = s.Step.Level+1, s.Step.Round
		case EventAcknowledged:
			by, at := e.PractitionerID, e.At
			r.AcknowledgedBy, r.AcknowledgedAt = &by, &at
		case EventResolved:
			by, at := e.PractitionerID, e.At
			r.ResolvedBy, r.ResolvedAt, r.ResolveNote = &by, &at, e.Note
		}
	}
	return r
}

func (s State) recipientName(id uuid.UUID) string {
	for _, r := range s.Recipients {
		if r.PractitionerID == id {
			return r.Name
		}
	}
	return ""
}
