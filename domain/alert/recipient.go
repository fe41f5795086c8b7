package alert

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careteam"
)

// ResolveRecipients returns who a level notifies for an alert on unit at the
// instant at, from the directory and the on-call shifts:
//   - a practitioner rule names one active practitioner;
//   - a unit-role rule takes every active practitioner holding the role on unit;
//   - an on-call rule takes whoever covers the role on unit at that instant,
//     falling back to the hospital-wide shift when the unit has none.
//
// Each practitioner appears once; the result is ordered by name, then id.
func ResolveRecipients(level Level, unit string, at time.Time, directory []careteam.Practitioner, shifts []careteam.OnCall) []careteam.Practitioner {
	byID := make(map[uuid.UUID]careteam.Practitioner, len(directory))
	for _, p := range directory {
		if p.Active {
			byID[p.ID] = p
		}
	}
	seen := map[uuid.UUID]bool{}
	var out []careteam.Practitioner
	add := func(id uuid.UUID) {
		p, ok := byID[id]
		if ok && !seen[id] {
			seen[id] = true
			out = append(out, p)
		}
	}
	for _, r := range level.Recipients {
		switch r.Kind {
		case RecipientPractitioner:
			add(r.PractitionerID)
		case RecipientUnitRole:
			for _, p := range directory {
				if p.HasRole(r.Role) && p.WorksOn(unit) {
					add(p.ID)
				}
			}
		case RecipientOnCall:
			found := false
			for _, scope := range []string{unit, ""} {
				for _, s := range shifts {
					if s.Covers(r.Role, scope, at) {
						if _, ok := byID[s.PractitionerID]; ok {
							found = true
							add(s.PractitionerID)
						}
					}
				}
				if found {
					break
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b careteam.Practitioner) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}
