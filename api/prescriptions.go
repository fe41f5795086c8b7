package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/prescription"
	prescriptionflow "github.com/zarish-sphere/zarish/workflows/prescription"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// PrescriptionStore is the prescriptions' read model.
type PrescriptionStore interface {
	// Create stores a new prescription with its idempotency key, audit
	// record and workflow start row before its workflow starts; replay
	// reports a repeated key.
	Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, p prescription.Prescription,
		starts ...outbox.WorkflowStart) (stored prescription.Prescription, replay bool, err error)
	// MarkStarted records that the API started the workflow itself.
	MarkStarted(ctx context.Context, workflowID string) error
	Get(ctx context.Context, id uuid.UUID) (prescription.Prescription, error)
	List(ctx context.Context, f prescription.Filter) (prescription.Page, error)
	History(ctx context.Context, patientID uuid.UUID) ([]prescription.Prescription, error)
}

// Prescription error codes.
const (
	// CodePharmacistRequired: only a pharmacist may take this step.
	CodePharmacistRequired = "PHARMACIST_REQUIRED"
	// CodeNewFindings: verification ran the checks again and they found
	// something new; the prescription is on hold with the findings.
	CodeNewFindings = "NEW_FINDINGS"
)

// checksWait bounds how long placing an order waits for its first checks;
// past it the answer is 202 with the draft, and the checks' outcome is read
// with GET.
const checksWait = 10 * time.Second

const entityPrescription = "MedicationRequest"

// prescriptionRoutes serve /v1/medications/prescriptions and the patient's
// medication history: the read model, the knowledge base that resolves the
// ordered drug, the patients and encounters an order names, the directory
// that says who is a pharmacist, and the Temporal client that drives each
// prescription's workflow.
type prescriptionRoutes struct {
	*edge
	store      PrescriptionStore
	kb         *medication.Registry
	patients   patientLookup
	encounters cdsEncounters
	directory  CareTeam
	temporal   client.Client
}

func (s *prescriptionRoutes) routes() []Route {
	const scopeR, scopeW = "system/MedicationRequest.read", "system/MedicationRequest.write"
	const base = "/v1/medications/prescriptions"
	step := func(name, scope string, newReq func() prescriptionflow.Request) Route {
		return Route{http.MethodPost, base + "/:id/" + name, scope, entityPrescription, s.step(newReq)}
	}
	return []Route{
		{http.MethodPost, base, scopeW, entityPrescription, s.create},
		{http.MethodGet, base, scopeR, entityPrescription, s.list},
		{http.MethodGet, base + "/:id", scopeR, entityPrescription, s.get},
		{http.MethodGet, "/v1/medications/history", scopeR, entityPrescription, s.history},
		step("override", scopeW, func() prescriptionflow.Request { return &prescriptionflow.OverrideRequest{} }),
		step("verify", scopeW, func() prescriptionflow.Request { return &prescriptionflow.VerifyRequest{} }),
		step("dispense", "system/MedicationDispense.write", func() prescriptionflow.Request { return &prescriptionflow.DispenseRequest{} }),
		step("administer", "system/MedicationAdministration.write", func() prescriptionflow.Request { return &prescriptionflow.AdministerRequest{} }),
		step("discontinue", scopeW, func() prescriptionflow.Request { return &prescriptionflow.DiscontinueRequest{} }),
		step("cancel", scopeW, func() prescriptionflow.Request { return &prescriptionflow.CancelRequest{} }),
	}
}

// medicationBody names the ordered drug by RxNorm code or by name.
type medicationBody struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// quantityBody is an amount and its unit.
type quantityBody struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// createPrescriptionBody is POST /v1/medications/prescriptions. The
// prescriber is the person acting, never a field.
type createPrescriptionBody struct {
	PatientID    string         `json:"patientId"`
	EncounterID  string         `json:"encounterId"`
	Medication   medicationBody `json:"medication"`
	Dose         quantityBody   `json:"dose"`
	Route        string         `json:"route"`
	Frequency    string         `json:"frequency"`
	DosesPerDay  float64        `json:"dosesPerDay"`
	DurationDays float64        `json:"durationDays"`
	PRN          bool           `json:"prn"`
	Indication   string         `json:"indication"`
	Quantity     *quantityBody  `json:"quantity"`
}

// create places an order: the drug is resolved against the active knowledge
// base (or refused with candidates), the draft, its idempotency key, audit
// record and workflow start row commit, the workflow starts at once, and the
// answer waits for the first checks: 201 active or on hold with the
// findings, or 202 with the draft when the checks take longer than
// checksWait.
func (s *prescriptionRoutes) create(c *gin.Context) {
	var b createPrescriptionBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	prescriber, ok := actor(c, "", "")
	if !ok {
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
	kb := s.kb.Active()
	code, name := strings.TrimSpace(b.Medication.Code), strings.TrimSpace(b.Medication.Name)
	if code == "" && name == "" {
		verr.Add("medication", "required: an RxNorm code (medication.code) or a name (medication.name)")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	drug, err := kb.Resolve(code, name)
	if err != nil {
		s.unknownMedication(c, err)
		return
	}
	ctx := c.Request.Context()
	if !s.patientKnown(c, s.patients, patientID) {
		return
	}
	unit, ok := s.encounterUnit(c, s.encounters, patientID, encounterID)
	if !ok {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	d := prescription.Details{
		ID: id, PatientID: patientID, EncounterID: encounterID, Unit: unit, Drug: drug, PrescriberID: prescriber,
		Order: medication.Order{Code: code, Name: name, Dose: b.Dose.Value, DoseUnit: strings.TrimSpace(b.Dose.Unit),
			Route: strings.TrimSpace(b.Route), Frequency: strings.TrimSpace(b.Frequency), DosesPerDay: b.DosesPerDay,
			DurationDays: b.DurationDays, PRN: b.PRN, Indication: strings.TrimSpace(b.Indication)},
		// PostgreSQL keeps microseconds: the workflow's state starts where
		// the row's does.
		CreatedAt: s.now().UTC().Truncate(time.Microsecond),
	}
	if d.Order.Code == "" {
		d.Order.Code = drug.ID
	}
	if b.Quantity != nil {
		d.Quantity = prescription.Quantity{Value: b.Quantity.Value, Unit: strings.TrimSpace(b.Quantity.Unit)}
	}
	p, err := prescription.New(d)
	if err != nil {
		s.fail(c, err)
		return
	}
	in := prescriptionflow.Input{Prescription: p}
	starts, err := prescriptionflow.Starts(in)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entityPrescription, id.String(), &patientID)
	stored, replay, err := s.store.Create(ctx, idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), p, starts...)
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
	c.Header("Location", "/v1/medications/prescriptions/"+stored.Details.ID.String())
	if stored.Status != prescription.StatusDraft {
		c.JSON(http.StatusCreated, prescriptionflow.ViewOf(stored))
		return
	}
	wctx, cancel := context.WithTimeout(ctx, checksWait)
	defer cancel()
	checked, err := prescriptionflow.AwaitChecked(wctx, s.temporal, stored.Details.ID)
	if err != nil {
		s.log.WarnContext(ctx, "prescription stored; its checks are still running", "prescriptionId", id, "error", err)
		c.JSON(http.StatusAccepted, prescriptionflow.ViewOf(stored))
		return
	}
	c.JSON(http.StatusCreated, prescriptionflow.ViewOf(checked))
}

// unknownMedication answers a drug that did not resolve: 422 with the
// candidates it may have meant.
func (s *prescriptionRoutes) unknownMedication(c *gin.Context, err error) {
	var re *medication.ResolveError
	if !errors.As(err, &re) {
		s.fail(c, err)
		return
	}
	msg := "The medication is not one the knowledge base knows."
	if errors.Is(err, medication.ErrAmbiguousDrug) {
		msg = "The medication's name matches more than one drug; name one of the candidates."
	}
	c.AbortWithStatusJSON(http.StatusUnprocessableEntity, ErrorBody{
		Error: CodeUnknownMedication, Message: msg, RequestID: requestID(c),
		Details:    []domain.FieldError{{Field: "medication", Message: re.Reason.Error()}},
		Candidates: re.Candidates,
	})
}

// startWorkflow starts the new prescription's workflow right after its
// commit and marks its start row; a failure is left to the workflow
// starter, which starts it from the row after prescriptionflow.StartGrace.
func (s *prescriptionRoutes) startWorkflow(ctx context.Context, in prescriptionflow.Input) {
	id := in.Prescription.Details.ID
	if _, err := prescriptionflow.Start(ctx, s.temporal, in); err != nil {
		s.log.WarnContext(ctx, "prescription workflow not started now; the workflow starter will start it",
			"prescriptionId", id, "error", err)
		return
	}
	if err := s.store.MarkStarted(context.WithoutCancel(ctx), prescriptionflow.WorkflowID(id)); err != nil {
		s.log.WarnContext(ctx, "prescription workflow started, start row not marked; the starter will find it running",
			"prescriptionId", id, "error", err)
	}
}

// step serves POST /v1/medications/prescriptions/{id}/{step}: a Temporal
// Update whose validator refuses an invalid step before anything reaches the
// workflow's history. The person acting is the token's; verification,
// dispensing and overriding as a pharmacist need the pharmacist role in the
// care-team directory. The request's audit record commits with the
// read-model write.
func (s *prescriptionRoutes) step(newReq func() prescriptionflow.Request) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := uuidParam(c, "must be a prescription id (UUID)")
		if !ok {
			return
		}
		req := newReq()
		raw := readJSON(c, req)
		if raw == nil {
			return
		}
		ctx, ok := s.stepContext(c, raw, id)
		if !ok {
			return
		}
		who, ok := actor(c, "by", namedID(req.Actor()))
		if !ok {
			return
		}
		req.SetActor(who)
		pharmacist, ok := s.isPharmacist(c, who)
		if !ok {
			return
		}
		switch r := req.(type) {
		case *prescriptionflow.OverrideRequest:
			r.Role = prescription.RolePrescriber
			if pharmacist {
				r.Role = prescription.RolePharmacist
			}
		case *prescriptionflow.VerifyRequest, *prescriptionflow.DispenseRequest:
			if !pharmacist {
				abort(c, http.StatusForbidden, CodePharmacistRequired, "Only a pharmacist verifies and dispenses a prescription.")
				return
			}
		case *prescriptionflow.AdministerRequest:
			if r.At.IsZero() {
				r.At = s.now()
			}
		}
		a := auditOf(c)
		a.about(audit.ActionUpdate, entityPrescription, id.String(), nil)
		state, err := prescriptionflow.Step(ctx, s.temporal, id,
			process.WithAudit(req, a.forWrite(c, audit.ActionUpdate, http.StatusOK)))
		if err != nil {
			s.workflowFailure(c, err, "No such prescription.", s.closedStatus(id))
			return
		}
		a.stored()
		if _, verify := req.(*prescriptionflow.VerifyRequest); verify && state.VerifiedBy == nil {
			abort(c, http.StatusConflict, CodeNewFindings,
				"The checks, run again for verification, found something new: the prescription is on hold. "+
					"GET it for the findings; override or cancel it.",
				domain.FieldError{Field: "status", Message: string(state.Status)})
			return
		}
		c.JSON(http.StatusOK, prescriptionflow.ViewOf(state))
	}
}

// isPharmacist reports whether the practitioner holds the pharmacist role
// in the care-team directory.
func (s *prescriptionRoutes) isPharmacist(c *gin.Context, who uuid.UUID) (bool, bool) {
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
	return p.Active && slices.Contains(p.Roles, careteam.RolePharmacist), true
}

// closedStatus reads the status of a prescription whose workflow has closed.
func (s *prescriptionRoutes) closedStatus(id uuid.UUID) closedStatus {
	return func(ctx context.Context) (string, bool) {
		p, err := s.store.Get(ctx, id)
		if err != nil {
			return "", false
		}
		return string(p.Status), true
	}
}

func (s *prescriptionRoutes) list(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "status", "limit", "cursor")
	f := prescription.Filter{Cursor: c.Query("cursor")}
	if p := optionalUUID(c, "patientId", verr); p != nil {
		f.PatientID = *p
	}
	if st := prescription.Status(c.Query("status")); st != "" {
		if !st.Valid() {
			verr.Add("status", "must be draft, on-hold, active, cancelled, stopped or completed")
		}
		f.Status = st
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	var patient *uuid.UUID
	if f.PatientID != uuid.Nil {
		patient = &f.PatientID
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, entityPrescription, "", patient)
	page, err := s.store.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, p := range page.Prescriptions {
		a.disclosed(p.Details.PatientID)
	}
	c.JSON(http.StatusOK, pageBody(prescriptionflow.ViewsOf(page.Prescriptions), page.Next))
}

func (s *prescriptionRoutes) get(c *gin.Context) {
	id, ok := uuidParam(c, "must be a prescription id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityPrescription, id.String(), nil)
	p, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		if errors.Is(err, domain.ErrNotFound) {
			abort(c, http.StatusNotFound, CodeNotFound, "No such prescription.")
			return
		}
		s.fail(c, err)
		return
	}
	a.rec.PatientID = &p.Details.PatientID
	if notModified(c, p.Version) {
		return
	}
	c.Header("ETag", etag(p.Version))
	c.JSON(http.StatusOK, prescriptionflow.ViewOf(p))
}

// history serves GET /v1/medications/history?patientId=: every medication
// the patient was ever prescribed, open ones first, each with its timeline.
func (s *prescriptionRoutes) history(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId")
	patient := optionalUUID(c, "patientId", verr)
	if patient == nil && len(verr.Fields) == 0 {
		verr.Add("patientId", "required")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, entityPrescription, "", patient)
	list, err := s.store.History(c.Request.Context(), *patient)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"patientId": patient.String(), "data": prescriptionflow.ViewsOf(list)})
}
