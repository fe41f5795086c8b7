// Package careteam is the care-team directory: practitioners, their roles,
// units and contact points, and who is on call for which role on which unit.
package careteam

import (
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Role is what a practitioner does on a unit.
type Role string

// The roles the directory knows.
const (
	RolePhysician   Role = "physician"
	RoleNurse       Role = "nurse"
	RoleChargeNurse Role = "charge-nurse"
	RolePharmacist  Role = "pharmacist"
	// RoleLab is a laboratory scientist or technician: collects, receives
	// and results specimens and verifies routine laboratory reports.
	RoleLab Role = "lab"
	// RolePathologist verifies, amends and corrects laboratory reports.
	RolePathologist Role = "pathologist"
	// RoleRadiologist verifies, amends and corrects imaging reports.
	RoleRadiologist   Role = "radiologist"
	RoleScheduler     Role = "scheduler"
	RoleRapidResponse Role = "rapid-response"
	// RolePrivacyOfficer reviews break-the-glass access to patient records;
	// its on-call shift (normally hospital-wide) receives the review alerts.
	RolePrivacyOfficer Role = "privacy-officer"
)

// Roles lists every known role.
var Roles = []Role{RolePhysician, RoleNurse, RoleChargeNurse, RolePharmacist, RoleLab, RolePathologist, RoleRadiologist,
	RoleScheduler, RoleRapidResponse, RolePrivacyOfficer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// ContactSystem is how a practitioner is reached.
type ContactSystem string

// The contact systems a practitioner may have.
const (
	ContactEmail ContactSystem = "email"
	ContactPhone ContactSystem = "phone"
	ContactPush  ContactSystem = "push" // a device push token
)

// ContactPoint is one address of a practitioner.
type ContactPoint struct {
	System ContactSystem `json:"system"`
	Value  string        `json:"value"`
}

// Practitioner is a member of the care team.
type Practitioner struct {
	ID       uuid.UUID      `json:"id"`
	Name     string         `json:"name"`
	Roles    []Role         `json:"roles"`
	Units    []string       `json:"units"` // wards the practitioner works on
	Contacts []ContactPoint `json:"contacts"`
	Active   bool           `json:"active"`
}

// Size limits of the directory, in characters and items.
const (
	MaxNameLen         = 200
	MaxRoles           = 10
	MaxUnits           = 50
	MaxUnitLen         = 100
	MaxContacts        = 10
	MaxContactValueLen = 500
)

// NewPractitioner validates the fields and returns an active practitioner.
func NewPractitioner(id uuid.UUID, name string, roles []Role, units []string, contacts []ContactPoint) (Practitioner, error) {
	var v domain.ValidationError
	if id == uuid.Nil {
		v.Add("id", "required")
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		v.Add("name", "required")
	case utf8.RuneCountInString(name) > MaxNameLen:
		v.Add("name", "must be at most "+strconv.Itoa(MaxNameLen)+" characters")
	}
	switch {
	case len(roles) == 0:
		v.Add("roles", "at least one role is required")
	case len(roles) > MaxRoles:
		v.Add("roles", "must hold at most "+strconv.Itoa(MaxRoles)+" items")
		roles = nil // not worth reporting one by one
	}
	for i, r := range roles {
		if !r.Valid() {
			v.Add(index("roles", i), "must be one of "+roleList())
		}
	}
	if len(units) > MaxUnits {
		v.Add("units", "must hold at most "+strconv.Itoa(MaxUnits)+" items")
		units = nil
	}
	for i, u := range units {
		switch {
		case strings.TrimSpace(u) == "":
			v.Add(index("units", i), "unit names must not be empty")
		case utf8.RuneCountInString(u) > MaxUnitLen:
			v.Add(index("units", i), "must be at most "+strconv.Itoa(MaxUnitLen)+" characters")
		}
	}
	if len(contacts) > MaxContacts {
		v.Add("contacts", "must hold at most "+strconv.Itoa(MaxContacts)+" items")
		contacts = nil
	}
	for i, c := range contacts {
		switch c.System {
		case ContactEmail, ContactPhone, ContactPush:
		default:
			v.Add(index("contacts", i)+".system", "must be email, phone or push")
		}
		switch {
		case strings.TrimSpace(c.Value) == "":
			v.Add(index("contacts", i)+".value", "contact value must not be empty")
		case utf8.RuneCountInString(c.Value) > MaxContactValueLen:
			v.Add(index("contacts", i)+".value", "must be at most "+strconv.Itoa(MaxContactValueLen)+" characters")
		default:
			if msg := contactProblem(c); msg != "" {
				v.Add(index("contacts", i)+".value", msg)
			}
		}
	}
	if err := v.OrNil(); err != nil {
		return Practitioner{}, err
	}
	return Practitioner{ID: id, Name: name, Roles: slices.Clone(roles), Units: slices.Clone(units),
		Contacts: slices.Clone(contacts), Active: true}, nil
}

// contactProblem is what is wrong with a contact's value for its system,
// or "": an address the notifier hands to a mail server, an SMS gateway or
// a push service is one plain address, never one that carries a header or
// a second recipient. An email is an RFC 5322 addr-spec alone (no display
// name, no group); a phone number is digits with the usual separators and
// an optional leading +; a push token has no spaces or control characters.
func contactProblem(c ContactPoint) string {
	switch c.System {
	case ContactEmail:
		a, err := mail.ParseAddress(c.Value)
		if err != nil || a.Address != c.Value || a.Name != "" {
			return "must be one email address, as name@host"
		}
	case ContactPhone:
		digits := 0
		for i, r := range c.Value {
			switch {
			case r >= '0' && r <= '9':
				digits++
			case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
			default:
				return "must be a phone number: digits, an optional leading +, spaces, dashes, dots and brackets"
			}
		}
		if digits < 3 || digits > 15 { // ITU-T E.164: at most 15 digits
			return "must hold 3 to 15 digits"
		}
	case ContactPush:
		if strings.IndexFunc(c.Value, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return "must be one device token, without spaces"
		}
	}
	return ""
}

// HasRole reports whether the practitioner holds role.
func (p Practitioner) HasRole(r Role) bool { return slices.Contains(p.Roles, r) }

// WorksOn reports whether the practitioner is assigned to unit.
func (p Practitioner) WorksOn(unit string) bool { return slices.Contains(p.Units, unit) }

// Contact returns the practitioner's first address of system, or "".
func (p Practitioner) Contact(system ContactSystem) string {
	for _, c := range p.Contacts {
		if c.System == system {
			return c.Value
		}
	}
	return ""
}

// OnCall says who covers a role on a unit over [From, To). An empty Unit
// covers the whole hospital.
type OnCall struct {
	ID             uuid.UUID `json:"id"`
	PractitionerID uuid.UUID `json:"practitionerId"`
	Role           Role      `json:"role"`
	Unit           string    `json:"unit"`
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
}

// NewOnCall validates a shift.
func NewOnCall(id, practitionerID uuid.UUID, role Role, unit string, from, to time.Time) (OnCall, error) {
	var v domain.ValidationError
	if id == uuid.Nil {
		v.Add("id", "required")
	}
	if practitionerID == uuid.Nil {
		v.Add("practitionerId", "required")
	}
	if !role.Valid() {
		v.Add("role", "must be one of "+roleList())
	}
	if utf8.RuneCountInString(unit) > MaxUnitLen {
		v.Add("unit", "must be at most "+strconv.Itoa(MaxUnitLen)+" characters")
	}
	if !to.After(from) {
		v.Add("to", "must be after from")
	}
	if err := v.OrNil(); err != nil {
		return OnCall{}, err
	}
	return OnCall{ID: id, PractitionerID: practitionerID, Role: role, Unit: strings.TrimSpace(unit), From: from, To: to}, nil
}

// Covers reports whether the shift covers role on unit at the instant at.
func (o OnCall) Covers(role Role, unit string, at time.Time) bool {
	return o.Role == role && o.Unit == unit && !at.Before(o.From) && at.Before(o.To)
}

// index names item i of a list field: roles[2].
func index(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

func roleList() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
