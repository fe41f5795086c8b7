package access

import "context"

// The audit actions a note may name (the values of domain/audit's actions).
const (
	NoteLogin    = "login"
	NoteSecurity = "security"
)

// AuditNote is what the auth endpoints tell the API's audit trail about one
// request: who it was about and what happened (a sign-in, a failure, a
// lockout, an MFA change, a token issued or refused). The API puts one in
// the request's context (WithAuditNote) and copies it into the request's
// audit record once the handler returns.
type AuditNote struct {
	// SourceIP is the client's address as the API determined it (trusted
	// proxies considered); set by the API, read by the sign-in.
	SourceIP string

	// Action is login or security; empty leaves the route's own.
	Action      string
	Description string
	// Who: the user (by id and username), their practitioner and roles,
	// the client and the sign-in session.
	UserID, Username, PractitionerID string
	Roles                            []string
	ClientID                         string
	SessionID                        string
}

type noteKey struct{}

// WithAuditNote returns ctx carrying a fresh note for the auth handlers to fill.
func WithAuditNote(ctx context.Context, sourceIP string) (context.Context, *AuditNote) {
	n := &AuditNote{SourceIP: sourceIP}
	return context.WithValue(ctx, noteKey{}, n), n
}

// NoteOf returns the note ctx carries, or a throwaway one.
func NoteOf(ctx context.Context) *AuditNote {
	if n, ok := ctx.Value(noteKey{}).(*AuditNote); ok {
		return n
	}
	return &AuditNote{}
}

// About fills in the person a note is about.
func (n *AuditNote) About(userID, username, practitionerID string, roles []string) {
	n.UserID, n.Username, n.PractitionerID, n.Roles = userID, username, practitionerID, roles
}
