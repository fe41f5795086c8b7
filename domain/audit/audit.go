// Package audit describes one audit record — who did what to which patient's
// data, when, from where, why, and how it ended — and the hash chain that
// makes tampering with stored records detectable (HIPAA §164.312(b) audit
// controls; §164.528 accounting of disclosures).
package audit

import (
	"crypto/sha256"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Action is what the actor did.
type Action string

// The actions an audit record can name.
const (
	ActionRead     Action = "read"
	ActionCreate   Action = "create"
	ActionUpdate   Action = "update"
	ActionDelete   Action = "delete"
	ActionSearch   Action = "search"
	ActionExport   Action = "export"
	ActionLogin    Action = "login"
	ActionDenied   Action = "denied"
	ActionAdmin    Action = "admin"
	ActionSecurity Action = "security"
)

// Actions lists every action, for validation.
var Actions = []Action{ActionRead, ActionCreate, ActionUpdate, ActionDelete, ActionSearch,
	ActionExport, ActionLogin, ActionDenied, ActionAdmin, ActionSecurity}

// Outcome is how the request ended.
type Outcome string

// The outcomes: the request succeeded, was refused by an access rule, or failed.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeDenied  Outcome = "denied"
	OutcomeFailure Outcome = "failure"
)

// Outcomes lists every outcome, for validation.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeDenied, OutcomeFailure}

// DefaultPurpose is the purpose of use when the caller names none (HL7 v3
// PurposeOfUse TREAT).
const DefaultPurpose = "treatment"

// Actor is who acted: the person as well as the client.
type Actor struct {
	Subject  string   `json:"subject"`
	ClientID string   `json:"clientId"`
	Roles    []string `json:"roles,omitempty"`
	// UserID is the signed-in user of this server the token spoke for;
	// empty for a machine client.
	UserID string `json:"userId,omitempty"`
	// PractitionerID is the person's practitioner in the care-team
	// directory: the signed-in user's, or the one a machine client named
	// in X-On-Behalf-Of (then Asserted).
	PractitionerID string `json:"practitionerId,omitempty"`
	// Asserted marks PractitionerID as named by the client, not proven by a
	// sign-in.
	Asserted bool `json:"asserted,omitempty"`
	// SessionID is the sign-in session of the user's token.
	SessionID string `json:"sessionId,omitempty"`
}

// Record is one audit record. Records are append-only: once stored they are
// never changed, and each is sealed into the hash chain.
type Record struct {
	ID          uuid.UUID   `json:"id"`
	Time        time.Time   `json:"time"`
	Actor       Actor       `json:"actor"`
	Action      Action      `json:"action"`
	EntityType  string      `json:"entityType"`
	EntityID    string      `json:"entityId,omitempty"`
	PatientID   *uuid.UUID  `json:"patientId,omitempty"`
	PatientIDs  []uuid.UUID `json:"patientIds,omitempty"` // patients a search returned
	SourceIP    string      `json:"sourceIp,omitempty"`
	UserAgent   string      `json:"userAgent,omitempty"`
	RequestID   string      `json:"requestId,omitempty"`
	Method      string      `json:"method,omitempty"`
	Route       string      `json:"route,omitempty"`
	Status      int         `json:"status,omitempty"`
	Purpose     string      `json:"purpose"`
	Outcome     Outcome     `json:"outcome"`
	BreakGlass  string      `json:"breakGlass,omitempty"` // the stated reason, when access was by break-the-glass
	Description string      `json:"description,omitempty"`
	// Service is the calling service as it names itself (X-Service-Name):
	// its word, beside the client its token proves. Absent from records
	// written before it existed, so those hash as they did.
	Service string `json:"service,omitempty"`
	// Submitted marks a record a service submitted (POST /v1/audit/events)
	// about an event of its own, rather than one this server wrote about a
	// request it served; Submitter names who submitted it. Both are absent
	// from records written before they existed, so those hash as they did.
	Submitted bool       `json:"submitted,omitempty"`
	Submitter *Submitter `json:"submitter,omitempty"`
}

// Submitter is who submitted a record, as its token proved: the client, and
// the signed-in user and their practitioner when a user's token submitted
// it. It is kept apart from the record's Actor, which is only what the
// submitter says.
type Submitter struct {
	ClientID       string `json:"clientId"`
	UserID         string `json:"userId,omitempty"`
	PractitionerID string `json:"practitionerId,omitempty"`
}

// Size limits of a record submitted from outside, in characters and items.
const (
	MaxEntityTypeLen  = 64
	MaxEntityIDLen    = 200
	MaxSubjectLen     = 200
	MaxRoles          = 20
	MaxRoleLen        = 64
	MaxPurposeLen     = 64
	MaxDescriptionLen = 2000
	MaxUserAgentLen   = 512
	// MaxServiceLen is a calling service's name (X-Service-Name).
	MaxServiceLen = 100
	// MaxPractitionerIDLen is a practitioner id's length: a UUID in its
	// canonical form.
	MaxPractitionerIDLen = 36
)

func tooLong(s string, max int) bool { return utf8.RuneCountInString(s) > max }

// Validate reports every invalid field of a record submitted from outside.
func (r Record) Validate() error {
	verr := &domain.ValidationError{}
	r.validate(verr)
	return verr.OrNil()
}

func (r Record) validate(verr *domain.ValidationError) {
	if !slices.Contains(Actions, r.Action) {
		verr.Add("action", "must be one of "+joinActions())
	}
	if !slices.Contains(Outcomes, r.Outcome) {
		verr.Add("outcome", "must be success, denied or failure")
	}
	if strings.TrimSpace(r.EntityType) == "" || tooLong(r.EntityType, MaxEntityTypeLen) {
		verr.Add("entityType", "is required (at most 64 characters)")
	}
	if tooLong(r.EntityID, MaxEntityIDLen) {
		verr.Add("entityId", "must be at most 200 characters")
	}
	if tooLong(r.Actor.Subject, MaxSubjectLen) {
		verr.Add("actor.subject", "must be at most 200 characters")
	}
	if r.Actor.PractitionerID != "" && !canonicalUUID(r.Actor.PractitionerID) {
		verr.Add("actor.practitionerId", "must be a practitioner id (a UUID, 36 characters)")
	}
	if len(r.Actor.Roles) > MaxRoles {
		verr.Add("actor.roles", "must hold at most 20 items")
	}
	for i, role := range r.Actor.Roles {
		if i < MaxRoles && tooLong(role, MaxRoleLen) {
			verr.Add("actor.roles["+strconv.Itoa(i)+"]", "must be at most 64 characters")
		}
	}
	if r.SourceIP != "" {
		if _, err := netip.ParseAddr(r.SourceIP); err != nil {
			verr.Add("sourceIp", "is not an IP address")
		}
	}
	if tooLong(r.Purpose, MaxPurposeLen) {
		verr.Add("purpose", "must be at most 64 characters")
	}
	if tooLong(r.Description, MaxDescriptionLen) {
		verr.Add("description", "must be at most 2000 characters")
	}
	if tooLong(r.UserAgent, MaxUserAgentLen) {
		verr.Add("userAgent", "must be at most 512 characters")
	}
	r.validateSubmission(verr)
}

// canonicalUUID reports whether s is a UUID written as uuid.UUID.String
// writes it: 36 characters, lower-case hex.
func canonicalUUID(s string) bool {
	id, err := uuid.Parse(s)
	return err == nil && id.String() == s
}

func joinActions() string {
	s := make([]string, len(Actions))
	for i, a := range Actions {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// Canonical is the byte form a record is hashed over: its JSON encoding with
// the time in UTC at microsecond precision (what PostgreSQL stores), so the
// same record always yields the same bytes.
func (r Record) Canonical() []byte {
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	if r.Actor.Roles == nil {
		r.Actor.Roles = []string{}
	}
	b, err := json.Marshal(r)
	if err != nil {
		// A Record holds only strings, numbers, times and ids: it always encodes.
		panic("audit: encode record: " + err.Error())
	}
	return b
}

// ChainHash links a record into the chain: SHA-256 over the previous link's
// hash followed by the record's canonical bytes.
func ChainHash(prev []byte, r Record) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(r.Canonical())
	return h.Sum(nil)
}

// Genesis is the "previous hash" of the first link.
var Genesis = make([]byte, sha256.Size)
