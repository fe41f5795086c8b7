package access

import (
	"fmt"
	"strings"
)

// Scope contexts, resource wildcards and actions of SMART App Launch v1 clinical
// scopes: https://hl7.org/fhir/smart-app-launch/1.0.0/scopes-and-launch-context/
const (
	ContextPatient = "patient" // data about the patient in the launch context
	ContextUser    = "user"    // data the signed-in user may access
	ContextSystem  = "system"  // data a backend service may access for the organisation

	AnyResource = "*"

	ActionRead  = "read"
	ActionWrite = "write"
	ActionAny   = "*"
)

// Scope is one SMART v1 clinical scope, <context>/<ResourceType|*>.<read|write|*>,
// e.g. system/Patient.read or user/*.*.
type Scope struct {
	Context      string // patient, user or system
	ResourceType string // a FHIR resource type such as Observation, or *
	Action       string // read, write or *
}

// String returns the scope in its wire form.
func (s Scope) String() string {
	return s.Context + "/" + s.ResourceType + "." + s.Action
}

// ParseScope validates s as a SMART v1 clinical scope. Other SMART scopes
// (launch, openid, fhirUser, offline_access) are not resource scopes and are
// rejected, as are v2 forms such as system/Patient.rs.
func ParseScope(s string) (Scope, error) {
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Scope{}, fmt.Errorf("scope %q: want <patient|user|system>/<ResourceType|*>.<read|write|*>", s)
	}
	switch ctx {
	case ContextPatient, ContextUser, ContextSystem:
	default:
		return Scope{}, fmt.Errorf("scope %q: context %q is not patient, user or system", s, ctx)
	}
	typ, action, ok := strings.Cut(rest, ".")
	if !ok {
		return Scope{}, fmt.Errorf("scope %q: missing .<read|write|*> after the resource type", s)
	}
	if typ != AnyResource && !isResourceType(typ) {
		return Scope{}, fmt.Errorf("scope %q: resource type %q is neither * nor a FHIR resource type name", s, typ)
	}
	switch action {
	case ActionRead, ActionWrite, ActionAny:
	default:
		return Scope{}, fmt.Errorf("scope %q: action %q is not read, write or *", s, action)
	}
	return Scope{Context: ctx, ResourceType: typ, Action: action}, nil
}

// isResourceType reports whether s has the shape of a FHIR resource type name:
// an upper-case ASCII letter followed by ASCII letters (Patient, MedicationRequest).
func isResourceType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Covers reports whether holding s is enough for a request that needs want.
//
// Resource type and action: * in s covers any value in want; otherwise they
// must be equal, so a want of system/*.read is covered only by a grant whose
// resource type is * too.
//
// Context: the required scope names the context it is made in. A system grant
// covers system and user requirements, because a backend service acts for the
// organisation and may do whatever a user of it may; a user grant covers only
// user requirements and a patient grant only patient requirements, since patient
// scopes are bound to one patient's launch context that the verifier cannot see.
func (s Scope) Covers(want Scope) bool {
	return contextCovers(s.Context, want.Context) &&
		(s.ResourceType == AnyResource || s.ResourceType == want.ResourceType) &&
		(s.Action == ActionAny || s.Action == want.Action)
}

func contextCovers(granted, required string) bool {
	return granted == required || granted == ContextSystem && required == ContextUser
}

// ScopeStrategy is the fosite.ScopeStrategy of the token endpoint: a client may
// request a scope when one of its registered scopes covers it (see
// Scope.Covers), so a client registered with system/*.* may request
// system/Patient.read. Scopes that are not SMART clinical scopes match exactly.
func ScopeStrategy(registered []string, requested string) bool {
	want, err := ParseScope(requested)
	for _, r := range registered {
		if err != nil {
			if r == requested {
				return true
			}
			continue
		}
		if have, perr := ParseScope(r); perr == nil && have.Covers(want) {
			return true
		}
	}
	return false
}
