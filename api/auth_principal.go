package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// headerOnBehalfOf is how a machine client names the practitioner it acts
// for: X-On-Behalf-Of: Practitioner/<id>, the same on every route.
const headerOnBehalfOf = "X-On-Behalf-Of"

// onBehalfOf applies X-On-Behalf-Of to the request's principal: a machine
// client holding system/Practitioner.act names the practitioner it acts
// for, which the audit trail records as asserted. Without the scope the
// request is 403; a practitioner the directory does not know (or a header
// that names none) is 400; a signed-in user acts as themselves and may not
// send it. It reports whether the request may go on (false: answered).
func (s *server) onBehalfOf(c *gin.Context, p *access.Principal) bool {
	h := strings.TrimSpace(c.GetHeader(headerOnBehalfOf))
	if h == "" {
		return true
	}
	if p.IsUser() {
		fieldError(c, headerOnBehalfOf, "is for machine clients: a signed-in user acts as themselves")
		return false
	}
	if !p.Has(access.ScopeActOnBehalf) {
		c.Header("WWW-Authenticate", `Bearer realm="zarish", error="insufficient_scope", scope="`+access.ScopeActOnBehalf+`"`)
		abort(c, http.StatusForbidden, CodeForbidden, "Acting on behalf of a practitioner needs the scope "+access.ScopeActOnBehalf+".")
		return false
	}
	raw, ok := strings.CutPrefix(h, "Practitioner/")
	id, err := uuid.Parse(raw)
	if !ok || err != nil {
		fieldError(c, headerOnBehalfOf, "must be Practitioner/<id>")
		return false
	}
	if s.CareTeam == nil {
		fieldError(c, headerOnBehalfOf, "names a practitioner this server does not know")
		return false
	}
	pr, err := s.CareTeam.GetPractitioner(c.Request.Context(), id)
	switch {
	case errors.Is(err, domain.ErrNotFound) || err == nil && !pr.Active:
		fieldError(c, headerOnBehalfOf, "names a practitioner this server does not know (or no longer active)")
		return false
	case err != nil:
		s.fail(c, err)
		return false
	}
	p.PractitionerID, p.Asserted = id.String(), true
	c.Set(ctxPrincipal, *p)
	return true
}

// administration lists the resource types no broken glass reaches: the
// audit trail, the users who sign in and their sessions (Person), the
// care-team directory and on-call rota (Practitioner, PractitionerRole —
// acting for a practitioner too), escalation policies and routing
// (PlanDefinition) and the integration endpoints (Endpoint).
var administration = []string{"/AuditEvent.", "/Person.", "/Practitioner.", "/PractitionerRole.", "/PlanDefinition.", "/Endpoint."}

// breakGlassReaches reports whether breaking the glass may stand in for
// scope: clinical reads and clinically necessary writes only — never
// administration, nor one's own sign-in (openid).
func breakGlassReaches(scope string) bool {
	return scope != access.ScopeOpenID && !administers(scope)
}

// administers reports whether scope is about administration (see
// administration) rather than a patient's record. Neither broken glass nor
// a token confined to one patient reaches it: audit records and the
// directory name many patients and people.
func administers(scope string) bool {
	for _, kind := range administration {
		if strings.Contains(scope, kind) {
			return true
		}
	}
	return false
}

// actingPractitioner returns the practitioner the request acts as: the
// signed-in user's (from the token's fhirUser) or the one a machine client
// asserted with X-On-Behalf-Of. False when the caller is a machine client
// acting as itself, or a user who is not a practitioner (an administrator).
func actingPractitioner(c *gin.Context) (uuid.UUID, bool) {
	p, ok := principal(c)
	if !ok || p.PractitionerID == "" {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(p.PractitionerID)
	if err != nil {
		return uuid.Nil, false
	}
	return id, true
}
