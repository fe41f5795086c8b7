package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/fhir"
	prescriptionflow "github.com/zarish-sphere/zarish/workflows/prescription"
)

// A FHIR create is the REST API's create of the same resource: the
// resource is read into the /v1 request body (integrations/fhir
// Parse<Type>), checked against the /v1 route's input limits, and handed
// to the /v1 handler itself, whose answer is held. So validation,
// Idempotency-Key, the person acting, the audit record written with the
// resource and the workflow started are exactly those of /v1. The held
// answer is then told in FHIR: 201 with the created resource as stored
// (read back from its store; a prescription as its first checks left it,
// which is what /v1 answers), Location and ETag; or an OperationOutcome of
// the /v1 status naming, for each field the /v1 handler refused, the
// element it was read from.
//
// Who acted is the token's person. A resource naming a requester or
// performer is taken only when that is the person acting; naming anyone
// else is refused with 422, before anything is stored.

// fhirWriters are the services whose own handlers the FHIR creates run.
type fhirWriters struct {
	patients      *patientRoutes
	observations  *observationRoutes
	prescriptions *prescriptionRoutes
	diagnostics   *diagnosticRoutes
}

// The /v1 creates the FHIR creates run.
const (
	v1PatientsPath      = "/v1/patients"
	v1ObservationsPath  = "/v1/observations"
	v1PrescriptionsPath = "/v1/medications/prescriptions"
)

// creates are the FHIR create interactions, by resource type; each type
// is one the resource table serves, and each runs its service's /v1
// create, so a router built without that service serves none.
func (s *fhirRoutes) creates() map[string]fhirCreate {
	out := map[string]fhirCreate{}
	w := s.writers
	if w.patients != nil {
		out["Patient"] = fhirCreate{scope: "system/Patient.write", handler: s.createPatient}
	}
	if w.observations != nil {
		out["Observation"] = fhirCreate{scope: "system/Observation.write", handler: s.createObservation}
	}
	if w.prescriptions != nil {
		out["MedicationRequest"] = fhirCreate{scope: "system/MedicationRequest.write", handler: s.createMedicationRequest}
	}
	if w.diagnostics != nil {
		out["ServiceRequest"] = fhirCreate{scope: "system/ServiceRequest.write", handler: s.createServiceRequest}
	}
	return out
}

// v1CreateSpecs are the input limits of the /v1 creates, which the bodies
// the FHIR creates make are held to.
var v1CreateSpecs = sync.OnceValues(func() (map[string]inputSpec, error) {
	var routes []Route
	for _, p := range []string{v1PatientsPath, v1ObservationsPath, v1PrescriptionsPath, ordersPath} {
		routes = append(routes, Route{Method: http.MethodPost, Path: p})
	}
	return inputSpecs(routes)
})

func (s *fhirRoutes) createPatient(c *gin.Context) {
	raw, ok := fhirBody(c, "Patient")
	if !ok {
		return
	}
	d, elements, err := fhir.ParsePatient(raw)
	if err != nil {
		refuseResource(c, err)
		return
	}
	answer, ok := s.runV1(c, v1PatientsPath, s.writers.patients.registerPatient, d, elements)
	if !ok {
		return
	}
	id, err := answeredID(answer)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	p, err := s.writers.patients.store.Get(c.Request.Context(), id)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	fhirCreated(c, "Patient", p.ID, p.Version, fhir.FromPatient(p))
}

func (s *fhirRoutes) createObservation(c *gin.Context) {
	raw, ok := fhirBody(c, "Observation")
	if !ok {
		return
	}
	oc, elements, err := fhir.ParseObservation(raw)
	if err != nil {
		refuseResource(c, err)
		return
	}
	if !namesTheActor(c, "Observation.performer[0]", "performer", oc.Performer) {
		return
	}
	answer, ok := s.runV1(c, v1ObservationsPath, s.writers.observations.recordObservation, observationBody{Input: oc.Input}, elements)
	if !ok {
		return
	}
	id, err := answeredID(answer)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	o, _, err := s.writers.observations.store.Get(c.Request.Context(), id)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	fhirCreated(c, "Observation", o.ID, o.Version, fhir.FromObservation(o))
}

// createMedicationRequest places the order through the prescription
// service's create: the drug resolved against the knowledge base, the
// draft stored with its workflow start row, the workflow started and its
// first checks (interactions, allergies, dose) awaited as /v1 awaits them.
// The MedicationRequest answered is the prescription as those checks left
// it: active, or on hold with its findings (draft while they still run).
func (s *fhirRoutes) createMedicationRequest(c *gin.Context) {
	raw, ok := fhirBody(c, "MedicationRequest")
	if !ok {
		return
	}
	pc, elements, err := fhir.ParseMedicationRequest(raw)
	if err != nil {
		refuseResource(c, err)
		return
	}
	if !namesTheActor(c, "MedicationRequest.requester", "requester", pc.Requester) {
		return
	}
	b := createPrescriptionBody{PatientID: pc.PatientID.String(),
		Medication: medicationBody{Code: pc.MedicationCode, Name: pc.MedicationName},
		Dose:       quantityBody{Value: pc.DoseValue, Unit: pc.DoseUnit}, Route: pc.Route, Frequency: pc.Frequency,
		DosesPerDay: pc.DosesPerDay, DurationDays: pc.DurationDays, PRN: pc.PRN, Indication: pc.Indication}
	if pc.EncounterID != nil {
		b.EncounterID = pc.EncounterID.String()
	}
	if pc.QuantityValue != 0 || pc.QuantityUnit != "" {
		b.Quantity = &quantityBody{Value: pc.QuantityValue, Unit: pc.QuantityUnit}
	}
	answer, ok := s.runV1(c, v1PrescriptionsPath, s.writers.prescriptions.create, b, elements)
	if !ok {
		return
	}
	var v prescriptionflow.View
	if _, err := answeredID(answer); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if err := json.Unmarshal(answer, &v); err != nil {
		s.fhirFail(c, fmt.Errorf("a prescription create answered: %w", err), nil)
		return
	}
	fhirCreated(c, "MedicationRequest", v.Details.ID, v.Version, fhir.FromPrescription(v.Prescription))
}

// createServiceRequest places the order through the diagnostic service's
// create: its tests resolved against the catalogue, the report stored with
// its workflow start row, the workflow started.
func (s *fhirRoutes) createServiceRequest(c *gin.Context) {
	raw, ok := fhirBody(c, "ServiceRequest")
	if !ok {
		return
	}
	oc, elements, err := fhir.ParseServiceRequest(raw)
	if err != nil {
		refuseResource(c, err)
		return
	}
	if !namesTheActor(c, "ServiceRequest.requester", "requester", oc.Requester) {
		return
	}
	b := createDiagnosticOrderBody{PatientID: oc.PatientID.String(), Tests: oc.Tests, Priority: oc.Priority,
		ClinicalInformation: oc.ClinicalInformation, SpecimenNotes: oc.SpecimenNotes}
	if oc.EncounterID != nil {
		b.EncounterID = oc.EncounterID.String()
	}
	answer, ok := s.runV1(c, ordersPath, s.writers.diagnostics.create, b, elements)
	if !ok {
		return
	}
	id, err := answeredID(answer)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	r, err := s.writers.diagnostics.store.Get(c.Request.Context(), id)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	fhirCreated(c, "ServiceRequest", r.Order.ID, r.Version, fhir.FromOrder(r))
}

// answeredID is the id of the resource a /v1 create answered: its id, or
// its details' (a prescription) or its order's (a diagnostic order).
func answeredID(answer []byte) (uuid.UUID, error) {
	type ided struct {
		ID uuid.UUID `json:"id"`
	}
	var v struct {
		ided
		Details ided `json:"details"`
		Order   ided `json:"order"`
	}
	if err := json.Unmarshal(answer, &v); err != nil {
		return uuid.Nil, fmt.Errorf("a /v1 create answered: %w", err)
	}
	for _, id := range []uuid.UUID{v.ID, v.Details.ID, v.Order.ID} {
		if id != uuid.Nil {
			return id, nil
		}
	}
	return uuid.Nil, errors.New("a /v1 create answered no id")
}

// fhirBody reads a create's resource: application/fhir+json (FHIR R4, when
// it says which) or application/json, within the route's body limit.
func fhirBody(c *gin.Context, typ string) ([]byte, bool) {
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || (mt != fhir.MediaType && mt != "application/json") {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Send the "+typ+" as "+fhir.MediaType+".")
		return nil, false
	}
	if v, ok := params["fhirversion"]; ok && v != "4.0" {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "This server speaks FHIR R4 (fhirVersion=4.0), not "+v+".")
		return nil, false
	}
	limit := bodyLimit(c)
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, fmt.Sprintf("The body is larger than %d bytes.", limit))
			return nil, false
		}
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body could not be read.")
		return nil, false
	}
	return raw, true
}

// refuseResource answers a resource the create cannot take: 400 for a
// malformed one, 422 for a valid one this server will not take.
func refuseResource(c *gin.Context, err error) {
	var pe *fhir.ParseError
	if !errors.As(err, &pe) {
		writeOutcome(c, http.StatusBadRequest, fhirIssue(fhir.IssueInvalid, err.Error()))
		return
	}
	status := http.StatusBadRequest
	if pe.Unprocessable() {
		status = http.StatusUnprocessableEntity
	}
	writeOutcome(c, status, pe.Issues...)
}

// namesTheActor refuses with 422 a resource whose element (its requester
// or performer) names a practitioner other than the person acting. A
// request with no person acting is left to the /v1 handler, which refuses
// it as its /v1 twin is refused.
func namesTheActor(c *gin.Context, element, role string, named uuid.UUID) bool {
	if named == uuid.Nil {
		return true
	}
	acting, ok := actingPractitioner(c)
	if !ok || acting == named {
		return true
	}
	writeOutcome(c, http.StatusUnprocessableEntity, fhirIssue(fhir.IssueBusinessRule,
		element+": names Practitioner/"+named.String()+", who is not the practitioner acting; the "+role+
			" recorded is always the person the token names: leave "+role+" out, or name yourself", element))
	return false
}

// runV1 runs handler, the /v1 create at path, as if the /v1 body had been
// sent there: the request's token, headers and audit record are the FHIR
// request's own, and the answer is held. It returns a successful answer's
// body; a refusal it has answered as an OperationOutcome whose elements
// come from elements.
func (s *fhirRoutes) runV1(c *gin.Context, path string, handler gin.HandlerFunc, body any, elements fhir.ElementMap) ([]byte, bool) {
	raw, err := json.Marshal(body)
	if err != nil {
		s.fhirFail(c, err, nil)
		return nil, false
	}
	specs, err := v1CreateSpecs()
	if err != nil {
		s.fhirFail(c, err, nil)
		return nil, false
	}
	orig := c.Request
	r := orig.Clone(orig.Context())
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery = path, "", ""
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
	r.Header.Set("Content-Type", "application/json")
	held := newBufferedWriter(c.Writer)
	c.Request, c.Writer = r, held
	func() {
		// A handler's panic reaches the recovery middleware with the FHIR
		// request and writer back in place.
		defer func() { c.Request, c.Writer = orig, held.ResponseWriter }()
		in := &inputCheck{spec: specs[http.MethodPost+" "+path]}
		if in.body(c) && !in.refuse(c) {
			handler(c)
		}
	}()
	// The /v1 answer's own headers name /v1 things; Idempotent-Replayed
	// holds for both.
	h := c.Writer.Header()
	for _, k := range []string{"Location", "ETag", "Content-Type", "Content-Length"} {
		h.Del(k)
	}
	if held.status >= http.StatusBadRequest {
		s.v1Refused(c, held.status, held.body.Bytes(), elements)
		return nil, false
	}
	return held.body.Bytes(), true
}

// v1Refused answers a /v1 refusal (the error envelope) as an
// OperationOutcome of the same status: one issue per field refused, each
// naming the resource's element the field was read from, its diagnostics
// opening with the /v1 error code.
func (s *fhirRoutes) v1Refused(c *gin.Context, status int, body []byte, elements fhir.ElementMap) {
	var e ErrorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		s.fhirFail(c, fmt.Errorf("a /v1 create refused with %d and no error envelope", status), nil)
		return
	}
	code := issueTypeOf(status)
	extra := ""
	if len(e.Candidates) > 0 {
		names := make([]string, len(e.Candidates))
		for i, cand := range e.Candidates {
			names[i] = cand.Name + " (" + cand.ID + ")"
		}
		extra = " Candidates: " + strings.Join(names, ", ") + "."
	}
	issues := make([]fhir.Issue, 0, len(e.Details))
	for _, d := range e.Details {
		el, ok := elements.Element(d.Field)
		if !ok {
			el = d.Field
		}
		issues = append(issues, fhirIssue(code, e.Error+": "+el+" "+d.Message+"."+extra, el))
	}
	if len(issues) == 0 {
		issues = append(issues, fhirIssue(code, e.Error+": "+e.Message+extra))
	}
	writeOutcome(c, status, issues...)
}

// fhirCreated answers a create: 201 with the resource as stored, where it
// is read (Location; the server serves no version reads) and its version.
func fhirCreated(c *gin.Context, typ string, id uuid.UUID, version int, resource any) {
	c.Header("Location", fhirBaseURL(c)+"/"+typ+"/"+id.String())
	c.Header("ETag", fhirETag(version))
	if prefersMinimal(c) {
		c.Header("Preference-Applied", "return=minimal")
		c.Status(http.StatusCreated)
		return
	}
	writeFHIR(c, http.StatusCreated, resource)
}
