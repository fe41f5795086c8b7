// Package procedure is a procedure's life as the ProcedureScheduling process
// keeps it: the resources it needs (rooms, staff, equipment, and the patient
// as a resource of their own), the request with its requirements and
// window, the slot found where every requirement is free, held for a while
// and then booked, the pre-procedure checklist (WHO Surgical Safety
// Checklist), check-in, start, completion with its outcome, and the ends a
// booking may meet instead: cancelled, rescheduled, bumped by an emergency,
// or a no-show. It also holds the slot search over the resources' busy
// times and the quality metrics over many procedures.
//
// The package is pure: every change is a function of the procedure, the
// request and the time, returning the next procedure or a refusal wrapping
// ErrInvalidTransition or ErrInvalidArgument. The workflow holds the state;
// the store keeps each version, and PostgreSQL itself refuses any overlap of
// two allocations of one resource (an exclusion constraint).
package procedure

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// The refusals every change answers with. Match them with errors.Is.
var (
	// ErrInvalidTransition: the procedure's status forbids the change.
	ErrInvalidTransition = errors.New("invalid procedure transition")
	// ErrInvalidArgument: the request itself is wrong.
	ErrInvalidArgument = errors.New("invalid procedure request")
	// ErrChecklistIncomplete refuses a start (or a completion) while items
	// of the checklist phase before it are not done; it also wraps
	// ErrInvalidTransition.
	ErrChecklistIncomplete = errors.New("the safety checklist is not complete")
	// ErrHoldLapsed refuses to book a procedure whose hold lapsed (or that
	// holds nothing); it wraps domain.ErrConflict.
	ErrHoldLapsed = fmt.Errorf("the procedure's hold lapsed: %w", domain.ErrConflict)
)

// SlotTaken refuses a hold or a swap because an allocation of another
// procedure already takes the resource (or the patient) of Kind and
// ResourceID over part of the period asked for; errors.Is(err,
// domain.ErrConflict) holds. Kind and ResourceID are zero in the rare case
// the colliding row was gone by the time the store looked. PostgreSQL's
// exclusion constraint is what finds it.
type SlotTaken struct {
	Kind       ResourceKind
	ResourceID uuid.UUID
}

func (e *SlotTaken) Error() string {
	return fmt.Sprintf("slot taken: %s %s is allocated to another procedure then", e.Kind, e.ResourceID)
}

// Unwrap makes a taken slot a domain.ErrConflict.
func (e *SlotTaken) Unwrap() error { return domain.ErrConflict }

// ResourceKind is what a resource is. The patient is a resource too, but
// never a row of the resource directory: its allocations carry the
// patient's id.
type ResourceKind string

// The resource kinds.
const (
	KindRoom      ResourceKind = "room"
	KindStaff     ResourceKind = "staff"
	KindEquipment ResourceKind = "equipment"
	KindPatient   ResourceKind = "patient"
)

// Valid reports whether k is a kind the directory holds (not the patient).
func (k ResourceKind) Valid() bool { return k == KindRoom || k == KindStaff || k == KindEquipment }

// Period is a span of time, From inclusive, To exclusive.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Overlaps reports whether p and q share an instant.
func (p Period) Overlaps(q Period) bool { return p.From.Before(q.To) && q.From.Before(p.To) }

// Blocked is a period a resource is unavailable: maintenance, leave.
type Blocked struct {
	Period
	Reason string `json:"reason"`
}

// Hours are a resource's working hours on one weekday, as local clock times
// "HH:MM" in the resource's time zone; To after From.
type Hours struct {
	Weekday time.Weekday `json:"weekday"`
	From    string       `json:"from"`
	To      string       `json:"to"`
}

// Resource is a room, a member of staff or a piece of equipment procedures
// are booked on.
type Resource struct {
	ID   uuid.UUID    `json:"id"`
	Kind ResourceKind `json:"kind"`
	Name string       `json:"name"`
	// Capabilities are a room's: operating-theatre, endoscopy, cath-lab,
	// minor-procedures, imaging.
	Capabilities []string `json:"capabilities,omitempty"`
	// PractitionerID is a member of staff's practitioner in the care-team
	// directory; Skills are theirs: surgeon, anaesthetist, scrub-nurse,
	// endoscopist, radiographer.
	PractitionerID *uuid.UUID `json:"practitionerId,omitempty"`
	Skills         []string   `json:"skills,omitempty"`
	// EquipmentKind is a piece of equipment's: c-arm, ultrasound,
	// ventilator …
	EquipmentKind string `json:"equipmentKind,omitempty"`
	// TimeZone is the IANA zone Hours are read in; empty is UTC.
	TimeZone string    `json:"timeZone,omitempty"`
	Hours    []Hours   `json:"hours"`
	Blocked  []Blocked `json:"blocked,omitempty"`
	// Turnover is the time the resource needs after each case (cleaning,
	// set-up) before the next may start.
	Turnover time.Duration `json:"turnover"`
	Active   bool          `json:"active"`
	Version  int           `json:"version"`
}

// Has reports whether the resource meets the requirement's kind and
// attribute (capability, skill or equipment kind).
func (r Resource) Has(q Requirement) bool {
	if !r.Active || r.Kind != q.Type {
		return false
	}
	switch q.Type {
	case KindRoom:
		return slices.Contains(r.Capabilities, q.Capability)
	case KindStaff:
		return slices.Contains(r.Skills, q.Skill)
	case KindEquipment:
		return r.EquipmentKind == q.Kind
	}
	return false
}

// Requirement is one thing a procedure needs: a room with a capability,
// Count members of staff with a skill, or a piece of equipment of a kind.
type Requirement struct {
	Type       ResourceKind `json:"type"`
	Capability string       `json:"capability,omitempty"`
	Skill      string       `json:"skill,omitempty"`
	Count      int          `json:"count,omitempty"` // staff; 0 is 1
	Kind       string       `json:"kind,omitempty"`
}

// Needed is how many resources the requirement takes.
func (q Requirement) Needed() int {
	if q.Count < 1 {
		return 1
	}
	return q.Count
}

// Priority is how soon the procedure is needed.
type Priority string

// The priorities: an emergency may bump elective cases.
const (
	PriorityElective  Priority = "elective"
	PriorityUrgent    Priority = "urgent"
	PriorityEmergency Priority = "emergency"
)

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool {
	return p == PriorityElective || p == PriorityUrgent || p == PriorityEmergency
}

// Code systems a procedure is coded in.
const (
	SystemSNOMED = "http://snomed.info/sct"
	SystemCPT    = "http://www.ama-assn.org/go/cpt"
)

// Coding is a code from a code system with its display text.
type Coding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display"`
}

// Request is a procedure as its requester asks for it. The API fills
// RequesterID from the person acting and CreatedAt from its clock.
type Request struct {
	ID           uuid.UUID     `json:"id"`
	PatientID    uuid.UUID     `json:"patientId"`
	EncounterID  *uuid.UUID    `json:"encounterId,omitempty"`
	Procedure    Coding        `json:"procedure"`
	Duration     time.Duration `json:"duration"`
	Requirements []Requirement `json:"requirements"`
	Window       Period        `json:"window"`
	Priority     Priority      `json:"priority"`
	// PreferredPractitionerID is tried first among the staff who meet a
	// requirement.
	PreferredPractitionerID *uuid.UUID `json:"preferredPractitionerId,omitempty"`
	RequesterID             uuid.UUID  `json:"requesterId"`
	Notes                   string     `json:"notes,omitempty"`
	CreatedAt               time.Time  `json:"createdAt"`
}

// Slot is a time every requirement of a request is free, with the
// resources chosen for each requirement in order (Count of them for staff).
type Slot struct {
	Period
	Resources [][]uuid.UUID `json:"resources"`
	// Team are the practitioners of the staff resources chosen, whom the
	// procedure's reminders and changes are sent to.
	Team []uuid.UUID `json:"team,omitempty"`
}

// AllocationState is where an allocation stands: a hold expires unless it
// is booked.
type AllocationState string

// The allocation states.
const (
	AllocationHeld   AllocationState = "held"
	AllocationBooked AllocationState = "booked"
)

// Allocation is one resource (or the patient) taken by a procedure for a
// period, as the store keeps it. The resource is busy over the period and
// its turnover after it.
type Allocation struct {
	ProcedureID uuid.UUID       `json:"procedureId"`
	ResourceID  uuid.UUID       `json:"resourceId"` // the patient's id for KindPatient
	Kind        ResourceKind    `json:"kind"`
	Period      Period          `json:"period"`
	Turnover    time.Duration   `json:"turnover"`
	State       AllocationState `json:"state"`
	// ExpiresAt is when a hold lapses; nil once booked.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	Priority  Priority   `json:"priority"`
}

// Busy is a span a resource is taken, turnover included, and by which
// procedure (uuid.Nil for a blocked period).
type Busy struct {
	Period
	ProcedureID uuid.UUID `json:"procedureId"`
	Priority    Priority  `json:"priority,omitempty"`
	// Held is set for a hold not yet booked: an emergency bumps only
	// booked elective cases, never a hold another request is confirming.
	Held bool `json:"held,omitempty"`
}

// Status is where a procedure stands, after FHIR R4 Procedure.status and
// Appointment.status: requested until a slot is held, held while the hold
// runs, booked once confirmed, checked-in, in-progress, completed; or
// cancelled, no-show (the patient never checked in), and unscheduled (no
// slot in the window, or a hold lapsed or a bump released it, waiting for
// another).
type Status string

// The statuses.
const (
	StatusRequested   Status = "requested"
	StatusHeld        Status = "held"
	StatusBooked      Status = "booked"
	StatusCheckedIn   Status = "checked-in"
	StatusInProgress  Status = "in-progress"
	StatusCompleted   Status = "completed"
	StatusCancelled   Status = "cancelled"
	StatusNoShow      Status = "no-show"
	StatusUnscheduled Status = "unscheduled"
)

// Statuses lists every status.
var Statuses = []Status{StatusRequested, StatusHeld, StatusBooked, StatusCheckedIn, StatusInProgress, StatusCompleted,
	StatusCancelled, StatusNoShow, StatusUnscheduled}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Closed reports whether the procedure has ended: completed, cancelled or
// a no-show. A closed procedure holds no allocation.
func (s Status) Closed() bool {
	return s == StatusCompleted || s == StatusCancelled || s == StatusNoShow
}

// Allocating reports whether the procedure holds allocations in this
// status: held, booked, checked in or in progress.
func (s Status) Allocating() bool {
	return s == StatusHeld || s == StatusBooked || s == StatusCheckedIn || s == StatusInProgress
}

// EventKind names a timeline entry, and the procedure.<kind> CloudEvent
// that publishes it.
type EventKind string

// The timeline entries.
const (
	EventRequested   EventKind = "requested"
	EventHeld        EventKind = "held"
	EventNoSlot      EventKind = "no-slot"
	EventHoldExpired EventKind = "hold-expired"
	EventBooked      EventKind = "booked"
	EventRescheduled EventKind = "rescheduled"
	EventBumped      EventKind = "bumped"
	EventReminded    EventKind = "reminded"
	EventChecked     EventKind = "checklist-item"
	EventCheckedIn   EventKind = "checked-in"
	EventStarted     EventKind = "started"
	EventCompleted   EventKind = "completed"
	EventCancelled   EventKind = "cancelled"
	EventNoShow      EventKind = "no-show"
)

// Entry is one change of a procedure.
type Entry struct {
	Seq    int       `json:"seq"` // 1-based position in the timeline
	Kind   EventKind `json:"kind"`
	At     time.Time `json:"at"`
	By     uuid.UUID `json:"by,omitzero"` // empty for the process's own steps
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// Outcome is how a completed procedure went (FHIR R4 Procedure.outcome,
// SNOMED CT: 385669000 successful, 385670004 partially successful,
// 385671000 unsuccessful).
type Outcome string

// The outcomes.
const (
	OutcomeSuccessful          Outcome = "successful"
	OutcomePartiallySuccessful Outcome = "partially-successful"
	OutcomeUnsuccessful        Outcome = "unsuccessful"
)

// Completion is what the team records when the procedure ends.
type Completion struct {
	Outcome Outcome `json:"outcome"`
	// Complications are coded (SNOMED CT), none for an uneventful case.
	Complications []Coding  `json:"complications,omitempty"`
	StartedAt     time.Time `json:"startedAt"`
	EndedAt       time.Time `json:"endedAt"`
	Notes         string    `json:"notes,omitempty"`
	// Team are the practitioners who performed it.
	Team []uuid.UUID `json:"team"`
	By   uuid.UUID   `json:"by"`
}

// ChecklistItem is one item of the pre-procedure checklist and the WHO
// Surgical Safety Checklist phase it belongs to, done or not.
type ChecklistItem struct {
	Code   string     `json:"code"`
	Phase  Phase      `json:"phase"`
	Text   string     `json:"text"`
	DoneAt *time.Time `json:"doneAt,omitempty"`
	DoneBy uuid.UUID  `json:"doneBy,omitzero"`
	Note   string     `json:"note,omitempty"`
}

// Phase is when a checklist item is done: before the day (pre-procedure:
// consent, fasting, site marking), or the WHO checklist's sign-in (before
// induction of anaesthesia), time-out (before skin incision) and sign-out
// (before the patient leaves the room).
type Phase string

// The phases, in order.
const (
	PhasePreProcedure Phase = "pre-procedure"
	PhaseSignIn       Phase = "sign-in"
	PhaseTimeOut      Phase = "time-out"
	PhaseSignOut      Phase = "sign-out"
)

// Procedure is a request and its scheduling and performance, as the process
// keeps it.
type Procedure struct {
	Request Request `json:"request"`
	Status  Status  `json:"status"`
	// Slot is the slot held or booked; nil while none is.
	Slot *Slot `json:"slot,omitempty"`
	// Released is the slot the last reschedule or bump gave up, whose
	// team is told of the change.
	Released *Slot `json:"released,omitempty"`
	// HoldExpiresAt is when the hold lapses unless booked.
	HoldExpiresAt *time.Time `json:"holdExpiresAt,omitempty"`
	// Reminders are the times before the start reminders are sent at, and
	// Reminded how many were sent (or skipped, already past at booking)
	// for the current slot.
	Reminders   []time.Duration `json:"reminders,omitempty"`
	Reminded    int             `json:"reminded,omitempty"`
	Checklist   []ChecklistItem `json:"checklist"`
	CheckedInAt *time.Time      `json:"checkedInAt,omitempty"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	Completion  *Completion     `json:"completion,omitempty"`
	// Search is what the last search that found no slot said: why, what
	// blocks it and the nearest alternatives; nil once a slot is held.
	Search *SearchOutcome `json:"search,omitempty"`
	// Reschedules counts the slots after the first booked one; Bumped the
	// times an emergency took its slot.
	Reschedules int     `json:"reschedules,omitempty"`
	Bumped      int     `json:"bumped,omitempty"`
	Timeline    []Entry `json:"timeline"`
	// Version counts the timeline's entries: each change adds one.
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// SearchOutcome is why a search found no slot, the requirements and
// resources that block it, and the nearest slots outside the window.
type SearchOutcome struct {
	Reason       string    `json:"reason"`
	Blocking     []Blocker `json:"blocking,omitempty"`
	Alternatives []Slot    `json:"alternatives,omitempty"`
	At           time.Time `json:"at"`
}
