package access

import (
	"fmt"
	"strings"
)

// Scope contexts, resource wildcards and actions of SMART App Launch clinical
// scopes, in both the v1 form (<context>/<type>.<read|write|*>,
// https://hl7.org/fhir/smart-app-launch/1.0.0/scopes-and-launch-context/)
// and the v2 form (<context>/<type>.<cruds>,
// https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html).
const (
	ContextPatient = "patient" // data about the patient in the launch context
	ContextUser    = "user"    // data the signed-in user may access
	ContextSystem  = "system"  // data a backend service may access for the organisation

	AnyResource = "*"

	ActionRead  = "read"
	ActionWrite = "write"
	ActionAny   = "*"
)

// Permission is a set of SMART v2 permissions: create, read, update,
// delete and search.
type Permission uint8

// The SMART v2 permissions, in the order a v2 scope spells them (cruds).
const (
	PermCreate Permission = 1 << iota
	PermRead
	PermUpdate
	PermDelete
	PermSearch
)

// The v1 actions as v2 permission sets, as SMART v2 defines them
// (STU2 §"Scopes for requesting clinical data", v1 to v2 mapping):
// read is rs, write is cud, * is cruds.
const (
	PermsRead  = PermRead | PermSearch
	PermsWrite = PermCreate | PermUpdate | PermDelete
	PermsAll   = PermsRead | PermsWrite
)

// permLetters spells Permission bits in v2 order.
const permLetters = "cruds"

var permBits = [...]Permission{PermCreate, PermRead, PermUpdate, PermDelete, PermSearch}

// String spells p in the v2 form, e.g. "rs".
func (p Permission) String() string {
	var b strings.Builder
	for i, bit := range permBits {
		if p&bit != 0 {
			b.WriteByte(permLetters[i])
		}
	}
	return b.String()
}

// parsePermissions reads a v2 permission string: at least one of c, r, u,
// d, s, each at most once and in that order.
func parsePermissions(s string) (Permission, bool) {
	var p Permission
	next := 0
	for i := 0; i < len(s); i++ {
		at := strings.IndexByte(permLetters[next:], s[i])
		if at < 0 {
			return 0, false
		}
		p |= permBits[next+at]
		next += at + 1
	}
	return p, p != 0
}

// Scope is one SMART clinical scope: a context, a resource type (or *) and
// the permissions it grants. V1 records that it was written in the v1 form,
// so String gives back what was parsed.
type Scope struct {
	Context      string // patient, user or system
	ResourceType string // a FHIR resource type such as Observation, or *
	Perms        Permission
	V1           bool
}

// String returns the scope in its wire form: v1 when it was parsed from one
// (and its permissions are a v1 action), otherwise v2.
func (s Scope) String() string {
	return s.Context + "/" + s.ResourceType + "." + s.action()
}

func (s Scope) action() string {
	if s.V1 {
		switch s.Perms {
		case PermsRead:
			return ActionRead
		case PermsWrite:
			return ActionWrite
		case PermsAll:
			return ActionAny
		}
	}
	return s.Perms.String()
}

// ParseScope validates s as a SMART clinical scope, v1
// (system/Patient.read, user/*.*) or v2 (patient/Observation.rs,
// user/*.cruds). Other SMART scopes (launch, openid, fhirUser,
// offline_access) are not resource scopes and are rejected, and so are v2
// scopes narrowed by search parameters (patient/Observation.rs?category=…):
// granting one as if it were unnarrowed would widen it.
func ParseScope(s string) (Scope, error) {
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Scope{}, fmt.Errorf("scope %q: want <patient|user|system>/<ResourceType|*>.<read|write|*|cruds>", s)
	}
	switch ctx {
	case ContextPatient, ContextUser, ContextSystem:
	default:
		return Scope{}, fmt.Errorf("scope %q: context %q is not patient, user or system", s, ctx)
	}
	typ, action, ok := strings.Cut(rest, ".")
	if !ok {
		return Scope{}, fmt.Errorf("scope %q: missing .<read|write|*|cruds> after the resource type", s)
	}
	if typ != AnyResource && !isResourceType(typ) {
		return Scope{}, fmt.Errorf("scope %q: resource type %q is neither * nor a FHIR resource type name", s, typ)
	}
	if strings.Contains(action, "?") {
		return Scope{}, fmt.Errorf("scope %q: scopes narrowed by search parameters are not supported", s)
	}
	sc := Scope{Context: ctx, ResourceType: typ}
	switch action {
	case ActionRead:
		sc.Perms, sc.V1 = PermsRead, true
	case ActionWrite:
		sc.Perms, sc.V1 = PermsWrite, true
	case ActionAny:
		sc.Perms, sc.V1 = PermsAll, true
	default:
		p, ok := parsePermissions(action)
		if !ok {
			return Scope{}, fmt.Errorf("scope %q: %q is neither read, write or * (v1) nor permissions from c, r, u, d, s in that order (v2)", s, action)
		}
		sc.Perms = p
	}
	return sc, nil
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
// Resource type: * in s covers any type; otherwise they must be equal, so a
// want of system/*.rs is covered only by a grant whose type is * too.
// Permissions: s must hold every permission want needs (v1 read is rs, so
// system/Patient.read covers system/Patient.r and system/Patient.s).
//
// Context: the required scope names the context it is made in. A system grant
// covers system and user requirements, because a backend service acts for the
// organisation and may do whatever a user of it may; a user grant covers only
// user requirements and a patient grant only patient requirements (see
// Principal.Grant for how a patient grant reaches a route, confined to the
// launch patient).
func (s Scope) Covers(want Scope) bool {
	return contextCovers(s.Context, want.Context) &&
		(s.ResourceType == AnyResource || s.ResourceType == want.ResourceType) &&
		want.Perms != 0 && s.Perms&want.Perms == want.Perms
}

func contextCovers(granted, required string) bool {
	return granted == required || granted == ContextSystem && required == ContextUser
}

// ScopeStrategy is the fosite.ScopeStrategy of the token endpoint: a client may
// request a scope when one of its registered scopes covers it (see
// Scope.Covers), so a client registered with system/*.* may request
// system/Patient.read or system/Observation.rs. Scopes that are not SMART
// clinical scopes match exactly.
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
