package api

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/note"
)

// TestEveryInputHasAMaximum: every string and list a client may send — body
// fields, query, path and header parameters — has a documented maximum (a
// maxLength, maxItems, enumeration or fixed format), which the edge enforces;
// a free-form object is bounded by maxProperties.
func TestEveryInputHasAMaximum(t *testing.T) {
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				if p.Value.In == "header" && p.Value.Name == headerRequestID {
					continue // replaced when unfit, never refused
				}
				unbounded(t, where+" "+p.Value.In+" "+p.Value.Name, p.Value.Schema.Value, map[*openapi3.Schema]bool{})
			}
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					unbounded(t, where+" body ("+ct+")", mt.Schema.Value, map[*openapi3.Schema]bool{})
				}
			}
		}
	}
}

func unbounded(t *testing.T, where string, s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	t.Helper()
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	for _, a := range s.AllOf {
		unbounded(t, where, a.Value, seen)
	}
	switch {
	case s.Type.Is("string"):
		if s.MaxLength == nil && len(s.Enum) == 0 && s.Format != "uuid" && s.Format != "date" && s.Format != "date-time" {
			t.Errorf("%s: a string without maxLength", where)
		}
	case s.Type.Is("array"):
		if s.MaxItems == nil {
			t.Errorf("%s: a list without maxItems", where)
		}
		if s.Items != nil {
			unbounded(t, where+"[]", s.Items.Value, seen)
		}
	case s.Type.Is("object") || len(s.Properties) > 0:
		for k, p := range s.Properties {
			unbounded(t, where+"."+k, p.Value, seen)
		}
		if ap := s.AdditionalProperties.Schema; ap != nil {
			unbounded(t, where+".*", ap.Value, seen)
		} else if len(s.Properties) == 0 && len(s.AllOf) == 0 && s.MaxProps == nil {
			t.Errorf("%s: a free-form object without maxProperties", where)
		}
	}
}

// TestDocumentedLimitsAreTheDomains: where a domain validator holds a limit,
// the OpenAPI document states the same one.
func TestDocumentedLimitsAreTheDomains(t *testing.T) {
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	body := func(method, path string) *openapi3.Schema {
		op := doc.Paths.Find(path).GetOperation(method)
		return op.RequestBody.Value.Content.Get("application/json").Schema.Value
	}
	at := func(s *openapi3.Schema, field string) *openapi3.Schema {
		for _, seg := range strings.Split(field, ".") {
			name, list := strings.CutSuffix(seg, "[]")
			if name != "" {
				s = property(s, name)
			}
			if list {
				s = items(s)
			}
			if s == nil {
				return nil
			}
		}
		return s
	}
	for _, tt := range []struct {
		method, path, field string
		max                 int
	}{
		{"POST", "/v1/clinical/care-plans", "title", careplan.MaxTitleLen},
		{"POST", "/v1/clinical/care-plans", "description", careplan.MaxTextLen},
		{"POST", "/v1/clinical/care-plans", "unit", careplan.MaxUnitLen},
		{"POST", "/v1/clinical/care-plans", "goals", careplan.MaxGoals},
		{"POST", "/v1/clinical/care-plans", "goals[].description", careplan.MaxGoalTextLen},
		{"POST", "/v1/clinical/care-plans", "activities", careplan.MaxActivities},
		{"POST", "/v1/clinical/care-plans", "activities[].title", careplan.MaxTitleLen},
		{"POST", "/v1/clinical/care-plans", "activities[].schedule.repeat", careplan.MaxRepeatLen},
		{"PUT", "/v1/clinical/care-plans/{id}", "title", careplan.MaxTitleLen},
		{"POST", "/v1/clinical/care-plans/{id}/activities/{activityId}/status", "note", careplan.MaxNoteLen},
		{"POST", "/v1/clinical/encounters/{id}/notes", "text", note.MaxTextLen},
		{"POST", "/v1/clinical/encounters/{id}/notes", "sections", note.MaxSections},
		{"POST", "/v1/clinical/encounters/{id}/notes", "sections[].title", note.MaxSectionTitleLen},
		{"POST", "/v1/clinical/encounters/{id}/notes", "sections[].text", note.MaxTextLen},
		{"POST", "/v1/clinical/notes/{id}/amend", "reason", note.MaxReasonLen},
		{"POST", "/v1/patients/{id}/allergies", "substance.text", allergy.MaxTextLen},
		{"POST", "/v1/patients/{id}/allergies", "substance.code.code", allergy.MaxCodeComponentLen},
		{"POST", "/v1/patients/{id}/allergies", "reactions", allergy.MaxReactions},
		{"POST", "/v1/patients/{id}/allergies", "reactions[].manifestations", allergy.MaxManifestations},
		{"POST", "/v1/patients/{id}/allergies", "reactions[].manifestations[]", allergy.MaxManifestationLen},
		{"POST", "/v1/patients/{id}/allergies", "note", allergy.MaxNoteLen},
		{"POST", "/v1/clinical/practitioners", "name", careteam.MaxNameLen},
		{"POST", "/v1/clinical/practitioners", "roles", careteam.MaxRoles},
		{"POST", "/v1/clinical/practitioners", "units", careteam.MaxUnits},
		{"POST", "/v1/clinical/practitioners", "units[]", careteam.MaxUnitLen},
		{"POST", "/v1/clinical/practitioners", "contacts", careteam.MaxContacts},
		{"POST", "/v1/clinical/practitioners", "contacts[].value", careteam.MaxContactValueLen},
		{"POST", "/v1/clinical/on-call", "unit", careteam.MaxUnitLen},
		{"POST", "/v1/notifications/alerts", "unit", alert.MaxUnitLen},
		{"POST", "/v1/notifications/alerts", "category", alert.MaxCategoryLen},
		{"POST", "/v1/notifications/alerts", "message", alert.MaxMessageLen},
		{"POST", "/v1/notifications/alerts", "source", alert.MaxSourceLen},
		{"POST", "/v1/notifications/policies", "name", alert.MaxPolicyNameLen},
		{"POST", "/v1/notifications/policies", "levels", alert.MaxLevels},
		{"POST", "/v1/notifications/policies", "levels[].recipients", alert.MaxRecipients},
		{"POST", "/v1/notifications/policies", "levels[].channels", alert.MaxChannels},
		{"POST", "/v1/clinical/encounters", "location", encounter.MaxLocationLen},
		{"POST", "/v1/clinical/encounters", "reason", encounter.MaxTextLen},
		{"POST", "/v1/clinical/encounters/{id}/triage", "chiefComplaint", encounter.MaxChiefComplaintLen},
		{"POST", "/v1/clinical/encounters/{id}/transfer", "location", encounter.MaxLocationLen},
		{"POST", "/v1/clinical/encounters/{id}/discharge", "reason", encounter.MaxTextLen},
		{"POST", "/v1/clinical/encounters/{id}/cancel", "reason", encounter.MaxTextLen},
		{"POST", "/v1/audit/events", "entityType", audit.MaxEntityTypeLen},
		{"POST", "/v1/audit/events", "entityId", audit.MaxEntityIDLen},
		{"POST", "/v1/audit/events", "actor.subject", audit.MaxSubjectLen},
		{"POST", "/v1/audit/events", "actor.roles", audit.MaxRoles},
		{"POST", "/v1/audit/events", "actor.roles[]", audit.MaxRoleLen},
		{"POST", "/v1/audit/events", "actor.practitionerId", audit.MaxPractitionerIDLen},
		{"POST", "/v1/audit/events", "purpose", audit.MaxPurposeLen},
		{"POST", "/v1/audit/events", "description", audit.MaxDescriptionLen},
		{"POST", "/v1/audit/events", "userAgent", audit.MaxUserAgentLen},
	} {
		s := at(body(tt.method, tt.path), tt.field)
		if s == nil {
			t.Errorf("%s %s: no field %s", tt.method, tt.path, tt.field)
			continue
		}
		l := limitsOf(s)
		got := l.maxLength
		if s.Type.Is("array") {
			got = l.maxItems
		}
		if got == nil || *got != uint64(tt.max) {
			t.Errorf("%s %s %s: documented %v, the domain says %d", tt.method, tt.path, tt.field, got, tt.max)
		}
	}
	if got := limitsOf(at(body("POST", "/v1/notifications/policies"), "id")).pattern; got != alert.PolicyIDPattern {
		t.Errorf("policy id pattern: documented %q, the domain says %q", got, alert.PolicyIDPattern)
	}
}
