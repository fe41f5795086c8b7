package access

import (
	"slices"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/identity"
)

// The OpenID Connect and SMART scopes that are not resource scopes: a
// client that signs people in registers those it may ask for.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeFHIRUser      = "fhirUser"
	ScopeOfflineAccess = "offline_access"
	// ScopeLaunch asks for the launch context (SMART EHR launch): sent with
	// the authorization request's launch parameter.
	ScopeLaunch = "launch"
)

// SignInScopes are the non-resource scopes a client may be registered with.
var SignInScopes = []string{ScopeOpenID, ScopeProfile, ScopeFHIRUser, ScopeOfflineAccess, ScopeLaunch}

// personlessRoles are the roles a user may hold without being a
// practitioner: administration, audit and the operation of the care
// processes touch no patient's care.
var personlessRoles = []Role{RoleAdmin, RoleAuditor, RoleOperator}

// NewUser validates a new user: a normalized username, roles from the
// catalogue (at least one), and a practitioner unless every role is admin,
// auditor or operator — whoever acts in care is a practitioner of the directory.
// Every problem is reported at once.
func NewUser(id uuid.UUID, username, displayName string, practitioner *uuid.UUID, roles []string) (identity.User, error) {
	v := &domain.ValidationError{}
	username = identity.NormalizeUsername(username)
	identity.ValidateUsername(v, "username", username)
	identity.ValidateDisplayName(v, "displayName", displayName)
	held := validateUserRoles(v, practitioner != nil, roles)
	if id == uuid.Nil {
		v.Add("id", "is required")
	}
	if err := v.OrNil(); err != nil {
		return identity.User{}, err
	}
	if displayName == "" {
		displayName = username
	}
	return identity.User{ID: id, Username: username, DisplayName: displayName, PractitionerID: practitioner, Roles: held}, nil
}

// ValidateUserRoles checks roles for a user linked to a practitioner or not,
// returning them without repeats.
func ValidateUserRoles(hasPractitioner bool, roles []string) ([]string, error) {
	v := &domain.ValidationError{}
	held := validateUserRoles(v, hasPractitioner, roles)
	return held, v.OrNil()
}

func validateUserRoles(v *domain.ValidationError, hasPractitioner bool, roles []string) []string {
	held, errs := ValidateRoles(roles)
	for _, err := range errs {
		v.Add("roles", err.Error())
	}
	switch {
	case len(roles) == 0:
		v.Add("roles", "at least one role is required")
	case len(roles) > identity.MaxRoles:
		v.Add("roles", "at most 10 roles")
	}
	if !hasPractitioner {
		for _, r := range held {
			if !slices.Contains(personlessRoles, Role(r)) {
				v.Add("practitionerId", "is required for the role "+r+": only admin, auditor and operator users need no practitioner")
				break
			}
		}
	}
	return held
}

// UserScopes returns what a sign-in of a user holding roles is granted of
// requested: the sign-in scopes as asked, and each user/ (and, with
// inPatientContext, patient/) resource scope bounded by the roles — granted
// as asked when a role covers it, else narrowed to what the role scopes it
// overlaps allow (user/*.read for a nurse becomes user/Patient.read,
// user/Encounter.read, …; user/MedicationRequest.cruds becomes
// user/MedicationRequest.rs). system/ scopes are not granted to people, nor
// patient/ scopes outside a patient's launch context.
func UserScopes(requested, roles []string, inPatientContext bool) []string {
	var held []Scope
	for _, s := range GrantableScopes(nil, roles) {
		if sc, err := ParseScope(s); err == nil {
			held = append(held, sc)
		}
	}
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, r := range requested {
		if slices.Contains(SignInScopes, r) {
			add(r)
			continue
		}
		want, err := ParseScope(r)
		if err != nil || !(want.Context == ContextUser || want.Context == ContextPatient && inPatientContext) {
			continue
		}
		covered := func(h Scope) bool {
			h.Context = want.Context
			return h.Covers(want)
		}
		if slices.ContainsFunc(held, covered) {
			add(r)
			continue
		}
		for _, h := range held {
			typ := want.ResourceType
			switch {
			case typ == AnyResource:
				typ = h.ResourceType
			case h.ResourceType != AnyResource && h.ResourceType != typ:
				continue
			}
			perms := h.Perms & want.Perms
			if perms == 0 {
				continue
			}
			narrowed := Scope{Context: want.Context, ResourceType: typ, Perms: perms}
			narrowed.V1 = want.V1 && (perms == PermsRead || perms == PermsWrite || perms == PermsAll)
			add(narrowed.String())
		}
	}
	return out
}
