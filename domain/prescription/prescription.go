// Package prescription is a medication order's life as the Prescription
// process keeps it: checked against the patient on arrival, held while any
// finding that must not pass unseen stands, overridden with a reason per
// finding, verified by a pharmacist (who checks it again), dispensed,
// administered, and finally discontinued, cancelled or completed.
//
// The package is pure: every change is a function of the prescription, the
// request and the time, returning the next prescription or a refusal
// wrapping ErrInvalidTransition or ErrInvalidArgument. The workflow holds the
// state and the read model stores each version with its timeline entry.
package prescription

import (
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/medication"
)

// Status is where a prescription stands. The names are FHIR
// MedicationRequest.status codes.
type Status string

// The statuses.
const (
	// StatusDraft: stored, its checks have not run yet.
	StatusDraft Status = "draft"
	// StatusOnHold: a finding stands that someone must override, or the
	// order is cancelled.
	StatusOnHold Status = "on-hold"
	// StatusActive: the order may be verified, dispensed and given.
	StatusActive Status = "active"
	// StatusCancelled: withdrawn before any of it was given.
	StatusCancelled Status = "cancelled"
	// StatusStopped: discontinued after it was active.
	StatusStopped Status = "stopped"
	// StatusCompleted: its duration ran out.
	StatusCompleted Status = "completed"
)

// Statuses lists every status.
var Statuses = []Status{StatusDraft, StatusOnHold, StatusActive, StatusCancelled, StatusStopped, StatusCompleted}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Closed reports whether the prescription has ended.
func (s Status) Closed() bool {
	return s == StatusCancelled || s == StatusStopped || s == StatusCompleted
}

// Open reports whether the prescription counts among the patient's current
// medications, which new orders are checked against: every one not closed.
func (s Status) Open() bool { return s != "" && !s.Closed() }

// The refusals every change answers with.
var (
	// ErrInvalidTransition: the prescription's status forbids the change.
	ErrInvalidTransition = errors.New("invalid prescription transition")
	// ErrInvalidArgument: the request itself is wrong.
	ErrInvalidArgument = errors.New("invalid prescription request")
)

// Quantity is an amount with its unit.
type Quantity struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Details are what the prescriber ordered: set at creation, never changed.
type Details struct {
	ID          uuid.UUID  `json:"id"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	// Unit is the ward the patient is on (the encounter's location), where
	// reminders go; empty when there is no encounter.
	Unit string `json:"unit,omitempty"`
	// Order is the order as the checks read it: drug, dose, route,
	// frequency, duration, prn and indication.
	Order medication.Order `json:"order"`
	// Drug is what the order resolved to in the knowledge base.
	Drug medication.Resolution `json:"drug"`
	// Quantity is the total to dispense; zero when the order does not say.
	Quantity     Quantity  `json:"quantity,omitzero"`
	PrescriberID uuid.UUID `json:"prescriberId"`
	CreatedAt    time.Time `json:"createdAt"`
}

// EventKind names an entry of a prescription's timeline; each is also the
// outbox event type prescription.<kind>.
type EventKind string

// The timeline entries.
const (
	EventCreated      EventKind = "created"
	EventHeld         EventKind = "held"
	EventActivated    EventKind = "activated"
	EventOverridden   EventKind = "overridden"
	EventVerified     EventKind = "verified"
	EventDispensed    EventKind = "dispensed"
	EventAdministered EventKind = "administered"
	EventRechecked    EventKind = "rechecked"
	EventDiscontinued EventKind = "discontinued"
	EventCancelled    EventKind = "cancelled"
	EventCompleted    EventKind = "completed"
)

// Entry is one entry of the timeline: what happened, when, who did it, and
// the status it left.
type Entry struct {
	Seq    int       `json:"seq"` // 1-based position in the timeline
	Kind   EventKind `json:"kind"`
	At     time.Time `json:"at"`
	By     uuid.UUID `json:"by,omitzero"` // empty for the process's own steps
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// Override is a person's reason to let one finding pass.
type Override struct {
	By     uuid.UUID `json:"by"`
	Role   string    `json:"role"` // prescriber or pharmacist
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Finding is one finding of a check on this prescription, as it stands.
type Finding struct {
	// ID names the finding across checks: the same problem found again has
	// the same id, so an override keeps covering it.
	ID string `json:"id"`
	medication.Finding
	// OtherPrescriptionID is the patient's other prescription the finding
	// concerns (an interaction or a duplicate), when it is one.
	OtherPrescriptionID *uuid.UUID `json:"otherPrescriptionId,omitempty"`
	// Blocking findings hold the order until overridden.
	Blocking bool      `json:"blocking"`
	Override *Override `json:"override,omitempty"`
	// FoundAt is when a check first found it.
	FoundAt time.Time `json:"foundAt"`
}

// Standing reports whether the finding holds the order: blocking and not
// overridden.
func (f Finding) Standing() bool { return f.Blocking && f.Override == nil }

// Check is one run of the checks: when, why, and which knowledge-base
// version answered.
type Check struct {
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"` // ordered, verification, new allergy, new prescription …
	Version string    `json:"version"`
	// Found counts the findings this run added.
	Found int `json:"found"`
	// Basis is what the run read of the patient's observations.
	Basis []Basis `json:"basis,omitempty"`
}

// Dispense is one fill.
type Dispense struct {
	Quantity Quantity  `json:"quantity"`
	By       uuid.UUID `json:"by"`
	At       time.Time `json:"at"`
}

// Administration is one dose given, or not given and why.
type Administration struct {
	Dose     Quantity  `json:"dose,omitzero"`
	At       time.Time `json:"at"`
	By       uuid.UUID `json:"by"`
	NotGiven bool      `json:"notGiven,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// Prescription is a prescription as its process keeps it.
type Prescription struct {
	Details  Details   `json:"details"`
	Status   Status    `json:"status"`
	Findings []Finding `json:"findings"`
	Checks   []Check   `json:"checks"`
	// VerifiedBy and VerifiedAt are set once a pharmacist verified it.
	VerifiedBy      *uuid.UUID       `json:"verifiedBy,omitempty"`
	VerifiedAt      *time.Time       `json:"verifiedAt,omitempty"`
	Dispenses       []Dispense       `json:"dispenses,omitempty"`
	Administrations []Administration `json:"administrations,omitempty"`
	// ActivatedAt is when it first became active; EndsAt when its duration
	// runs out, counted from then.
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	EndsAt      *time.Time `json:"endsAt,omitempty"`
	// HeldAt is when the current hold began; nil unless on hold.
	HeldAt   *time.Time `json:"heldAt,omitempty"`
	Timeline []Entry    `json:"timeline"`
	// Version counts the timeline's entries: each change adds one.
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Last is the newest timeline entry.
func (p Prescription) Last() Entry {
	if len(p.Timeline) == 0 {
		return Entry{}
	}
	return p.Timeline[len(p.Timeline)-1]
}

// Standing lists the findings that hold the order.
func (p Prescription) Standing() []Finding {
	var out []Finding
	for _, f := range p.Findings {
		if f.Standing() {
			out = append(out, f)
		}
	}
	return out
}

// Dispensed is the total dispensed so far, in the quantity's unit.
func (p Prescription) Dispensed() float64 {
	var n float64
	for _, d := range p.Dispenses {
		n += d.Quantity.Value
	}
	return n
}

// Given reports whether any dose has been given.
func (p Prescription) Given() bool {
	for _, a := range p.Administrations {
		if !a.NotGiven {
			return true
		}
	}
	return false
}

// clone copies p so a change never aliases the slices of the version before.
func (p Prescription) clone() Prescription {
	p.Findings = slices.Clone(p.Findings)
	p.Checks = slices.Clone(p.Checks)
	p.Dispenses = slices.Clone(p.Dispenses)
	p.Administrations = slices.Clone(p.Administrations)
	p.Timeline = slices.Clone(p.Timeline)
	return p
}

// add appends a timeline entry for a change at, leaving status.
func (p Prescription) add(kind EventKind, at time.Time, by uuid.UUID, note string) Prescription {
	p.Version++
	p.UpdatedAt = at
	p.Timeline = append(p.Timeline, Entry{Seq: len(p.Timeline) + 1, Kind: kind, At: at, By: by, Status: p.Status, Note: note})
	return p
}
