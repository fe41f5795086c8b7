package alert

import (
	"slices"

	"github.com/google/uuid"
)

// MayResolve reports whether a practitioner may resolve the alert, which
// stops its escalation: one who was notified of it or acknowledged it, or
// a clinician of its unit (units are the practitioner's, from the care-team
// directory). Anyone else — however broad their token — is refused, so a
// critical alert is never silenced by a stranger. The record must carry its
// timeline (a single-alert read).
func (r Record) MayResolve(practitionerID uuid.UUID, units []string) bool {
	if practitionerID == uuid.Nil {
		return false
	}
	if r.AcknowledgedBy != nil && *r.AcknowledgedBy == practitionerID {
		return true
	}
	for _, e := range r.Timeline {
		if (e.Kind == EventNotified || e.Kind == EventReminded) && e.PractitionerID == practitionerID {
			return true
		}
	}
	return r.Unit != "" && slices.Contains(units, r.Unit)
}
