package encounter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// EventKind names an entry of an encounter's timeline; the transitions'
// kinds are also the outbox event types, as encounter.<kind>.
type EventKind string

// The timeline entries.
const (
	EventCreated     EventKind = "created"
	EventArrived     EventKind = "arrived"
	EventTriaged     EventKind = "triaged"
	EventStarted     EventKind = "started"
	EventTransferred EventKind = "transferred"
	EventDischarged  EventKind = "discharged"
	EventCancelled   EventKind = "cancelled"
	EventOrderLinked EventKind = "order-linked"
	EventOrderClosed EventKind = "order-closed"
)

// Transition reports whether the entry changed the encounter's status or
// location (rather than its orders).
func (k EventKind) Transition() bool { return k != EventOrderLinked && k != EventOrderClosed }

// Entry is one entry of the timeline: what happened, when, and who did it.
type Entry struct {
	Seq  int       `json:"seq"` // 1-based position in the timeline
	Kind EventKind `json:"kind"`
	At   time.Time `json:"at"`
	By   uuid.UUID `json:"by,omitzero"` // the practitioner; empty for other processes' events
	Note string    `json:"note,omitempty"`
}

// Stay is one location the patient was at, from a time until the next.
type Stay struct {
	Location string     `json:"location"`
	From     time.Time  `json:"from"`
	Until    *time.Time `json:"until,omitempty"`
}

// Disposition is where the patient went at discharge.
type Disposition string

// The dispositions.
const (
	DispositionHome        Disposition = "home"
	DispositionAdmitted    Disposition = "admitted"
	DispositionTransferred Disposition = "transferred"
	DispositionAgainstAdv  Disposition = "left-against-advice"
	DispositionDeceased    Disposition = "deceased"
	DispositionOther       Disposition = "other"
)

// Dispositions lists every disposition.
var Dispositions = []Disposition{DispositionHome, DispositionAdmitted, DispositionTransferred,
	DispositionAgainstAdv, DispositionDeceased, DispositionOther}

// Valid reports whether d is a known disposition.
func (d Disposition) Valid() bool { return slices.Contains(Dispositions, d) }

// RaisedAlert is an alert the encounter's process raised.
type RaisedAlert struct {
	AlertID  uuid.UUID `json:"alertId"`
	Category string    `json:"category"`
	At       time.Time `json:"at"`
}

// State is an encounter as its process sees it.
type State struct {
	Details         Details       `json:"details"`
	Status          Status        `json:"status"`
	Location        string        `json:"location"`
	Acuity          Acuity        `json:"acuity,omitempty"`
	ChiefComplaint  string        `json:"chiefComplaint,omitempty"`
	Attending       uuid.UUID     `json:"attending,omitzero"`
	Disposition     Disposition   `json:"disposition,omitempty"`
	DischargeReason string        `json:"dischargeReason,omitempty"` // why open orders were overridden
	CancelReason    string        `json:"cancelReason,omitempty"`
	CreatedAt       time.Time     `json:"createdAt"`
	ArrivedAt       *time.Time    `json:"arrivedAt,omitempty"`
	TriagedAt       *time.Time    `json:"triagedAt,omitempty"`
	StartedAt       *time.Time    `json:"startedAt,omitempty"`
	EndedAt         *time.Time    `json:"endedAt,omitempty"` // discharged or cancelled
	Timeline        []Entry       `json:"timeline"`
	Locations       []Stay        `json:"locations"`
	Orders          []Order       `json:"orders"`
	Alerts          []RaisedAlert `json:"alerts,omitempty"`
}

// Errors the transition rules report.
var (
	// ErrInvalidTransition wraps every transition the current status forbids;
	// the message names that status.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrOpenOrders refuses a discharge while orders are open, unless forced
	// with a reason; the message lists them.
	ErrOpenOrders = errors.New("encounter has open orders")
	// ErrInvalidArgument wraps a transition's argument the rules reject.
	ErrInvalidArgument = errors.New("invalid argument")
)

// New opens a planned encounter at the details' location.
func New(d Details, at time.Time) (State, error) {
	if err := d.Validate(); err != nil {
		return State{}, err
	}
	return Open(d, at), nil
}

// Open opens a planned encounter without validating d: for a workflow
// replaying a run whose details were valid under the rules of its day.
func Open(d Details, at time.Time) State {
	s := State{Details: d, Status: StatusPlanned, Location: d.Location, CreatedAt: at,
		Locations: []Stay{{Location: d.Location, From: at}}}
	return s.append(EventCreated, uuid.Nil, at, d.Reason)
}

// Last is the latest timeline entry.
func (s State) Last() Entry {
	if len(s.Timeline) == 0 {
		return Entry{}
	}
	return s.Timeline[len(s.Timeline)-1]
}

// HasAlert reports whether the process raised an alert in category.
func (s State) HasAlert(category string) bool {
	return slices.ContainsFunc(s.Alerts, func(a RaisedAlert) bool { return a.Category == category })
}

// AddAlert records an alert the process raised.
func (s State) AddAlert(a RaisedAlert) State {
	s.Alerts = append(slices.Clip(s.Alerts), a)
	return s
}

// from checks that the encounter is in one of the statuses verb needs.
func (s State) from(verb string, allowed ...Status) error {
	if slices.Contains(allowed, s.Status) {
		return nil
	}
	return fmt.Errorf("%w: cannot %s an encounter that is %s", ErrInvalidTransition, verb, s.Status)
}

func invalidArg(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

// CanArrive says whether the patient may be marked arrived.
func (s State) CanArrive() error { return s.from("arrive", StatusPlanned) }

// Arrive marks the patient arrived.
func (s State) Arrive(by uuid.UUID, at time.Time) (State, error) {
	if err := s.CanArrive(); err != nil {
		return s, err
	}
	s.Status, s.ArrivedAt = StatusArrived, &at
	return s.append(EventArrived, by, at, ""), nil
}

// CanTriage says whether the patient may be triaged with acuity and chief complaint.
func (s State) CanTriage(acuity Acuity, chiefComplaint string) error {
	if err := s.from("triage", StatusArrived); err != nil {
		return err
	}
	if !acuity.Valid() {
		return invalidArg("acuity %d is not an ESI level 1-5", acuity)
	}
	if strings.TrimSpace(chiefComplaint) == "" {
		return invalidArg("chief complaint is required")
	}
	return nil
}

// Triage records the ESI acuity and the chief complaint.
func (s State) Triage(by uuid.UUID, at time.Time, acuity Acuity, chiefComplaint string) (State, error) {
	if err := s.CanTriage(acuity, chiefComplaint); err != nil {
		return s, err
	}
	s.Status, s.TriagedAt, s.Acuity, s.ChiefComplaint = StatusTriaged, &at, acuity, chiefComplaint
	return s.append(EventTriaged, by, at, fmt.Sprintf("ESI %d: %s", acuity, chiefComplaint)), nil
}

// CanStart says whether care may start under attending.
func (s State) CanStart(attending uuid.UUID) error {
	if err := s.from("start", StatusTriaged); err != nil {
		return err
	}
	if attending == uuid.Nil {
		return invalidArg("attending practitioner is required")
	}
	return nil
}

// Start begins care under the attending practitioner.
func (s State) Start(by uuid.UUID, at time.Time, attending uuid.UUID) (State, error) {
	if err := s.CanStart(attending); err != nil {
		return s, err
	}
	s.Status, s.StartedAt, s.Attending = StatusInProgress, &at, attending
	return s.append(EventStarted, by, at, attending.String()), nil
}

// CanTransfer says whether the patient may move to location.
func (s State) CanTransfer(location string) error {
	if err := s.from("transfer", StatusInProgress); err != nil {
		return err
	}
	switch strings.TrimSpace(location) {
	case "":
		return invalidArg("location is required")
	case s.Location:
		return invalidArg("patient is already at %s", location)
	}
	return nil
}

// Transfer moves the patient to location; the encounter stays in progress.
func (s State) Transfer(by uuid.UUID, at time.Time, location string) (State, error) {
	if err := s.CanTransfer(location); err != nil {
		return s, err
	}
	prev := s.Location
	s.Location = location
	s.closeStay(at)
	s.Locations = append(s.Locations, Stay{Location: location, From: at})
	return s.append(EventTransferred, by, at, prev+" → "+location), nil
}

// CanDischarge says whether the patient may be discharged with disposition.
// Open orders refuse the discharge (ErrOpenOrders, listing them) unless force
// is set with a reason.
func (s State) CanDischarge(disposition Disposition, force bool, reason string) error {
	if err := s.from("discharge", StatusInProgress); err != nil {
		return err
	}
	if !disposition.Valid() {
		return invalidArg("unknown disposition %q", disposition)
	}
	open := s.OpenOrders()
	if len(open) == 0 {
		return nil
	}
	if force {
		if strings.TrimSpace(reason) == "" {
			return invalidArg("a forced discharge needs a reason")
		}
		return nil
	}
	list := make([]string, 0, len(open))
	for _, o := range open {
		list = append(list, string(o.Kind)+" "+o.ID.String())
	}
	return fmt.Errorf("%w: %s", ErrOpenOrders, strings.Join(list, ", "))
}

// Discharge ends the encounter with disposition.
func (s State) Discharge(by uuid.UUID, at time.Time, disposition Disposition, force bool, reason string) (State, error) {
	if err := s.CanDischarge(disposition, force, reason); err != nil {
		return s, err
	}
	note := string(disposition)
	if len(s.OpenOrders()) > 0 {
		s.DischargeReason = reason
		note += " (forced with open orders: " + reason + ")"
	}
	s.Status, s.EndedAt, s.Disposition = StatusDischarged, &at, disposition
	s.closeStay(at)
	return s.append(EventDischarged, by, at, note), nil
}

// CanCancel says whether the encounter may be cancelled.
func (s State) CanCancel(reason string) error {
	if err := s.from("cancel", StatusPlanned, StatusArrived, StatusTriaged, StatusInProgress); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return invalidArg("a cancellation needs a reason")
	}
	return nil
}

// Cancel ends the encounter as cancelled.
func (s State) Cancel(by uuid.UUID, at time.Time, reason string) (State, error) {
	if err := s.CanCancel(reason); err != nil {
		return s, err
	}
	s.Status, s.EndedAt, s.CancelReason = StatusCancelled, &at, reason
	s.closeStay(at)
	return s.append(EventCancelled, by, at, reason), nil
}

// closeStay ends the current stay at at; it copies the slice first, so the
// state it was called on keeps its own.
func (s *State) closeStay(at time.Time) {
	s.Locations = slices.Clone(s.Locations)
	if n := len(s.Locations); n > 0 && s.Locations[n-1].Until == nil {
		s.Locations[n-1].Until = &at
	}
}

func (s State) append(kind EventKind, by uuid.UUID, at time.Time, note string) State {
	s.Timeline = append(slices.Clip(s.Timeline), Entry{Seq: len(s.Timeline) + 1, Kind: kind, At: at, By: by, Note: note})
	return s
}
