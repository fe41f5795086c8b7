package alert

import (
	"slices"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careteam"
)

// Resolver is who asks to resolve an alert: the practitioner, and the units
// and roles the care-team directory gives them.
type Resolver struct {
	PractitionerID uuid.UUID
	Units          []string
	Roles          []careteam.Role
}

// MayResolve reports whether a practitioner may resolve the alert, which
// stops its escalation: one who was notified of it or acknowledged it, a
// clinician of its unit, or a holder of a role its policy names
// (resolverRoles: a charge nurse, the rapid-response team). Anyone else —
// however broad their token — is refused, so a critical alert is never
// silenced by a stranger. The record must carry its timeline (a
// single-alert read).
func (r Record) MayResolve(who Resolver, resolverRoles []careteam.Role) bool {
	if who.PractitionerID == uuid.Nil {
		return false
	}
	if r.AcknowledgedBy != nil && *r.AcknowledgedBy == who.PractitionerID {
		return true
	}
	for _, e := range r.Timeline {
		if (e.Kind == EventNotified || e.Kind == EventReminded) && e.PractitionerID == who.PractitionerID {
			return true
		}
	}
	if r.Unit != "" && slices.Contains(who.Units, r.Unit) {
		return true
	}
	return slices.ContainsFunc(who.Roles, func(role careteam.Role) bool { return slices.Contains(resolverRoles, role) })
}
