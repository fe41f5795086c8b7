package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/outbox"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// DiagnosticStore is the diagnostic reports' read model: one row per order.
type DiagnosticStore interface {
	// Create stores a new order (its report, registered) with its
	// idempotency key, audit record and workflow start row before its
	// workflow starts; replay reports a repeated key.
	Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, r diagnostic.Report,
		starts ...outbox.WorkflowStart) (stored diagnostic.Report, replay bool, err error)
	// MarkStarted records that the API started the workflow itself.
	MarkStarted(ctx context.Context, workflowID string) error
	Get(ctx context.Context, id uuid.UUID) (diagnostic.Report, error)
	List(ctx context.Context, f diagnostic.ReportFilter) (diagnostic.ReportPage, error)
	// Summaries are what the quality metrics read of the orders placed
	// within [from, to), of one priority and ordered item when given.
	Summaries(ctx context.Context, from, to time.Time, priority diagnostic.Priority, test string) ([]diagnostic.Summary, error)
}

// Diagnostic error codes.
const (
	// CodeVerifierRequired: only a verifier of the report's discipline (a
	// laboratory scientist for a laboratory report, a radiologist for
	// imaging) verifies, amends or corrects it.
	CodeVerifierRequired = "VERIFIER_REQUIRED"
	// CodeClinicianRequired: only a physician releases a report to the
	// patient ahead of its time.
	CodeClinicianRequired = "CLINICIAN_REQUIRED"
	// CodeReceiverRequired: only the orderer, a physician or a nurse takes
	// a critical result by reading it back themselves.
	CodeReceiverRequired = "RECEIVER_REQUIRED"
	// CodeUnreviewedFlags: the report is verified only once every
	// delta-check flag is reviewed.
	CodeUnreviewedFlags = "UNREVIEWED_FLAGS"
	// CodeReadBackMismatch: the critical value read back is not the
	// result; the callback stays open.
	CodeReadBackMismatch = "READBACK_MISMATCH"
)

// Audit entity types of the diagnostic routes.
const (
	entityServiceRequest   = "ServiceRequest"
	entityDiagnosticReport = "DiagnosticReport"
	entitySpecimen         = "Specimen"
	entityImagingStudy     = "ImagingStudy"
	entityTestCatalogue    = "ActivityDefinition"
	entityMeasureReport    = "MeasureReport"
)

// Where the diagnostic routes live.
const (
	ordersPath  = "/v1/diagnostics/orders"
	reportsPath = "/v1/diagnostics/reports"
)

// embeddedCatalogue is the test catalogue built into the binary, parsed
// once, for routers built without one of their own.
var embeddedCatalogue = sync.OnceValues(diagnostic.Embedded)

// diagnosticRoutes serve /v1/diagnostics: the reports' read model, the test
// catalogue orders resolve against, the observation service that stores
// the results, the patients and encounters an order names, the directory
// that says who verifies and who releases, and the Temporal client that
// drives each report's workflow.
type diagnosticRoutes struct {
	*edge
	store        DiagnosticStore
	catalogue    *diagnostic.Catalogue
	observations *observationRoutes
	patients     patientLookup
	encounters   cdsEncounters
	directory    CareTeam
	temporal     client.Client
}

func (s *diagnosticRoutes) routes() []Route {
	const (
		orderR, orderW   = "system/ServiceRequest.read", "system/ServiceRequest.write"
		specimenW        = "system/Specimen.write"
		reportR, reportW = "system/DiagnosticReport.read", "system/DiagnosticReport.write"
		order, report    = ordersPath + "/:id", reportsPath + "/:id"
		callback         = report + "/callbacks/:observationId"
		specimen         = order + "/specimens/:accession"
		orders, reports  = entityServiceRequest, entityDiagnosticReport
		specimens        = entitySpecimen
	)
	// A step answers the order's view (orderedView: no results) or the
	// report's.
	const orderedView = true
	step := func(path, scope, entity string, asOrder bool, newBody func() stepBody) Route {
		return Route{http.MethodPost, path, scope, entity, s.step(asOrder, newBody)}
	}
	return []Route{
		{http.MethodPost, ordersPath, orderW, orders, s.create},
		{http.MethodGet, order, orderR, orders, s.getOrder},
		{http.MethodGet, "/v1/diagnostics/catalogue", orderR, entityTestCatalogue, s.listCatalogue},
		// The orderer cancels the order; the specimens' steps answer the
		// order's view, which holds no results.
		step(order+"/cancel", orderW, orders, orderedView, func() stepBody { return &cancelOrderBody{} }),
		step(order+"/specimens", specimenW, specimens, orderedView, func() stepBody { return &collectBody{} }),
		step(specimen+"/receive", specimenW, specimens, orderedView, func() stepBody { return &receiveBody{} }),
		step(specimen+"/reject", specimenW, specimens, orderedView, func() stepBody { return &rejectBody{} }),
		{http.MethodPost, order + "/results", reportW, reports, s.recordResults},
		step(order+"/studies", reportW, entityImagingStudy, false, func() stepBody { return &linkStudyBody{} }),
		step(report+"/flags/:flagId/review", reportW, reports, false, func() stepBody { return &reviewFlagBody{} }),
		step(report+"/verify", reportW, reports, false, func() stepBody { return &verifyReportBody{} }),
		// A physician releases the report to the patient as the order's
		// clinician; any reader records an opening.
		step(report+"/release", orderW, reports, orderedView, func() stepBody { return &releaseBody{} }),
		step(report+"/open", reportR, reports, false, func() stepBody { return &openReportBody{} }),
		step(report+"/amend", reportW, reports, false, func() stepBody { return &amendReportBody{} }),
		{http.MethodPost, report + "/correct", reportW, reports, s.correct},
		step(report+"/withdraw", reportW, reports, false, func() stepBody { return &withdrawReportBody{} }),
		step(callback+"/attempt", reportW, reports, false, func() stepBody { return &attemptBody{} }),
		step(callback+"/confirm", reportW, reports, false, func() stepBody { return &confirmBody{} }),
		// The receiver reads a critical result back themselves: a reader
		// of the report who is its orderer, a physician or a nurse.
		step(callback+"/read-back", reportR, reports, false, func() stepBody { return &readBackBody{} }),
		step(callback+"/close", reportW, reports, false, func() stepBody { return &closeCallbackBody{} }),
		{http.MethodGet, reportsPath, reportR, reports, s.list},
		{http.MethodGet, report, reportR, reports, s.getReport},
		{http.MethodGet, "/v1/diagnostics/metrics", reportR, entityMeasureReport, s.metrics},
	}
}

// tests is the catalogue orders resolve against: the router's, or the one
// built into the binary.
func (s *diagnosticRoutes) tests() (*diagnostic.Catalogue, error) {
	if s.catalogue != nil {
		return s.catalogue, nil
	}
	return embeddedCatalogue()
}

// createDiagnosticOrderBody is POST /v1/diagnostics/orders. The orderer is the
// person acting, never a field.
type createDiagnosticOrderBody struct {
	PatientID           string              `json:"patientId"`
	EncounterID         string              `json:"encounterId"`
	Tests               []string            `json:"tests"`
	Priority            diagnostic.Priority `json:"priority"`
	ClinicalInformation string              `json:"clinicalInformation"`
	SpecimenNotes       string              `json:"specimenNotes"`
}

// orderFields are the API's names of the fields the domain names otherwise.
var orderFields = map[string]string{"clinicalInfo": "clinicalInformation"}

// create places an order: its tests are resolved against the catalogue
// (an unknown code is refused on its item, tests[i]), the report, its
// idempotency key, audit record and workflow start row commit, and the
// workflow starts at once; should that start fail, the workflow starter
// starts it from the row. 201 with the order's view.
func (s *diagnosticRoutes) create(c *gin.Context) {
	var b createDiagnosticOrderBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	orderer, ok := actor(c, "", "")
	if !ok {
		return
	}
	cat, err := s.tests()
	if err != nil {
		s.fail(c, err)
		return
	}
	verr := &domain.ValidationError{}
	patientID := bodyUUID(verr, "patientId", b.PatientID)
	var encounterID *uuid.UUID
	if b.EncounterID != "" {
		if id := bodyUUID(verr, "encounterId", b.EncounterID); id != uuid.Nil {
			encounterID = &id
		}
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	r, err := diagnosticflow.NewOrder(diagnostic.Request{ID: id, PatientID: patientID, EncounterID: encounterID, Tests: b.Tests,
		Priority: b.Priority, ClinicalInfo: b.ClinicalInformation, SpecimenNotes: b.SpecimenNotes, OrdererID: orderer,
		CreatedAt: s.now()}, cat)
	if err = mergeValidation(verr, renameFields(err, orderFields)); err != nil {
		s.fail(c, err)
		return
	}
	if !s.patientKnown(c, s.patients, patientID) {
		return
	}
	unit, ok := s.encounterUnit(c, s.encounters, patientID, encounterID)
	if !ok {
		return
	}
	in, starts, err := diagnosticflow.Placement(r, unit)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	a := auditOf(c)
	a.about(audit.ActionCreate, entityDiagnosticReport, id.String(), &patientID)
	stored, replay, err := s.store.Create(ctx, idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), r, starts...)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	if replay {
		c.Header("Idempotent-Replayed", "true")
	} else {
		s.startWorkflow(ctx, in)
	}
	c.Header("Location", ordersPath+"/"+stored.Order.ID.String())
	c.JSON(http.StatusCreated, orderViewOf(stored, s.now()))
}

// renameFields gives the fields of a validation error the API's names.
func renameFields(err error, names map[string]string) error {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	out := &domain.ValidationError{}
	for _, f := range verr.Fields {
		if name, ok := names[f.Field]; ok {
			f.Field = name
		}
		out.Add(f.Field, f.Message)
	}
	return out
}

// startWorkflow starts the new order's workflow right after its commit and
// marks its start row; a failure is left to the workflow starter, which
// starts it from the row after diagnosticflow.StartGrace.
func (s *diagnosticRoutes) startWorkflow(ctx context.Context, in diagnosticflow.Input) {
	id := in.Report.Order.ID
	if _, err := diagnosticflow.Start(ctx, s.temporal, in); err != nil {
		s.log.WarnContext(ctx, "diagnostic workflow not started now; the workflow starter will start it",
			"orderId", id, "error", err)
		return
	}
	if err := s.store.MarkStarted(context.WithoutCancel(ctx), diagnosticflow.WorkflowID(id)); err != nil {
		s.log.WarnContext(ctx, "diagnostic workflow started, start row not marked; the starter will find it running",
			"orderId", id, "error", err)
	}
}

// closedStatus reads the status of a report whose workflow has closed.
func (s *diagnosticRoutes) closedStatus(id uuid.UUID) closedStatus {
	return func(ctx context.Context) (string, bool) {
		r, err := s.store.Get(ctx, id)
		if err != nil {
			return "", false
		}
		return string(r.Status), true
	}
}

// holds reports whether the practitioner is active in the care-team
// directory with one of roles.
func (s *diagnosticRoutes) holds(c *gin.Context, who uuid.UUID, roles ...careteam.Role) (bool, bool) {
	if s.directory == nil {
		return false, true
	}
	p, err := s.directory.GetPractitioner(c.Request.Context(), who)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return false, true
	case err != nil:
		s.fail(c, err)
		return false, false
	}
	return p.Active && slices.ContainsFunc(roles, p.HasRole), true
}

// verifierRole is the role the person acting verifies, amends or corrects
// report r in, from the care-team directory: a laboratory report is a
// pathologist's or a laboratory scientist's (care-team roles pathologist
// and lab; a pathologist signs as one when they hold both), an imaging
// report a radiologist's. False, having answered 403 VERIFIER_REQUIRED,
// when the person may not.
func (s *diagnosticRoutes) verifierRole(c *gin.Context, who uuid.UUID, r diagnostic.Report) (diagnostic.Role, bool) {
	type signer struct {
		team careteam.Role
		as   diagnostic.Role
	}
	signers := []signer{{careteam.RolePathologist, diagnostic.RolePathologist}, {careteam.RoleLab, diagnostic.RoleLaboratoryScientist}}
	refusal := "Only a pathologist or a laboratory scientist (care-team roles " + string(careteam.RolePathologist) +
		", " + string(careteam.RoleLab) + ") verifies, amends or corrects a laboratory report."
	if r.Order.Imaging() {
		signers = []signer{{careteam.RoleRadiologist, diagnostic.RoleRadiologist}}
		refusal = "Only a radiologist (care-team role " + string(careteam.RoleRadiologist) + ") verifies, amends or corrects an imaging report."
	}
	for _, sg := range signers {
		holds, ok := s.holds(c, who, sg.team)
		if !ok {
			return "", false
		}
		if holds {
			return sg.as, true
		}
	}
	abort(c, http.StatusForbidden, CodeVerifierRequired, refusal)
	return "", false
}

// load reads report id from the read model, answering 404 when there is
// none.
func (s *diagnosticRoutes) load(c *gin.Context, id uuid.UUID) (diagnostic.Report, bool) {
	r, err := s.store.Get(c.Request.Context(), id)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such diagnostic order or report.")
		return r, false
	case err != nil:
		s.fail(c, err)
		return r, false
	}
	return r, true
}

// diagnosticIDMessage is the refusal of a malformed order or report id.
const diagnosticIDMessage = "must be a diagnostic order id (UUID); a report's id is its order's"
