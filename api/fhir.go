package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// fhirBase is the FHIR R4 API's base path.
const fhirBase = "/fhir/R4"

// Result parameters a paged FHIR search takes besides its search
// parameters: the page size, and the store's cursor of the next link.
const (
	fhirCount  = "_count"
	fhirCursor = "_cursor"
)

// fhirRoutes serve the FHIR R4 API at /fhir/R4 over the stores
// the /v1 routes write. Every answer is application/fhir+json, every
// refusal an OperationOutcome; the middleware before the handlers (token,
// scope, input limits) answers with the API's error envelope.
type fhirRoutes struct {
	*edge
	patients     PatientStore
	observations ObservationStore
	encounters   EncounterStore
	allergies    AllergyStore
	// temporal lists and describes the workflows Tasks show.
	temporal client.Client
	// directory is the care team, as Practitioners.
	directory CareTeam
	// prescriptions are MedicationRequests.
	prescriptions fhirPrescriptions
	// diagnostics are ServiceRequests (the orders) and DiagnosticReports.
	diagnostics fhirDiagnostics
	// procedures are Procedures and their bookings, Appointments.
	procedures fhirProcedures
	// carePlans are CarePlans.
	carePlans fhirCarePlans
	// alerts are Flags.
	alerts fhirAlerts
	// auditTrail is AuditEvents.
	auditTrail fhirAuditTrail
	// everythingMax bounds a $everything answer; 0 is everythingMax.
	everythingMax int
	// writers serve the creates.
	writers fhirWriters
}

// fhirResource is one resource type the FHIR API serves: its read, its
// search and the search parameters the search takes. The routes and the
// CapabilityStatement are both made from this one table.
type fhirResource struct {
	typ, scope string
	// read answers GET /fhir/R4/<typ>/:id; nil serves no read.
	read gin.HandlerFunc
	// search answers GET /fhir/R4/<typ> with q, whose parameters have been
	// checked against params; nil serves no search.
	search func(c *gin.Context, q url.Values)
	params []fhir.SearchParam
	// paged searches take _count and _cursor.
	paged bool
	// vread and history answer GET /fhir/R4/<typ>/:id/_history/:vid and
	// /_history: only for a type whose every version is stored.
	vread, history gin.HandlerFunc
	// everything answers GET /fhir/R4/<typ>/:id/$everything.
	everything gin.HandlerFunc
	// sort is the one _sort the search honours: the order its store lists
	// in ("-date": newest first). Empty, the search takes no _sort.
	sort string
}

func (s *fhirRoutes) resources() []fhirResource {
	patientSearch := fhir.SearchParam{Name: "patient", Type: "reference", Documentation: "Patient/<id> or the id alone"}
	orderCategory := fhir.SearchParam{Name: "category", Type: "token", Documentation: "laboratory or imaging: " +
		fhir.SystemSNOMED + "|108252007 or |363679005, or " + fhir.SystemDiagnosticService + "|LAB or |RAD"}
	orderedCode := fhir.SearchParam{Name: "code", Type: "token", Documentation: "one ordered test, panel or imaging procedure: " +
		"a LOINC code, alone or as " + fhir.SystemLOINC + "|<code>"}
	return []fhirResource{
		{typ: "Patient", scope: "system/Patient.read", read: s.readPatient, search: s.searchPatients, paged: true,
			vread: s.patientVersion, history: s.patientHistory, everything: s.everything,
			params: []fhir.SearchParam{
				{Name: "identifier", Type: "token", Documentation: "system|value; the MRN as " + fhir.SystemMRN + "|<mrn> or alone"},
				{Name: "name", Type: "string", Documentation: "any part of the patient's name"},
				{Name: "birthdate", Type: "date", Documentation: "YYYY-MM-DD, with no prefix or eq"},
			}},
		{typ: "Observation", scope: "system/Observation.read", read: s.readObservation, search: s.searchObservations, paged: true, sort: "-date",
			vread: s.observationVersion, history: s.observationHistory,
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "subject", Type: "reference", Documentation: "Patient/<id>; patient or subject is required"},
				{Name: "code", Type: "token", Documentation: "LOINC codes, comma-separated, each alone or as " + fhir.SystemLOINC + "|<code>"},
				{Name: "date", Type: "date", Documentation: "effective time with prefix eq, ge, gt, le or lt; repeat to bound both ends"},
			}},
		{typ: "Encounter", scope: "system/Encounter.read", read: s.readEncounter, search: s.searchEncounters, paged: true,
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "one Encounter.status code"},
			}},
		{typ: "Practitioner", scope: "system/Practitioner.read", read: s.readPractitioner, search: s.searchPractitioners,
			params: []fhir.SearchParam{
				{Name: "name", Type: "string", Documentation: "any part of the practitioner's name, case aside"},
			}},
		{typ: "Task", scope: "system/Task.read", read: s.readTask, search: s.searchTasks, paged: true,
			params: []fhir.SearchParam{
				{Name: "patient", Type: "reference", Documentation: "Patient/<id> or the id alone; patient or owner is required: the patient's running and ended care processes"},
				{Name: "owner", Type: "reference", Documentation: "Practitioner/<id> or the id alone: the processes the practitioner was responsible for when they started, across patients without patient"},
				{Name: "status", Type: "token", Documentation: "in-progress, completed, failed or cancelled"},
			}},
		{typ: "AllergyIntolerance", scope: "system/AllergyIntolerance.read", read: s.readAllergy, search: s.searchAllergies,
			vread: s.allergyVersion, history: s.allergyHistory,
			params: []fhir.SearchParam{
				{Name: "patient", Type: "reference", Documentation: "Patient/<id> or the id alone; required"},
			}},
		{typ: "MedicationRequest", scope: "system/MedicationRequest.read", read: s.readMedicationRequest,
			search: s.searchMedicationRequests, paged: true, sort: "-authoredon",
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "one MedicationRequest.status code (" + systemMedicationRequestStatus + ")"},
			}},
		{typ: "ServiceRequest", scope: "system/ServiceRequest.read", read: s.readServiceRequest,
			search: s.searchServiceRequests, paged: true, sort: "-authored",
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "one request-status code (" + systemRequestStatus + "): active, completed, revoked or entered-in-error"},
				orderCategory, orderedCode,
			}},
		{typ: "DiagnosticReport", scope: "system/DiagnosticReport.read", read: s.readDiagnosticReport,
			search: s.searchDiagnosticReports, paged: true,
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "one DiagnosticReport.status code (" + systemDiagnosticReportSt + ")"},
				orderCategory, orderedCode,
			}},
		// A booking is read as the procedure is, under the procedure's scope:
		// GET /v1/procedures/{id} serves both.
		{typ: "Procedure", scope: "system/Procedure.read", read: s.readProcedure, search: s.searchProcedures, paged: true,
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "one Procedure.status code (" + systemEventStatus + "): preparation, in-progress, completed, stopped or not-done"},
			}},
		{typ: "Appointment", scope: "system/Procedure.read", read: s.readAppointment, search: s.searchAppointments, paged: true,
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "one Appointment.status code (" + systemAppointmentStatus + ")"},
				{Name: "date", Type: "date", Documentation: "the slot's start with prefix eq, ge, gt, le or lt; repeat to bound both ends"},
			}},
		{typ: "CarePlan", scope: "system/CarePlan.read", read: s.readCarePlan, search: s.searchCarePlans, paged: true,
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "one CarePlan.status code (" + systemRequestStatus + ")"},
			}},
		{typ: "Flag", scope: "system/Flag.read", read: s.readFlag, search: s.searchFlags, paged: true, sort: "-date",
			params: []fhir.SearchParam{
				patientSearch,
				{Name: "status", Type: "token", Documentation: "active (open, acknowledged, or escalated to no one's acknowledgement) or inactive (resolved)"},
			}},
		// The audit trail is read under the scope /v1/audit reads it with,
		// which only auditors hold.
		{typ: "AuditEvent", scope: "system/AuditEvent.read", read: s.readAuditEvent, search: s.searchAuditEvents, paged: true, sort: "-date",
			params: []fhir.SearchParam{
				{Name: "patient", Type: "reference", Documentation: "Patient/<id> or the id alone: records about the patient, or of searches that returned them"},
				{Name: "date", Type: "date", Documentation: "when recorded, with prefix eq, ge, gt, le or lt; repeat to bound both ends"},
				{Name: "agent", Type: "reference", Documentation: "Practitioner/<id>, or a user, client or practitioner id: who acted or submitted"},
			}},
	}
}

// fhirCreate is a create interaction: POST /fhir/R4/<typ> with a resource
// of the type, under scope.
type fhirCreate struct {
	scope   string
	handler gin.HandlerFunc
}

func (s *fhirRoutes) routes() []Route {
	out := []Route{{http.MethodGet, fhirBase + "/metadata", "", "CapabilityStatement", s.metadata}}
	creates := s.creates()
	for _, r := range s.resources() {
		if r.read != nil {
			out = append(out, Route{http.MethodGet, fhirBase + "/" + r.typ + "/:id", r.scope, r.typ, r.read})
		}
		if r.search != nil {
			out = append(out, Route{http.MethodGet, fhirBase + "/" + r.typ, r.scope, r.typ, s.searching(r)})
		}
		if r.history != nil {
			out = append(out, Route{http.MethodGet, fhirBase + "/" + r.typ + "/:id/_history", r.scope, r.typ, r.history})
		}
		if r.vread != nil {
			out = append(out, Route{http.MethodGet, fhirBase + "/" + r.typ + "/:id/_history/:vid", r.scope, r.typ, r.vread})
		}
		if r.everything != nil {
			out = append(out, Route{http.MethodGet, fhirBase + "/" + r.typ + "/:id/$everything", r.scope, r.typ, r.everything})
		}
		if w, ok := creates[r.typ]; ok {
			out = append(out, Route{http.MethodPost, fhirBase + "/" + r.typ, w.scope, r.typ, w.handler})
			delete(creates, r.typ)
		}
	}
	for typ := range creates {
		panic("FHIR create of " + typ + ", a resource type the table does not serve")
	}
	return out
}

// capabilities is the CapabilityStatement of the resource table: each
// resource with the interactions and search parameters its routes serve.
func (s *fhirRoutes) capabilities() fhir.CapabilityStatement {
	rest := fhir.CapabilityRest{Mode: "server", Security: &fhir.CapabilitySecurity{
		Service:     []fhir.CodeableConcept{fhir.SMARTOnFHIR},
		Description: "Bearer access tokens from this server's OAuth2 token endpoint, with SMART on FHIR scopes such as system/Patient.read.",
	}, Resource: []fhir.CapabilityResource{}}
	creates := s.creates()
	for _, r := range s.resources() {
		res := fhir.CapabilityResource{Type: r.typ, Interaction: []fhir.CapabilityInteraction{}}
		if _, ok := creates[r.typ]; ok {
			res.Interaction = append(res.Interaction, fhir.CapabilityInteraction{Code: fhir.InteractionCreate})
		}
		if r.read != nil {
			res.Interaction = append(res.Interaction, fhir.CapabilityInteraction{Code: fhir.InteractionRead})
		}
		if r.vread != nil {
			res.Interaction = append(res.Interaction, fhir.CapabilityInteraction{Code: fhir.InteractionVRead})
		}
		if r.history != nil {
			res.Interaction = append(res.Interaction, fhir.CapabilityInteraction{Code: fhir.InteractionHistory})
		}
		if r.vread != nil && r.history != nil {
			res.Versioning = "versioned"
		}
		if r.everything != nil {
			res.Operation = []fhir.CapabilityOperation{fhir.OperationEverything}
		}
		if r.search != nil {
			res.Interaction = append(res.Interaction, fhir.CapabilityInteraction{Code: fhir.InteractionSearch})
			res.SearchParam = r.params
			if r.sort != "" {
				res.Documentation = "Searches take _sort=" + r.sort + " alone: the order the matches are listed in."
			}
		}
		rest.Resource = append(rest.Resource, res)
	}
	return fhir.CapabilityStatement{
		ResourceType:   "CapabilityStatement",
		Status:         "active",
		Date:           s.now().UTC().Format("2006-01-02"),
		Kind:           "instance",
		Software:       &fhir.CapabilitySoftware{Name: "Zarish"},
		Implementation: &fhir.CapabilityImplementation{Description: "Zarish clinical process engine, FHIR R4 API"},
		FHIRVersion:    fhir.Version,
		Format:         []string{"json"},
		Rest:           []fhir.CapabilityRest{rest},
	}
}

func (s *fhirRoutes) metadata(c *gin.Context) {
	cs := s.capabilities()
	cs.Implementation.URL = fhirBaseURL(c)
	writeFHIR(c, http.StatusOK, cs)
}

// searching checks a search's parameters against its resource's, then runs
// it: an unknown parameter is refused (the CapabilityStatement lists every
// one served), as is an empty value.
func (s *fhirRoutes) searching(r fhirResource) gin.HandlerFunc {
	accepted := map[string]bool{}
	for _, p := range r.params {
		accepted[p.Name] = true
	}
	if r.paged {
		accepted[fhirCount], accepted[fhirCursor] = true, true
	}
	if r.sort != "" {
		accepted[fhirSort] = true
	}
	return func(c *gin.Context) {
		q := c.Request.URL.Query()
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		slices.Sort(names)
		var issues []fhir.Issue
		for _, k := range names {
			switch {
			case k == fhirSort && r.sort == "":
				issues = append(issues, fhirIssue(fhir.IssueNotSupported, "_sort is not served by a search of "+r.typ+": its matches come in one order", k))
			case k == fhirSort && len(q[k]) == 1 && q[k][0] != r.sort:
				issues = append(issues, fhirIssue(fhir.IssueNotSupported, "_sort of "+r.typ+" may only be "+r.sort+", the order the matches are listed in", k))
			case !accepted[k]:
				issues = append(issues, fhirIssue(fhir.IssueNotSupported, k+" is not a search parameter of "+r.typ+" here; /fhir/R4/metadata lists those served", k))
			case slices.Contains(q[k], ""):
				issues = append(issues, fhirIssue(fhir.IssueInvalid, k+" has no value", k))
			case k != "date" && len(q[k]) > 1:
				issues = append(issues, fhirIssue(fhir.IssueNotSupported, k+" may be given once; separate values by commas where the parameter takes several", k))
			}
		}
		if len(issues) > 0 {
			writeOutcome(c, http.StatusBadRequest, issues...)
			return
		}
		auditOf(c).about(audit.ActionSearch, r.typ, "", nil)
		r.search(c, q)
	}
}

// writeFHIR answers v as FHIR JSON.
func writeFHIR(c *gin.Context, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		status, raw = http.StatusInternalServerError, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}`)
	}
	c.Data(status, fhir.MediaType+"; charset=utf-8", raw)
}

// writeOutcome answers an OperationOutcome of issues and stops the chain.
func writeOutcome(c *gin.Context, status int, issues ...fhir.Issue) {
	writeFHIR(c, status, fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: issues})
	c.Abort()
}

// fhirIssue is an error issue naming the parameters at fault.
func fhirIssue(code, diagnostics string, expression ...string) fhir.Issue {
	return fhir.Outcome(code, diagnostics, expression...).Issue[0]
}

// fhirRefusal is a search parameter no search can answer.
type fhirRefusal struct {
	status int
	issue  fhir.Issue
}

func (e *fhirRefusal) Error() string { return e.issue.Diagnostics }

// invalidParam refuses parameter name.
func invalidParam(name, diagnostics string) *fhirRefusal {
	return &fhirRefusal{http.StatusBadRequest, fhirIssue(fhir.IssueInvalid, diagnostics, name)}
}

// fhirFail answers err as an OperationOutcome, naming as FHIR parameters
// the fields a validation error names (fields maps ours to theirs). An
// unexpected error is logged with the request id, never with the request's
// data.
func (s *fhirRoutes) fhirFail(c *gin.Context, err error, fields map[string]string) {
	var (
		refusal *fhirRefusal
		verr    *domain.ValidationError
	)
	switch {
	case errors.As(err, &refusal):
		writeOutcome(c, refusal.status, refusal.issue)
	case errors.As(err, &verr):
		issues := make([]fhir.Issue, 0, len(verr.Fields))
		for _, f := range verr.Fields {
			name := f.Field
			if i := strings.IndexByte(name, '['); i > 0 {
				name = name[:i]
			}
			if n, ok := fields[name]; ok {
				name = n
			}
			issues = append(issues, fhirIssue(fhir.IssueInvalid, name+": "+f.Message, name))
		}
		writeOutcome(c, http.StatusBadRequest, issues...)
	case errors.Is(err, domain.ErrNotFound):
		writeOutcome(c, http.StatusNotFound, fhirIssue(fhir.IssueNotFound, "No such resource."))
	case errors.Is(err, domain.ErrBadCursor):
		writeOutcome(c, http.StatusBadRequest, fhirIssue(fhir.IssueInvalid, "_cursor is not a cursor this server issued", fhirCursor))
	case c.Request.Context().Err() != nil && errors.Is(err, c.Request.Context().Err()):
		writeOutcome(c, 499, fhirIssue(fhir.IssueTimeout, "The request was cancelled."))
	default:
		s.log.ErrorContext(c.Request.Context(), "FHIR request failed",
			"requestId", requestID(c), "route", c.FullPath(), "error", err)
		writeOutcome(c, http.StatusInternalServerError,
			fhirIssue(fhir.IssueException, "Something went wrong on our side; the X-Request-Id identifies it in our logs."))
	}
}

// fhirID is the path's resource id; an id that is not one of ours (a UUID)
// names no resource, so it is a 404.
func fhirID(c *gin.Context, typ string) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		writeOutcome(c, http.StatusNotFound, fhirIssue(fhir.IssueNotFound, "No "+typ+" has this id."))
		return uuid.Nil, false
	}
	return id, true
}

// outsideLaunch refuses, for a token confined to its launch patient (a
// patient/ grant), a resource of another patient. The /v1 routes are kept
// to it after the handler, by the audit record; FHIR requests check it here.
func outsideLaunch(c *gin.Context, patientID uuid.UUID) bool {
	launch, confined := launchPatient(c)
	if !confined || launch == patientID {
		return false
	}
	writeOutcome(c, http.StatusForbidden, fhirIssue(fhir.IssueForbidden, "This token reaches only the patient it was launched for."))
	return true
}

// fhirBaseURL is the FHIR base URL the request reached.
func fhirBaseURL(c *gin.Context) string {
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host + fhirBase
}

// searchSet answers a page of matches: self is the search as served, next
// the same search from the store's cursor. A first page with no next page
// holds every match, so it says how many.
func searchSet[R fhir.Resource](c *gin.Context, q url.Values, matches []R, next string) {
	base := fhirBaseURL(c)
	self := base + strings.TrimPrefix(c.Request.URL.Path, fhirBase)
	link := func(v url.Values) string {
		if len(v) == 0 {
			return self
		}
		return self + "?" + v.Encode()
	}
	nextURL := ""
	if next != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set(fhirCursor, next)
		nextURL = link(nq)
	}
	complete := next == "" && q.Get(fhirCursor) == ""
	writeFHIR(c, http.StatusOK, fhir.SearchSet(base, link(q), nextURL, matches, complete))
}

// countParam is _count: the page size, 1 to max; def when absent.
func countParam(q url.Values, def, max int) (int, error) {
	v := q.Get(fhirCount)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, invalidParam(fhirCount, "_count must be a whole number from 1 to "+strconv.Itoa(max))
	}
	return n, nil
}

// patientParam reads a reference to a patient: Patient/<id>, or the id
// alone. A token confined to its launch patient reaches only that patient,
// and a search naming none is kept to it.
func patientParam(c *gin.Context, name, value string) (uuid.UUID, error) {
	launch, confined := launchPatient(c)
	if value == "" {
		if confined {
			return launch, nil
		}
		return uuid.Nil, nil
	}
	ref := strings.TrimPrefix(value, "Patient/")
	id, err := uuid.Parse(ref)
	if err != nil || strings.Contains(ref, "/") {
		return uuid.Nil, invalidParam(name, name+" must be Patient/<id> or a patient id")
	}
	if confined && id != launch {
		return uuid.Nil, &fhirRefusal{http.StatusForbidden, fhirIssue(fhir.IssueForbidden, "This token reaches only the patient it was launched for.", name)}
	}
	return id, nil
}
