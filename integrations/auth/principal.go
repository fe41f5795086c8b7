package auth

import "slices"

// ScopeEmergency lets a caller break the glass: reach patient data its
// clinical scopes do not cover by stating a reason (X-Break-Glass), every such
// access flagged in the audit trail.
const ScopeEmergency = "emergency"

// SpecialScopes are the scopes beyond SMART clinical scopes a client may hold.
var SpecialScopes = []string{ScopeEmergency}

// Principal is the caller a verified access token speaks for.
type Principal struct {
	Subject  string   // sub: the client id for client_credentials tokens
	ClientID string   // client_id: the OAuth2 client the token was issued to
	Scopes   []string // the granted scopes
	// Roles are the roles of the client the token was issued to (see Role),
	// for the record: what the caller may do is decided by Scopes alone.
	Roles []string
}

// Allows reports whether one of the granted scopes covers required, a SMART v1
// scope such as system/Patient.read (see Scope.Covers for the rule). A required
// scope that is not a valid SMART scope is never allowed.
func (p Principal) Allows(required string) bool {
	want, err := ParseScope(required)
	if err != nil {
		return false
	}
	for _, g := range p.Scopes {
		if have, err := ParseScope(g); err == nil && have.Covers(want) {
			return true
		}
	}
	return false
}

// Has reports whether scope was granted verbatim; for special scopes such as
// ScopeEmergency, which no clinical scope covers.
func (p Principal) Has(scope string) bool { return slices.Contains(p.Scopes, scope) }
