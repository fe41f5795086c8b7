package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// everythingOf decodes a $everything Bundle: each entry's Type/id and
// search mode, and the OperationOutcome's diagnostics when it has one.
func everythingOf(t *testing.T, r result) (refs, modes []string, outcome []fhir.Issue, total *int) {
	t.Helper()
	var b struct {
		ResourceType, Type string
		Total              *int
		Entry              []struct {
			FullURL  string
			Resource json.RawMessage
			Search   struct{ Mode string }
		}
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &b) != nil || b.ResourceType != "Bundle" || b.Type != "searchset" {
		t.Fatalf("$everything answered %d: %s", r.status, r.body)
	}
	for _, e := range b.Entry {
		var res struct {
			ResourceType, ID string
			Issue            []fhir.Issue
		}
		_ = json.Unmarshal(e.Resource, &res)
		modes = append(modes, e.Search.Mode)
		if res.ResourceType == "OperationOutcome" {
			outcome = res.Issue
			continue
		}
		refs = append(refs, res.ResourceType+"/"+res.ID)
	}
	return refs, modes, outcome, b.Total
}

func TestFHIRPatientEverything(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	const pharmacistToken = "fhir-pharmacist"
	a.tokens[pharmacistToken] = access.Principal{Subject: "pharmacy", ClientID: "pharmacy", Scopes: access.RolePharmacist.Scopes(),
		Roles: []string{string(access.RolePharmacist)}}
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	jan := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	obs := a.record(t, amina, "8867-4", 72, "/min", jan)
	rx := a.prescribe(t, amina, jan, nil)
	order := a.order(t, amina, jan, []string{"2345-7"}, nil)
	proc := a.requestProcedure(t, amina, jan, nil)
	plan := a.plan(t, amina, careplan.StatusActive, jan)
	flag := a.raise(t, amina, jan, false)
	a.record(t, rahim, "8867-4", 60, "/min", jan)
	a.prescribe(t, rahim, jan, nil)
	path := "/fhir/R4/Patient/" + amina.String() + "/$everything"

	all := []string{"Patient/" + amina.String(), "Observation/" + obs.String(), "MedicationRequest/" + rx.Details.ID.String(),
		"ServiceRequest/" + order.Order.ID.String(), "DiagnosticReport/" + order.Order.ID.String(),
		"Procedure/" + proc.Request.ID.String(), "Appointment/" + proc.Request.ID.String(), "CarePlan/" + plan.ID.String(),
		"Flag/" + flag.String()}
	refs, modes, outcome, total := everythingOf(t, a.as(t, fhirNurseToken, path, "everything"))
	if !slices.Equal(refs, all) || modes[0] != "match" || modes[1] != "include" || outcome != nil || total == nil || *total != len(all) {
		t.Errorf("everything of a nurse: %v modes %v outcome %+v total %v", refs, modes, outcome, total)
	}
	if rec := a.audited(t, "everything"); rec.Action != audit.ActionRead || rec.EntityType != "Patient" ||
		rec.EntityID != amina.String() || rec.PatientID == nil || *rec.PatientID != amina || len(rec.PatientIDs) > 1 {
		t.Errorf("audited as %+v", rec)
	}

	// A pharmacist gets what the role reads, and is told what was left out.
	refs, _, outcome, _ = everythingOf(t, a.as(t, pharmacistToken, path, "everything-pharmacist"))
	if !slices.Equal(refs, []string{"Patient/" + amina.String(), "Observation/" + obs.String(), "MedicationRequest/" + rx.Details.ID.String(),
		"Flag/" + flag.String()}) || len(outcome) != 1 || outcome[0].Code != fhir.IssueSuppressed ||
		outcome[0].Diagnostics != "Left out, as this token may not search them: Encounter, ServiceRequest, DiagnosticReport, Procedure, Appointment, CarePlan." {
		t.Errorf("everything of a pharmacist: %v %+v", refs, outcome)
	}

	// Bounded: past the bound, the types cut short are named, with no total.
	a.routes.everythingMax = 4
	refs, _, outcome, total = everythingOf(t, a.get(t, path))
	if !slices.Equal(refs, all[:4]) || total != nil || len(outcome) != 1 || outcome[0].Code != fhir.IssueIncomplete ||
		!strings.Contains(outcome[0].Diagnostics, "than the 4 resources") || !strings.Contains(outcome[0].Diagnostics, "ServiceRequest, DiagnosticReport, Procedure, Appointment, CarePlan, Flag are cut short") {
		t.Errorf("bounded everything: %v %+v %v", refs, outcome, total)
	}
	a.routes.everythingMax = 0

	// A token launched for Amina reads hers; for Rahim, not hers.
	if refs, _, _, _ := everythingOf(t, a.as(t, a.launchedFor(amina), path, "everything-own")); !slices.Equal(refs, all) {
		t.Errorf("everything of her own app: %v", refs)
	}
	if issue := fhirOutcome(t, a.as(t, a.launchedFor(rahim), path, "everything-other"), http.StatusForbidden); issue.Code != fhir.IssueForbidden {
		t.Errorf("another's app: %+v", issue)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		code, expr string
	}{
		{"unknown patient", "/fhir/R4/Patient/" + fhirOrderer.String() + "/$everything", 404, fhir.IssueNotFound, ""},
		{"an id not ours", "/fhir/R4/Patient/example/$everything", 404, fhir.IssueNotFound, ""},
		{"a parameter", path + "?_type=Observation", 400, fhir.IssueNotSupported, "_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issue := fhirOutcome(t, a.get(t, tc.path), tc.status)
			if issue.Code != tc.code || (tc.expr != "" && !slices.Equal(issue.Expression, []string{tc.expr})) {
				t.Errorf("issue %+v, want %s naming %q", issue, tc.code, tc.expr)
			}
		})
	}
	if r := a.as(t, fhirAuditorToken, path, "everything-auditor"); r.status != http.StatusForbidden {
		t.Errorf("the auditor: %d", r.status)
	}
}
