package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// stepBody is the body of one step of a report: the person it names as
// acting (uuid.Nil when it names none), and the workflow's request it asks
// for, made with the path's parameters at now. The request's actor is set
// afterwards, from the token.
type stepBody interface {
	named() uuid.UUID
	request(c *gin.Context, now time.Time) (diagnosticflow.Request, error)
}

// byField is the "by" every step's body may hold: it may name the person
// acting, and naming anyone else is 403 ACTOR_MISMATCH.
type byField struct {
	By uuid.UUID `json:"by"`
}

func (b byField) named() uuid.UUID { return b.By }

// cancelOrderBody is POST …/orders/{id}/cancel.
type cancelOrderBody struct {
	byField
	Reason string `json:"reason"`
}

func (b *cancelOrderBody) request(*gin.Context, time.Time) (diagnosticflow.Request, error) {
	if err := requiredText("reason", b.Reason); err != nil {
		return nil, err
	}
	return &diagnosticflow.CancelRequest{Reason: b.Reason}, nil
}

// collectBody is POST …/orders/{id}/specimens: a tube drawn by the person
// acting, now unless collectedAt says when.
type collectBody struct {
	byField
	Container   string     `json:"container"`
	AccessionID string     `json:"accessionId"`
	CollectedAt *time.Time `json:"collectedAt"`
}

func (b *collectBody) request(_ *gin.Context, now time.Time) (diagnosticflow.Request, error) {
	verr := &domain.ValidationError{}
	if strings.TrimSpace(b.Container) == "" {
		verr.Add("container", "required: the tube the order needs (see the order's awaiting)")
	}
	if strings.TrimSpace(b.AccessionID) == "" {
		verr.Add("accessionId", "required: the tube's label")
	}
	if err := verr.OrNil(); err != nil {
		return nil, err
	}
	at := now
	if b.CollectedAt != nil {
		at = *b.CollectedAt
	}
	return &diagnosticflow.CollectRequest{Collection: diagnostic.Collection{
		Accession: strings.TrimSpace(b.AccessionID), Container: strings.TrimSpace(b.Container), CollectedAt: at,
	}}, nil
}

// receiveBody is POST …/orders/{id}/specimens/{accession}/receive.
type receiveBody struct{ byField }

func (b *receiveBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	return &diagnosticflow.ReceiveRequest{Accession: c.Param("accession")}, nil
}

// rejectBody is POST …/orders/{id}/specimens/{accession}/reject.
type rejectBody struct {
	byField
	Reason diagnostic.RejectionReason `json:"reason"`
	Note   string                     `json:"note"`
}

func (b *rejectBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	if !b.Reason.Valid() {
		return nil, fieldProblem("reason", "must be one of "+choices(diagnostic.RejectionReasons))
	}
	return &diagnosticflow.RejectRequest{Accession: c.Param("accession"), Reason: b.Reason, Note: b.Note}, nil
}

// linkStudyBody is POST …/orders/{id}/studies: the imaging study a
// modality or the archive performed for the order, as DICOM names it. The
// study's record id follows from the order and its study instance UID, so
// sending the same study again updates its record (more series, available
// once its images can be read) instead of adding a second one.
type linkStudyBody struct {
	byField
	StudyUID          string                 `json:"studyUid"`
	ProcedureCode     string                 `json:"procedureCode"`
	Modalities        []string               `json:"modalities"`
	BodySite          *diagnostic.Coding     `json:"bodySite"`
	Started           *time.Time             `json:"started"`
	Series            []diagnostic.Series    `json:"series"`
	NumberOfSeries    int                    `json:"numberOfSeries"`
	NumberOfInstances int                    `json:"numberOfInstances"`
	Status            diagnostic.StudyStatus `json:"status"`
}

func (b *linkStudyBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	if err := diagnostic.CheckUID(b.StudyUID); err != nil {
		return nil, fieldProblem("studyUid", strings.TrimPrefix(err.Error(), diagnostic.ErrInvalidArgument.Error()+": "))
	}
	orderID, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return nil, fieldProblem("id", diagnosticIDMessage)
	}
	status := b.Status
	if status == "" {
		status = diagnostic.StudyAvailable
	}
	return &diagnosticflow.LinkStudyRequest{Study: diagnostic.ImagingStudy{
		ID: StudyID(orderID, b.StudyUID), ReportID: orderID, ProcedureCode: strings.TrimSpace(b.ProcedureCode),
		StudyUID: b.StudyUID, Modalities: b.Modalities, BodySite: b.BodySite, Started: b.Started, Series: b.Series,
		NumberOfSeries: b.NumberOfSeries, NumberOfInstances: b.NumberOfInstances, Status: status,
	}}, nil
}

// StudyID is the record id of the imaging study studyUID of an order.
func StudyID(orderID uuid.UUID, studyUID string) uuid.UUID {
	return uuid.NewSHA1(orderID, []byte("imaging-study/"+studyUID))
}

// reviewFlagBody is POST …/reports/{id}/flags/{flagId}/review.
type reviewFlagBody struct {
	byField
	Note string `json:"note"`
}

func (b *reviewFlagBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	if err := requiredText("note", b.Note); err != nil {
		return nil, err
	}
	return &diagnosticflow.ReviewFlagRequest{FlagID: flagID(c.Param("flagId")), Note: b.Note}, nil
}

// flagSeparator stands for "/" in a flag id written as a path segment: a
// flag's id is "<observationId>/<code>/<rule>", and a path segment cannot
// hold a slash.
const flagSeparator = "~"

// flagID is the flag id a path segment names.
func flagID(segment string) string { return strings.ReplaceAll(segment, flagSeparator, "/") }

// verifyReportBody is POST …/reports/{id}/verify: the conclusion and its
// SNOMED CT codes; the verifier's role comes from the care-team directory.
type verifyReportBody struct {
	byField
	Conclusion string              `json:"conclusion"`
	Codes      []diagnostic.Coding `json:"codes"`
}

func (b *verifyReportBody) request(*gin.Context, time.Time) (diagnosticflow.Request, error) {
	return &diagnosticflow.VerifyRequest{Verification: diagnostic.Verification{Conclusion: b.Conclusion, Codes: b.Codes}}, nil
}

// releaseBody is POST …/reports/{id}/release.
type releaseBody struct{ byField }

func (b *releaseBody) request(*gin.Context, time.Time) (diagnosticflow.Request, error) {
	return &diagnosticflow.ReleaseRequest{}, nil
}

// openReportBody is POST …/reports/{id}/open: the person acting opened
// the report as it stands, as a clinician reader.
type openReportBody struct{ byField }

func (b *openReportBody) request(*gin.Context, time.Time) (diagnosticflow.Request, error) {
	return &diagnosticflow.OpenRequest{Role: diagnostic.ReaderClinician}, nil
}

// amendReportBody is POST …/reports/{id}/amend: an addendum, a new
// conclusion, or the coded conclusions as they should stand (an empty list
// removes them all); what is left out stays.
type amendReportBody struct {
	byField
	Reason     string               `json:"reason"`
	Addendum   string               `json:"addendum"`
	Conclusion *string              `json:"conclusion"`
	Codes      *[]diagnostic.Coding `json:"codes"`
}

func (b *amendReportBody) request(*gin.Context, time.Time) (diagnosticflow.Request, error) {
	if err := requiredText("reason", b.Reason); err != nil {
		return nil, err
	}
	return &diagnosticflow.AmendRequest{Amendment: diagnostic.Amendment{Reason: b.Reason, Addendum: b.Addendum,
		Conclusion: b.Conclusion, Codes: b.Codes}}, nil
}

// withdrawReportBody is POST …/reports/{id}/withdraw: the report is
// entered in error.
type withdrawReportBody struct {
	byField
	Reason string `json:"reason"`
}

func (b *withdrawReportBody) request(*gin.Context, time.Time) (diagnosticflow.Request, error) {
	if err := requiredText("reason", b.Reason); err != nil {
		return nil, err
	}
	return &diagnosticflow.WithdrawRequest{Reason: b.Reason}, nil
}

// attemptBody is POST …/reports/{id}/callbacks/{observationId}/attempt:
// one try, by the person acting, to reach someone about a critical result.
type attemptBody struct {
	byField
	To      uuid.UUID  `json:"to"`
	Reached bool       `json:"reached"`
	Note    string     `json:"note"`
	At      *time.Time `json:"at"`
}

func (b *attemptBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	obs, err := observationParam(c)
	if err != nil {
		return nil, err
	}
	if b.To == uuid.Nil {
		return nil, fieldProblem("to", "required: the practitioner tried")
	}
	a := diagnostic.Attempt{To: b.To, Reached: b.Reached, Note: b.Note}
	if b.At != nil {
		a.At = *b.At
	}
	return &diagnosticflow.CallbackAttemptRequest{ObservationID: obs, Attempt: a}, nil
}

// confirmBody is POST …/reports/{id}/callbacks/{observationId}/confirm:
// the value as the receiver read it back, which must match the result. The
// receiver is the person last reached when receiver is left out.
type confirmBody struct {
	byField
	Value    string     `json:"value"`
	Receiver uuid.UUID  `json:"receiver"`
	At       *time.Time `json:"at"`
}

func (b *confirmBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	obs, err := observationParam(c)
	if err != nil {
		return nil, err
	}
	if err := requiredText("value", b.Value); err != nil {
		return nil, err
	}
	rb := diagnostic.ReadBack{Receiver: b.Receiver, Entered: b.Value}
	if b.At != nil {
		rb.At = *b.At
	}
	return &diagnosticflow.CallbackConfirmRequest{ObservationID: obs, ReadBack: rb}, nil
}

// readBackBody is POST …/reports/{id}/callbacks/{observationId}/read-back:
// the receiver reads the value back themselves, signed in — the token's
// practitioner is the receiver.
type readBackBody struct {
	byField
	Value string `json:"value"`
}

func (b *readBackBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	obs, err := observationParam(c)
	if err != nil {
		return nil, err
	}
	if err := requiredText("value", b.Value); err != nil {
		return nil, err
	}
	return &diagnosticflow.CallbackConfirmRequest{ObservationID: obs, ReadBack: diagnostic.ReadBack{Entered: b.Value}, InPerson: true}, nil
}

// closeCallbackBody is POST …/reports/{id}/callbacks/{observationId}/close:
// the callback ends without a read-back.
type closeCallbackBody struct {
	byField
	Outcome diagnostic.Outcome `json:"outcome"`
	Note    string             `json:"note"`
	At      *time.Time         `json:"at"`
}

func (b *closeCallbackBody) request(c *gin.Context, _ time.Time) (diagnosticflow.Request, error) {
	obs, err := observationParam(c)
	if err != nil {
		return nil, err
	}
	if b.Outcome != diagnostic.OutcomeReachedWithoutReadBack && b.Outcome != diagnostic.OutcomeUnableToReach {
		return nil, fieldProblem("outcome", "must be "+string(diagnostic.OutcomeReachedWithoutReadBack)+" or "+
			string(diagnostic.OutcomeUnableToReach)+" (a read-back confirms a callback)")
	}
	if err := requiredText("note", b.Note); err != nil {
		return nil, err
	}
	req := &diagnosticflow.CallbackCloseRequest{ObservationID: obs, Outcome: b.Outcome, Note: b.Note}
	if b.At != nil {
		req.At = *b.At
	}
	return req, nil
}

// observationParam reads the :observationId path parameter.
func observationParam(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("observationId"))
	if err != nil {
		return uuid.Nil, fieldProblem("observationId", "must be the critical result's observation id (UUID)")
	}
	return id, nil
}

// requiredText refuses text that is empty once trimmed.
func requiredText(field, text string) error {
	if strings.TrimSpace(text) == "" {
		return fieldProblem(field, "required")
	}
	return nil
}

// fieldProblem is a validation error naming one field.
func fieldProblem(field, message string) error {
	return &domain.ValidationError{Fields: []domain.FieldError{{Field: field, Message: message}}}
}

// choices lists codes for a message: "a, b, c".
func choices[T ~string](codes []T) string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = string(c)
	}
	return strings.Join(out, ", ")
}

// step serves POST on a report's step: a Temporal Update whose validator
// refuses an invalid step before anything reaches the workflow's history.
// The person acting is the token's; a verification, amendment or
// correction needs a verifier of the report's discipline, and a release a
// physician, both in the care-team directory. The request's audit record
// commits with the read-model write. asOrder answers the order's view (the
// steps of the order's scopes), else the report's.
func (s *diagnosticRoutes) step(asOrder bool, newBody func() stepBody) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := uuidParam(c, diagnosticIDMessage)
		if !ok {
			return
		}
		body := newBody()
		raw := readJSON(c, body)
		if raw == nil {
			return
		}
		ctx, ok := s.stepContext(c, raw, id)
		if !ok {
			return
		}
		who, ok := actor(c, "by", namedID(body.named()))
		if !ok {
			return
		}
		req, err := body.request(c, s.now().UTC())
		if err != nil {
			s.fail(c, err)
			return
		}
		req.SetActor(who)
		if !s.allowed(c, id, who, req) {
			return
		}
		a := auditOf(c)
		a.about(audit.ActionUpdate, entityDiagnosticReport, id.String(), nil)
		state, err := diagnosticflow.Step(ctx, s.temporal, id,
			process.WithAudit(req, a.forWrite(c, audit.ActionUpdate, http.StatusOK)))
		if err != nil {
			s.stepFailure(c, err, id)
			return
		}
		a.stored()
		s.answer(c, http.StatusOK, state, asOrder)
	}
}

// allowed checks what a step needs beyond its scope, filling in what the
// API decides: the verifier's role, the reader's, the receiver of a
// read-back left out. It reports false when it has answered.
func (s *diagnosticRoutes) allowed(c *gin.Context, id, who uuid.UUID, req diagnosticflow.Request) bool {
	switch r := req.(type) {
	case *diagnosticflow.VerifyRequest:
		stored, ok := s.load(c, id)
		if !ok {
			return false
		}
		r.Role, ok = s.verifierRole(c, who, stored)
		return ok
	case *diagnosticflow.AmendRequest:
		stored, ok := s.load(c, id)
		if !ok {
			return false
		}
		_, ok = s.verifierRole(c, who, stored)
		return ok
	case *diagnosticflow.ReleaseRequest:
		physician, ok := s.holds(c, who, careteam.RolePhysician)
		if ok && !physician {
			abort(c, http.StatusForbidden, CodeClinicianRequired,
				"Only a physician (care-team role "+string(careteam.RolePhysician)+") releases a report to the patient.")
		}
		return ok && physician
	case *diagnosticflow.OpenRequest:
		return s.withinLaunch(c, id)
	case *diagnosticflow.LinkStudyRequest:
		// The study is of the order's patient: the record says who.
		stored, ok := s.load(c, id)
		r.Study.PatientID = stored.Order.PatientID
		return ok
	case *diagnosticflow.CallbackConfirmRequest:
		if r.InPerson {
			return s.mayReceive(c, id, who)
		}
		if r.ReadBack.Receiver == uuid.Nil {
			receiver, ok := s.lastReached(c, id, r.ObservationID)
			r.ReadBack.Receiver = receiver
			return ok
		}
	}
	return true
}

// withinLaunch keeps a token confined to its launch patient to that
// patient's reports: opening is a read, which the confinement lets through
// before it knows whose report it is.
func (s *diagnosticRoutes) withinLaunch(c *gin.Context, id uuid.UUID) bool {
	patient, ok := launchPatient(c)
	if !ok {
		return true
	}
	r, ok := s.load(c, id)
	if !ok {
		return false
	}
	if r.Order.PatientID != patient {
		refusePatientContext(c, "", "This token reaches only the patient it was launched for.")
		return false
	}
	return true
}

// lastReached is the person most recently reached about the critical
// result obs, for a read-back that names no receiver.
func (s *diagnosticRoutes) lastReached(c *gin.Context, id, obs uuid.UUID) (uuid.UUID, bool) {
	state, err := diagnosticflow.GetState(c.Request.Context(), s.temporal, id)
	if err != nil {
		s.stepFailure(c, err, id)
		return uuid.Nil, false
	}
	for _, cb := range state.Callbacks {
		if cb.ObservationID != obs || !cb.Open() {
			continue
		}
		for _, a := range slices.Backward(cb.Attempts) {
			if a.Reached {
				return a.To, true
			}
		}
	}
	fieldError(c, "receiver", "nobody was reached about this result yet: record the attempt that reached someone, or name the receiver")
	return uuid.Nil, false
}

// stepFailure answers a step the workflow refused: a read-back that does
// not match is 422 naming both values; the rest by the refusals table.
func (s *diagnosticRoutes) stepFailure(c *gin.Context, err error, id uuid.UUID) {
	if m, ok := diagnosticflow.MismatchOf(err); ok {
		abort(c, http.StatusUnprocessableEntity, CodeReadBackMismatch,
			fmt.Sprintf("The value read back (%s) is not the result (%s); the callback stays open: read the result to the receiver again.",
				m.ReadBack, m.Result),
			domain.FieldError{Field: "value", Message: "read back as " + m.ReadBack},
			domain.FieldError{Field: "result", Message: "the result is " + m.Result})
		return
	}
	s.workflowFailure(c, err, "No such diagnostic report.", s.closedStatus(id))
}

// answer writes the report as the route shows it: the order's view (no
// results) or the report's.
func (s *diagnosticRoutes) answer(c *gin.Context, status int, r diagnostic.Report, asOrder bool) {
	if asOrder {
		c.JSON(status, orderViewOf(r, s.now()))
		return
	}
	c.JSON(status, reportViewOf(r, s.now()))
}

// mayReceive reports whether who may take a critical result of report id
// themselves: its orderer, or a physician or nurse of the care-team
// directory (the licensed caregivers a critical result is given to, CLSI
// GP47). False, having answered 403 RECEIVER_REQUIRED, when not.
func (s *diagnosticRoutes) mayReceive(c *gin.Context, id, who uuid.UUID) bool {
	stored, ok := s.load(c, id)
	if !ok {
		return false
	}
	if stored.Order.OrdererID == who {
		return true
	}
	caregiver, ok := s.holds(c, who, careteam.RolePhysician, careteam.RoleNurse)
	if ok && !caregiver {
		abort(c, http.StatusForbidden, CodeReceiverRequired,
			"Only the orderer, a physician or a nurse (care-team roles "+string(careteam.RolePhysician)+", "+string(careteam.RoleNurse)+") takes a critical result.")
	}
	return ok && caregiver
}
