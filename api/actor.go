package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// CodeActorMismatch: a field names someone other than the person acting.
const CodeActorMismatch = "ACTOR_MISMATCH"

// CodePersonRequired: the act needs a person, and a machine client is
// acting as itself.
const CodePersonRequired = "PERSON_REQUIRED"

// actor is who performs an act that records a practitioner: the acting
// practitioner — the signed-in user's, or the one a machine client asserted
// with X-On-Behalf-Of — never someone a body or query field names. named is
// what the request's field says ("" when it is absent): it may name the
// acting practitioner, and naming anyone else is 403 ACTOR_MISMATCH. A
// machine client acting as itself is 403 PERSON_REQUIRED, whatever the
// field says, and a signed-in user who is no practitioner (an
// administrator, an auditor) 403 FORBIDDEN. It reports false when it has
// answered.
func actor(c *gin.Context, field, named string) (uuid.UUID, bool) {
	acting, ok := actingPractitioner(c)
	if !ok {
		if p, ok := principal(c); ok && p.IsUser() {
			abort(c, http.StatusForbidden, CodeForbidden, "Only a practitioner can do this; your account is linked to none.")
			return uuid.Nil, false
		}
		abort(c, http.StatusForbidden, CodePersonRequired,
			"This needs a person: send "+headerOnBehalfOf+": Practitioner/<id> (with the scope "+access.ScopeActOnBehalf+
				") to act for the practitioner, or have the practitioner sign in.",
			domain.FieldError{Field: headerOnBehalfOf, Message: "is required of a machine client: the practitioner acting"})
		return uuid.Nil, false
	}
	if named != "" {
		if id, err := uuid.Parse(named); err != nil || id != acting {
			abort(c, http.StatusForbidden, CodeActorMismatch,
				"The request names someone other than the practitioner acting; leave "+field+" out, or name yourself.",
				domain.FieldError{Field: field, Message: "is not the acting practitioner"})
			return uuid.Nil, false
		}
	}
	return acting, true
}

// namedID is the text of the practitioner a decoded field names, for
// actor: "" when the field is absent.
func namedID(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
