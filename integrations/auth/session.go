package auth

import (
	"time"

	"github.com/mohae/deepcopy"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// Session is the fosite session of every grant: who the tokens speak for
// and the ID token claims of a sign-in. fosite stores it with each code and
// refresh token (as JSON) and restores it at the token endpoint, so the
// access tokens of a refresh carry what the sign-in established.
type Session struct {
	// IDToken holds the OpenID Connect claims and the tokens' expiry times.
	IDToken *openid.DefaultSession `json:"idToken"`
	// ClientID is the client the tokens are issued to.
	ClientID string `json:"clientId"`
	// UserID is the signed-in user; empty for a client acting as itself.
	UserID string `json:"userId,omitempty"`
	// PractitionerID is the user's practitioner, for the fhirUser claim.
	PractitionerID string `json:"practitionerId,omitempty"`
	// Roles are the user's (or client's) roles, for the roles claim.
	Roles []string `json:"roles,omitempty"`
	// SessionID is the sign-in session (sid); empty for machine clients.
	SessionID string `json:"sessionId,omitempty"`
	// PatientID is the launch patient of a sign-in made in a patient's
	// context (the patient claim, and the token response's patient).
	PatientID string `json:"patientId,omitempty"`
	// TokenID and IssuedAt are the jti and iat of the access token being
	// issued, set afresh for each one.
	TokenID  string    `json:"tokenId,omitempty"`
	IssuedAt time.Time `json:"issuedAt"`
	// Header is the access token's JOSE header (typ at+jwt).
	Header *jwt.Headers `json:"header,omitempty"`
}

var (
	_ oauth2.JWTSessionContainer = (*Session)(nil)
	_ openid.Session             = (*Session)(nil)
	_ postgres.TokenSession      = (*Session)(nil)
)

// newSession returns an empty session for a token request.
func newSession() *Session {
	return &Session{
		IDToken: &openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}},
		Header:  &jwt.Headers{Extra: map[string]any{"typ": tokenType}},
	}
}

func (s *Session) id() *openid.DefaultSession {
	if s.IDToken == nil {
		s.IDToken = &openid.DefaultSession{}
	}
	if s.IDToken.Claims == nil {
		s.IDToken.Claims = &jwt.IDTokenClaims{}
	}
	if s.IDToken.Headers == nil {
		s.IDToken.Headers = &jwt.Headers{}
	}
	return s.IDToken
}

// subject is the sub of every token: the user for a sign-in, else the client.
func (s *Session) subject() string {
	if s.UserID != "" {
		return s.UserID
	}
	return s.ClientID
}

// GetJWTClaims returns the access token's claims beyond those fosite adds
// (exp, scope, aud, iss): sub, jti, iat, client_id and, for a user, fhirUser,
// sid and roles.
func (s *Session) GetJWTClaims() jwt.JWTClaimsContainer {
	extra := map[string]any{"client_id": s.ClientID}
	if len(s.Roles) > 0 {
		extra["roles"] = s.Roles
	}
	if s.PractitionerID != "" {
		extra["fhirUser"] = "Practitioner/" + s.PractitionerID
	}
	if s.SessionID != "" {
		extra["sid"] = s.SessionID
	}
	if s.PatientID != "" {
		extra["patient"] = s.PatientID
	}
	return &jwt.JWTClaims{Subject: s.subject(), JTI: s.TokenID, IssuedAt: s.IssuedAt, Extra: extra}
}

// GetJWTHeader returns the access token's header.
func (s *Session) GetJWTHeader() *jwt.Headers {
	if s.Header == nil {
		s.Header = &jwt.Headers{Extra: map[string]any{"typ": tokenType}}
	}
	return s.Header
}

// IDTokenClaims returns the ID token claims, modified in place by fosite.
func (s *Session) IDTokenClaims() *jwt.IDTokenClaims { return s.id().Claims }

// IDTokenHeaders returns the ID token header.
func (s *Session) IDTokenHeaders() *jwt.Headers { return s.id().Headers }

// SetExpiresAt sets when a token of kind expires.
func (s *Session) SetExpiresAt(kind fosite.TokenType, exp time.Time) { s.id().SetExpiresAt(kind, exp) }

// GetExpiresAt returns when a token of kind expires.
func (s *Session) GetExpiresAt(kind fosite.TokenType) time.Time { return s.id().GetExpiresAt(kind) }

// GetUsername returns the ID token's username, if any.
func (s *Session) GetUsername() string { return s.id().Username }

// GetSubject returns the sub of the tokens.
func (s *Session) GetSubject() string { return s.subject() }

// SetSubject is required by fosite; the subject follows from UserID and ClientID.
func (s *Session) SetSubject(string) {}

// Clone returns a deep copy.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	return deepcopy.Copy(s).(*Session)
}

// AuthSessionID returns the sign-in session (sid), for the store.
func (s *Session) AuthSessionID() string { return s.SessionID }

// AccessTokenID returns the jti of the access token being issued, for the store.
func (s *Session) AccessTokenID() string { return s.TokenID }

// GetExtraClaims returns the claims introspection reports beyond fosite's
// own (RFC 7662 §2.2): iss, jti, token_type and, for a user, fhirUser, sid
// and roles.
func (s *Session) GetExtraClaims() map[string]any {
	c := s.GetJWTClaims().(*jwt.JWTClaims)
	out := map[string]any{"token_type": "Bearer"}
	for k, v := range c.Extra {
		out[k] = v
	}
	if s.TokenID != "" {
		out["jti"] = s.TokenID
	}
	return out
}
