package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// CodeActorMismatch: a field names someone other than the person acting.
const CodeActorMismatch = "ACTOR_MISMATCH"

// actorInto is who performs an act: the acting practitioner — the signed-in
// user's, or the one a machine client asserted with X-On-Behalf-Of — never
// someone a body or query field names. named is what the request's field
// says ("" when it is absent): naming anyone but the acting practitioner is
// 403 ACTOR_MISMATCH, and a signed-in user who is no practitioner (an
// administrator, an auditor) cannot act for one (403); both are answered at
// once and reported false. A machine client acting as itself (an
// integration recording what a person did elsewhere) names the practitioner
// in the field; when required, a missing or malformed one is added to verr,
// so the caller reports it with the request's other invalid fields.
func actorInto(c *gin.Context, verr *domain.ValidationError, field, named string, required bool) (uuid.UUID, bool) {
	id := uuid.Nil
	if named != "" {
		parsed, err := uuid.Parse(named)
		if err != nil {
			verr.Add(field, "must be a practitioner id (UUID)")
		} else {
			id = parsed
		}
	}
	if acting, ok := actingPractitioner(c); ok {
		if named != "" && id != acting {
			abort(c, http.StatusForbidden, CodeActorMismatch,
				"The request names someone other than the practitioner acting; leave "+field+" out, or name yourself.",
				domain.FieldError{Field: field, Message: "is not the acting practitioner"})
			return uuid.Nil, false
		}
		return acting, true
	}
	if p, ok := principal(c); ok && p.IsUser() {
		abort(c, http.StatusForbidden, CodeForbidden, "Only a practitioner can do this; your account is linked to none.")
		return uuid.Nil, false
	}
	if required && named == "" {
		verr.Add(field, "is required: the practitioner acting (or send "+headerOnBehalfOf+")")
	}
	return id, true
}

// actor is actorInto for an act that names its practitioner by id and has
// no other field to report with: an invalid or missing one is answered 400
// here. It reports false when it has answered.
func actor(c *gin.Context, field string, named uuid.UUID) (uuid.UUID, bool) {
	text := ""
	if named != uuid.Nil {
		text = named.String()
	}
	verr := &domain.ValidationError{}
	id, ok := actorInto(c, verr, field, text, true)
	if ok && verr.OrNil() != nil {
		abort(c, http.StatusBadRequest, CodeValidationFailed, "The request has invalid fields.", verr.Fields...)
		return uuid.Nil, false
	}
	return id, ok
}
