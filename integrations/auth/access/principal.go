package access

import (
	"slices"
	"time"
)

// ScopeEmergency lets a caller break the glass: reach patient data its
// clinical scopes do not cover by stating a reason (X-Break-Glass), every such
// access flagged in the audit trail.
const ScopeEmergency = "emergency"

// SpecialScopes are the scopes beyond SMART clinical scopes a client may
// hold. No wildcard covers them: each is registered on a client explicitly.
var SpecialScopes = []string{ScopeEmergency, ScopeActOnBehalf}

// ScopeActOnBehalf lets a machine client name, with X-On-Behalf-Of, the
// practitioner it acts for. Without it, a client acts as itself.
const ScopeActOnBehalf = "system/Practitioner.act"

// Principal is the caller a verified access token speaks for.
type Principal struct {
	Subject  string   // sub: the user id for a sign-in, the client id for client_credentials
	ClientID string   // client_id: the OAuth2 client the token was issued to
	Scopes   []string // the granted scopes
	// Roles are the roles of the user (or, for client_credentials, of the
	// client) the token was issued for (see Role), for the record: what the
	// caller may do is decided by Scopes alone.
	Roles []string
	// UserID is the signed-in user (sub of a user's token); empty for a
	// machine client.
	UserID string
	// PractitionerID is the practitioner the caller acts as: the user's
	// (from fhirUser) or, with Asserted, the one a machine client named in
	// X-On-Behalf-Of.
	PractitionerID string
	// Asserted marks PractitionerID as named by a client rather than proven
	// by a sign-in.
	Asserted bool
	// SessionID is the sign-in session (sid) of a user's token.
	SessionID string
	// Patient is the launch patient of a sign-in made in a patient's
	// context (SMART launch context, the token's patient claim): the one
	// patient its patient/ scopes reach. Empty otherwise.
	Patient string
	// TokenID is the token's jti; IssuedAt and ExpiresAt its iat and exp.
	TokenID             string
	IssuedAt, ExpiresAt time.Time
}

// IsUser reports whether the token speaks for a signed-in user.
func (p Principal) IsUser() bool { return p.UserID != "" }

// Allows reports whether the token may make a request that needs required
// (see Grant), whether or not confined to its launch patient.
func (p Principal) Allows(required string) bool {
	ok, _ := p.Grant(required)
	return ok
}

// Grant reports whether one of the granted scopes covers required, a SMART
// scope such as system/Patient.read or system/Patient.s (see Scope.Covers
// for the rule), and whether the grant is confined to the launch patient.
// A required scope that is not a valid SMART scope is never granted.
//
// For a signed-in user, a user/ grant also stands for the system/
// requirement of the same resource and permissions: the routes name what
// they need in the system context, and a user's grants were bounded by the
// user's roles when they were issued (see UserScopes). A patient/ grant
// stands for it too, but only for the token's launch patient: confined is
// then true, and the caller must keep the request to that patient. A
// patient/ grant without a launch patient grants nothing.
//
// As a route's requirement, the sign-in scope openid means a signed-in
// user's token: the routes about one's own sign-in (sessions) ask for it.
func (p Principal) Grant(required string) (ok, confined bool) {
	if required == ScopeOpenID {
		return p.IsUser(), false
	}
	want, err := ParseScope(required)
	if err != nil {
		return false, false
	}
	asUser, asPatient := want, want
	asUser.Context, asPatient.Context = ContextUser, ContextPatient
	for _, g := range p.Scopes {
		have, err := ParseScope(g)
		if err != nil {
			continue
		}
		switch {
		case have.Covers(want):
			return true, false
		case p.IsUser() && want.Context == ContextSystem && have.Covers(asUser):
			return true, false
		case p.Patient != "" && want.Context != ContextPatient && have.Covers(asPatient):
			confined = true
		}
	}
	return confined, confined
}

// Has reports whether scope was granted verbatim; for special scopes such as
// ScopeEmergency, which no clinical scope covers.
func (p Principal) Has(scope string) bool { return slices.Contains(p.Scopes, scope) }
