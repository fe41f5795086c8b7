// Package alert holds the rules of alert escalation: severities, escalation
// policies and the routing that picks one, who a level notifies, and the
// state an alert moves through from raised to resolved or exhausted. It is
// pure: functions that need the time take it as a parameter.
package alert

import (
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Severity ranks how urgently an alert needs a human.
type Severity string

// The severities, from least to most urgent.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityUrgent   Severity = "urgent"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity, least urgent first.
var Severities = []Severity{SeverityInfo, SeverityWarning, SeverityUrgent, SeverityCritical}

// Rank orders severities: info 1 … critical 4; 0 for an unknown one.
func (s Severity) Rank() int { return slices.Index(Severities, s) + 1 }

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s.Rank() > 0 }

// AtLeast reports whether s is as urgent as min or more.
func (s Severity) AtLeast(min Severity) bool { return s.Rank() >= min.Rank() }

// Status is where an alert stands.
type Status string

// The statuses of an alert. Open alerts are still escalating; the other
// three after acknowledged are closed.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
	// StatusExhausted: every level was notified and nobody acknowledged.
	StatusExhausted Status = "exhausted"
	// StatusUndeliverable: no level had anyone to notify, so the alert went
	// to the operator's fallback contact instead.
	StatusUndeliverable Status = "undeliverable"
)

// Statuses lists every status, in the order an alert can reach them.
var Statuses = []Status{StatusOpen, StatusAcknowledged, StatusResolved, StatusExhausted, StatusUndeliverable}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Closed reports whether no further change can happen.
func (s Status) Closed() bool {
	return s == StatusResolved || s == StatusExhausted || s == StatusUndeliverable
}

// Raise is what a process reports when it raises an alert.
type Raise struct {
	AlertID     uuid.UUID  `json:"alertId"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	Unit        string     `json:"unit"` // the patient's ward
	Severity    Severity   `json:"severity"`
	Category    string     `json:"category"` // e.g. news2-high, critical-lab-value
	Message     string     `json:"message"`
	Source      string     `json:"source"` // the raising process, e.g. diagnostic/<id>
	PolicyID    string     `json:"policyId,omitempty"`
	// OwnerID, when set, names a practitioner who is also notified at the
	// first level, whatever the policy says: the owner of the task the alert
	// is about, such as an overdue care-plan activity.
	OwnerID *uuid.UUID `json:"ownerId,omitempty"`
}

// Validate reports every invalid field at once.
func (r Raise) Validate() error {
	var v domain.ValidationError
	if r.AlertID == uuid.Nil {
		v.Add("alertId", "required")
	}
	if r.PatientID == uuid.Nil {
		v.Add("patientId", "required")
	}
	if strings.TrimSpace(r.Unit) == "" {
		v.Add("unit", "required")
	}
	if !r.Severity.Valid() {
		v.Add("severity", "must be one of info, warning, urgent, critical")
	}
	if strings.TrimSpace(r.Category) == "" {
		v.Add("category", "required")
	}
	if strings.TrimSpace(r.Source) == "" {
		v.Add("source", "required")
	}
	if strings.TrimSpace(r.Message) == "" {
		v.Add("message", "required")
	}
	if r.OwnerID != nil && *r.OwnerID == uuid.Nil {
		v.Add("ownerId", "must be a practitioner id when given")
	}
	r.checkSizes(&v)
	return v.OrNil()
}

// WithOwner returns the level a step notifies for this alert: at the first
// level (of every round) the owner, when named, is added as one more named
// practitioner, so recipient resolution notifies them if they are active in
// the directory. Other levels are returned as they are.
func (r Raise) WithOwner(step Step, level Level) Level {
	if r.OwnerID == nil || *r.OwnerID == uuid.Nil || step.Level != 0 {
		return level
	}
	for _, rule := range level.Recipients {
		if rule.Kind == RecipientPractitioner && rule.PractitionerID == *r.OwnerID {
			return level
		}
	}
	level.Recipients = append(slices.Clone(level.Recipients), RecipientRule{Kind: RecipientPractitioner, PractitionerID: *r.OwnerID})
	return level
}

// dedupeSpace namespaces the deterministic ids derived here.
var dedupeSpace = uuid.MustParse("6f1d2a4e-3c1b-4f5e-9a57-2d8c0b7e4a11")

// OccurrenceID is the alert id of the n-th alert (n counts from 0) raised
// for a patient in a category by a source. Starters derive n from how many
// such alerts are closed, so every raise while one is open lands on the same
// id, and the next raise after it closes on a fresh one.
func OccurrenceID(patientID uuid.UUID, category, source string, n int) uuid.UUID {
	return uuid.NewSHA1(dedupeSpace, []byte(patientID.String()+"\x00"+category+"\x00"+source+"\x00"+strconv.Itoa(n)))
}
