// Package encounter holds the rules of a clinical encounter: its classes and
// statuses, the transitions from planned to discharged or cancelled, triage
// acuity, the location history and the orders linked to it. It is pure:
// functions that need the time take it as a parameter.
package encounter

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Class is the setting of care.
type Class string

// The classes of encounter.
const (
	ClassEmergency  Class = "emergency"
	ClassInpatient  Class = "inpatient"
	ClassOutpatient Class = "outpatient"
	ClassVirtual    Class = "virtual"
)

// Classes lists every class.
var Classes = []Class{ClassEmergency, ClassInpatient, ClassOutpatient, ClassVirtual}

// Valid reports whether c is a known class.
func (c Class) Valid() bool { return slices.Contains(Classes, c) }

// Status is where an encounter stands.
type Status string

// The statuses: planned → arrived → triaged → in-progress → discharged, or
// cancelled from any open status. A transfer keeps the encounter in progress.
const (
	StatusPlanned    Status = "planned"
	StatusArrived    Status = "arrived"
	StatusTriaged    Status = "triaged"
	StatusInProgress Status = "in-progress"
	StatusDischarged Status = "discharged"
	StatusCancelled  Status = "cancelled"
)

// Statuses lists every status in the order an encounter moves through them.
var Statuses = []Status{StatusPlanned, StatusArrived, StatusTriaged, StatusInProgress, StatusDischarged, StatusCancelled}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Closed reports whether no further transition can happen.
func (s Status) Closed() bool { return s == StatusDischarged || s == StatusCancelled }

// Priorities an encounter may be booked with (FHIR request priority).
var Priorities = []string{"routine", "urgent", "asap", "stat"}

// Size limits of an encounter's text, in characters. The API refuses longer
// values at its edge for every transition (chief complaint, location,
// reasons); Validate checks those that open an encounter.
const (
	MaxLocationLen       = 100
	MaxTextLen           = 1000 // reason, discharge and cancellation reasons
	MaxChiefComplaintLen = 500
)

// Details is what opens an encounter.
type Details struct {
	EncounterID uuid.UUID `json:"encounterId"`
	PatientID   uuid.UUID `json:"patientId"`
	Class       Class     `json:"class"`
	Reason      string    `json:"reason,omitempty"`
	Location    string    `json:"location"` // the unit the patient is expected at
	Priority    string    `json:"priority,omitempty"`
}

// Validate reports every invalid field at once.
func (d Details) Validate() error {
	var v domain.ValidationError
	if d.EncounterID == uuid.Nil {
		v.Add("encounterId", "required")
	}
	if d.PatientID == uuid.Nil {
		v.Add("patientId", "required")
	}
	if !d.Class.Valid() {
		v.Add("class", "must be one of emergency, inpatient, outpatient, virtual")
	}
	if strings.TrimSpace(d.Location) == "" {
		v.Add("location", "required")
	} else if utf8.RuneCountInString(d.Location) > MaxLocationLen {
		v.Add("location", "must be at most "+strconv.Itoa(MaxLocationLen)+" characters")
	}
	if utf8.RuneCountInString(d.Reason) > MaxTextLen {
		v.Add("reason", "must be at most "+strconv.Itoa(MaxTextLen)+" characters")
	}
	if d.Priority != "" && !slices.Contains(Priorities, d.Priority) {
		v.Add("priority", "must be one of "+strings.Join(Priorities, ", "))
	}
	return v.OrNil()
}

// Source is the process name alerts and events raised for the encounter carry.
func Source(encounterID uuid.UUID) string { return "encounter/" + encounterID.String() }
