package api

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// Patient/{id}/$everything (http://hl7.org/fhir/R4/patient-operation-everything.html):
// the patient and every resource of theirs this API serves, in one
// searchset, bounded.

// everythingMax bounds the resources one $everything answers, the patient
// included, unless fhirRoutes.everythingMax says otherwise; past it the
// Bundle says which types it cut short.
const everythingMax = 1000

// everythingPage is the page size the operation reads each store with.
const everythingPage = 200

// everything is the Bundle being gathered.
type everything struct {
	base    string
	max     int
	entries []fhir.BundleEntry
	// cut names the types left incomplete by the bound; refused those the
	// token may not search.
	cut, refused []string
}

// add adds res unless the Bundle is full, which it reports.
func (e *everything) add(res fhir.Resource) bool {
	if len(e.entries) >= e.max {
		return false
	}
	e.entries = append(e.entries, fhir.BundleEntry{FullURL: e.base + "/" + res.Ref(), Resource: res,
		Search: &fhir.BundleEntrySearch{Mode: "include"}})
	return true
}

// gather reads typ's pages from fetch (from the store's cursor) into the
// Bundle, each record as the resources view makes of it, until the last
// page or the bound, when typ is cut short.
func gather[T any](ctx context.Context, e *everything, types []string, fetch func(ctx context.Context, cursor string) ([]T, string, error),
	view func(T) []fhir.Resource) error {
	cursor := ""
	for {
		list, next, err := fetch(ctx, cursor)
		if err != nil {
			return err
		}
		for _, rec := range list {
			for _, res := range view(rec) {
				if !e.add(res) {
					e.cut = append(e.cut, types...)
					return nil
				}
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// everything answers GET /fhir/R4/Patient/{id}/$everything: the patient
// first, then each type of everythingSteps the token may search (a type
// only a patient/ grant reaches is the launch patient's alone), audited as
// a read of the patient. A type the token may not search, or that the
// bound cut short, is named in an OperationOutcome entry; a cut-short
// Bundle has no total.
func (s *fhirRoutes) everything(c *gin.Context) {
	if q := c.Request.URL.Query(); len(q) > 0 {
		names := slices.Sorted(maps.Keys(q))
		writeOutcome(c, http.StatusBadRequest, fhirIssue(fhir.IssueNotSupported,
			"$everything takes no parameters here: it answers the whole record, up to "+strconv.Itoa(everythingMax)+" resources", names...))
		return
	}
	id, ok := fhirID(c, "Patient")
	if !ok || outsideLaunch(c, id) {
		return
	}
	auditOf(c).about(audit.ActionRead, "Patient", id.String(), &id)
	ctx := c.Request.Context()
	p, err := s.patients.Get(ctx, id)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	e := &everything{base: fhirBaseURL(c), max: s.everythingMax}
	if e.max <= 0 {
		e.max = everythingMax
	}
	e.entries = append(e.entries, fhir.BundleEntry{FullURL: e.base + "/Patient/" + id.String(), Resource: fhir.FromPatient(p),
		Search: &fhir.BundleEntrySearch{Mode: "match"}})
	scopes := map[string]string{}
	for _, r := range s.resources() {
		scopes[r.typ] = r.scope
	}
	may := func(typ string) bool {
		pr, _ := principal(c)
		ok, confined := pr.Grant(requirement(Route{Method: http.MethodGet, Path: fhirBase + "/" + typ, Scope: scopes[typ]}, true))
		if ok && confined && pr.Patient != id.String() {
			ok = false
		}
		if !ok {
			e.refused = append(e.refused, typ)
		}
		return ok
	}
	for _, step := range s.everythingSteps(id) {
		var allowed []string
		for _, typ := range step.types {
			if may(typ) {
				allowed = append(allowed, typ)
			}
		}
		if len(allowed) == 0 || !step.wired {
			continue
		}
		if err := step.run(ctx, e, allowed); err != nil {
			s.fhirFail(c, err, nil)
			return
		}
	}
	b := fhir.Bundle{ResourceType: "Bundle", Type: "searchset",
		Link: []fhir.BundleLink{{Relation: "self", URL: e.base + "/Patient/" + id.String() + "/$everything"}}, Entry: e.entries}
	var issues []fhir.Issue
	if len(e.cut) > 0 {
		issues = append(issues, fhir.Issue{Severity: "warning", Code: fhir.IssueIncomplete,
			Diagnostics: "The record holds more than the " + strconv.Itoa(e.max) + " resources one answer carries; " +
				strings.Join(slices.Compact(e.cut), ", ") + " are cut short: search them for the rest."})
	}
	if len(e.refused) > 0 {
		issues = append(issues, fhir.Issue{Severity: "information", Code: fhir.IssueSuppressed,
			Diagnostics: "Left out, as this token may not search them: " + strings.Join(e.refused, ", ") + "."})
	}
	if len(issues) > 0 {
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: issues},
			Search: &fhir.BundleEntrySearch{Mode: "outcome"}})
	}
	if len(e.cut) == 0 {
		n := len(e.entries)
		b.Total = &n
	}
	writeFHIR(c, http.StatusOK, b)
}

// everythingStep gathers the resources of one store: types are those it
// makes (an order is its ServiceRequest and its DiagnosticReport), wired
// whether the store is; run gathers those of allowed.
type everythingStep struct {
	types []string
	wired bool
	run   func(ctx context.Context, e *everything, allowed []string) error
}

// everythingSteps are the stores $everything reads for patient, in the
// order it lists them: every type of a patient's record the API serves.
// Practitioners are the care team's, not the patient's; Tasks are the
// engine's processes; AuditEvents are the record of who read the patient,
// searched on their own under the auditor's scope.
func (s *fhirRoutes) everythingSteps(patient uuid.UUID) []everythingStep {
	has := func(allowed []string, typ string) bool { return slices.Contains(allowed, typ) }
	return []everythingStep{
		{[]string{"Encounter"}, s.encounters != nil, func(ctx context.Context, e *everything, allowed []string) error {
			return gather(ctx, e, allowed, func(ctx context.Context, cursor string) ([]encounter.Record, string, error) {
				page, err := s.encounters.ListEncounters(ctx, encounter.Filter{PatientID: patient, Limit: everythingPage, Cursor: cursor})
				return page.Encounters, page.Next, err
			}, func(r encounter.Record) []fhir.Resource { return []fhir.Resource{fhir.FromEncounter(r)} })
		}},
		{[]string{"Observation"}, s.observations != nil, func(ctx context.Context, e *everything, allowed []string) error {
			return gather(ctx, e, allowed, func(ctx context.Context, cursor string) ([]observation.Observation, string, error) {
				page, err := s.observations.List(ctx, observation.Filter{PatientID: patient, Limit: everythingPage, Cursor: cursor})
				return page.Observations, page.Next, err
			}, func(o observation.Observation) []fhir.Resource { return []fhir.Resource{fhir.FromObservation(o)} })
		}},
		{[]string{"AllergyIntolerance"}, s.allergies != nil, func(ctx context.Context, e *everything, allowed []string) error {
			list, err := s.allergies.ListForPatient(ctx, patient, false)
			if err != nil {
				return err
			}
			for _, al := range list {
				if !e.add(fhir.FromAllergy(al)) {
					e.cut = append(e.cut, allowed...)
					break
				}
			}
			return nil
		}},
		{[]string{"MedicationRequest"}, s.prescriptions != nil, func(ctx context.Context, e *everything, allowed []string) error {
			return gather(ctx, e, allowed, func(ctx context.Context, cursor string) ([]prescription.Prescription, string, error) {
				page, err := s.prescriptions.List(ctx, prescription.Filter{PatientID: patient, Limit: everythingPage, Cursor: cursor})
				return page.Prescriptions, page.Next, err
			}, func(p prescription.Prescription) []fhir.Resource { return []fhir.Resource{fhir.FromPrescription(p)} })
		}},
		{[]string{"ServiceRequest", "DiagnosticReport"}, s.diagnostics != nil, func(ctx context.Context, e *everything, allowed []string) error {
			return gather(ctx, e, allowed, func(ctx context.Context, cursor string) ([]diagnostic.Report, string, error) {
				page, err := s.diagnostics.List(ctx, diagnostic.ReportFilter{PatientID: patient, Limit: everythingPage, Cursor: cursor})
				return page.Reports, page.Next, err
			}, func(r diagnostic.Report) []fhir.Resource {
				var out []fhir.Resource
				if has(allowed, "ServiceRequest") {
					out = append(out, fhir.FromOrder(r))
				}
				if has(allowed, "DiagnosticReport") {
					out = append(out, fhir.FromReport(r))
				}
				return out
			})
		}},
		{[]string{"Procedure", "Appointment"}, s.procedures != nil, func(ctx context.Context, e *everything, allowed []string) error {
			directory, err := s.resourceDirectory(ctx)
			if err != nil {
				return err
			}
			return gather(ctx, e, allowed, func(ctx context.Context, cursor string) ([]procedure.Procedure, string, error) {
				page, err := s.procedures.List(ctx, procedure.Filter{PatientID: patient, Limit: everythingPage, Cursor: cursor})
				return page.Procedures, page.Next, err
			}, func(p procedure.Procedure) []fhir.Resource {
				var out []fhir.Resource
				if has(allowed, "Procedure") {
					out = append(out, fhir.FromProcedure(p))
				}
				if has(allowed, "Appointment") {
					out = append(out, fhir.FromBooking(p, directory))
				}
				return out
			})
		}},
		{[]string{"CarePlan"}, s.carePlans != nil, func(ctx context.Context, e *everything, allowed []string) error {
			return gather(ctx, e, allowed, func(ctx context.Context, cursor string) ([]careplan.CarePlan, string, error) {
				page, err := s.carePlans.List(ctx, careplan.Filter{PatientID: patient, Limit: everythingPage, Cursor: cursor})
				return page.CarePlans, page.Next, err
			}, func(p careplan.CarePlan) []fhir.Resource { return []fhir.Resource{fhir.FromCarePlan(p)} })
		}},
		{[]string{"Flag"}, s.alerts != nil, func(ctx context.Context, e *everything, allowed []string) error {
			return gather(ctx, e, allowed, func(ctx context.Context, cursor string) ([]alert.Record, string, error) {
				page, err := s.alerts.ListAlerts(ctx, alert.Filter{PatientID: patient, Limit: everythingPage, Cursor: cursor})
				return page.Alerts, page.Next, err
			}, func(r alert.Record) []fhir.Resource { return []fhir.Resource{fhir.FromAlert(r)} })
		}},
	}
}
