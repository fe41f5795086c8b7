package audit

import (
	"fmt"
	"strings"

	"github.com/zarish-sphere/zarish/domain"
)

// ActorClaim is the actor a submitted record describes, as its submitter
// tells it. A submitter speaks for the people of its own system, never for
// a user, session or client of this server, which only a token proves: a
// claim names a subject, their roles and at most a practitioner of the
// care-team directory, and is recorded as the submitter's word (asserted).
// The last four fields are here to be refused by name, not silently dropped.
type ActorClaim struct {
	Subject        string   `json:"subject,omitempty"`
	Roles          []string `json:"roles,omitempty"`
	PractitionerID string   `json:"practitionerId,omitempty"`

	ClientID  string `json:"clientId,omitempty"`
	UserID    string `json:"userId,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
	Asserted  *bool  `json:"asserted,omitempty"`
}

// check reports the claim's refusals: a claim posing as a user, session or
// client of this server, or as proven, and one that names nobody.
func (c ActorClaim) check(verr *domain.ValidationError) {
	const notOurs = "a submitted actor cannot be a %s of this server: only a token proves that, and the submitter's own is recorded as submitter"
	if c.UserID != "" {
		verr.Add("actor.userId", fmt.Sprintf(notOurs, "user"))
	}
	if c.SessionID != "" {
		verr.Add("actor.sessionId", fmt.Sprintf(notOurs, "sign-in session"))
	}
	if c.ClientID != "" {
		verr.Add("actor.clientId", fmt.Sprintf(notOurs, "client"))
	}
	if c.Asserted != nil && !*c.Asserted {
		verr.Add("actor.asserted", "must be true or absent: a submitted actor is always the submitter's word, never proven by a sign-in here")
	}
	if strings.TrimSpace(c.Subject) == "" && c.PractitionerID == "" {
		verr.Add("actor.subject", "is required (or actor.practitionerId): the actor must name someone")
	}
}

// Submit makes r a record submitted by by: flagged as submitted, naming its
// submitter apart from its actor. The actor is claim's, marked asserted by
// the submitter and acting through the submitter's client, or, without a
// claim, self: the submitter's own actor as its token proved it. Every
// invalid field — the claim's refusals and the record's (see Validate) — is
// reported at once.
func (r Record) Submit(by Submitter, self Actor, claim *ActorClaim) (Record, error) {
	verr := &domain.ValidationError{}
	r.Submitted, r.Submitter, r.Actor = true, &by, self
	if claim != nil {
		claim.check(verr)
		r.Actor = Actor{Subject: claim.Subject, ClientID: by.ClientID, Roles: claim.Roles,
			PractitionerID: claim.PractitionerID, Asserted: true}
	}
	r.validate(verr)
	if err := verr.OrNil(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// validateSubmission checks that a submitted record names its submitter,
// and only a submitted one does, and that an actor the submitter asserted
// is no user of this server.
func (r Record) validateSubmission(verr *domain.ValidationError) {
	switch {
	case !r.Submitted && r.Submitter != nil:
		verr.Add("submitter", "is only for a submitted record")
	case r.Submitted && (r.Submitter == nil || strings.TrimSpace(r.Submitter.ClientID) == ""):
		verr.Add("submitter.clientId", "is required: a submitted record names the client that submitted it")
	case r.Submitted && r.Submitter.PractitionerID != "" && !canonicalUUID(r.Submitter.PractitionerID):
		verr.Add("submitter.practitionerId", "must be a practitioner id (a UUID)")
	}
	if r.Submitted && r.Actor.Asserted && (r.Actor.UserID != "" || r.Actor.SessionID != "") {
		verr.Add("actor.userId", "a submitted actor cannot be a user of this server")
	}
}
