package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// This file holds the steps that carry results: recording them before
// verification, and correcting a verified report. Their observations are
// the observation service's: new ones are stored through it first (units,
// reference ranges, interpretation and delta checks apply, with their
// events), and the report then takes them as stored.

// resultItem is one new observation of a results or correction step. The
// patient and encounter are the order's; effectiveAt defaults to when the
// tube the code is resulted from was collected.
type resultItem struct {
	Code           string                       `json:"code"`
	Value          *observation.ValueInput      `json:"value,omitempty"`
	Components     []observation.ComponentInput `json:"components,omitempty"`
	EffectiveAt    time.Time                    `json:"effectiveAt"`
	Issued         *time.Time                   `json:"issued,omitempty"`
	Status         observation.Status           `json:"status,omitempty"`
	Method         string                       `json:"method,omitempty"`
	Device         string                       `json:"device,omitempty"`
	ReferenceRange *observation.RangeInput      `json:"referenceRange,omitempty"`
}

// resultsBody is POST /v1/diagnostics/orders/{id}/results: new
// observations, and observations already stored (their current versions:
// one amended, or one voided through /v1/observations/{id}/void, which
// withdraws its result), taken stored ones first.
type resultsBody struct {
	byField
	Observations   []resultItem `json:"observations"`
	ObservationIDs []uuid.UUID  `json:"observationIds"`
}

// correctReportBody is POST /v1/diagnostics/reports/{id}/correct: the
// corrected results, as resultsBody carries them, why, and optionally a new
// conclusion.
type correctReportBody struct {
	byField
	Reason         string       `json:"reason"`
	Conclusion     *string      `json:"conclusion"`
	Observations   []resultItem `json:"observations"`
	ObservationIDs []uuid.UUID  `json:"observationIds"`
}

// results are the observations a step carries: those already stored, by
// id, then the new ones, made for the order's patient but not yet stored.
type results struct {
	stored, fresh []observation.Observation
}

// all is every observation, in the order the step takes them.
func (r results) all() []observation.Observation {
	return append(append([]observation.Observation{}, r.stored...), r.fresh...)
}

// field is the body's name of the i-th of all: observationIds[i] or
// observations[j].
func (r results) field(i int) string {
	if i < len(r.stored) {
		return "observationIds[" + strconv.Itoa(i) + "]"
	}
	return "observations[" + strconv.Itoa(i-len(r.stored)) + "]"
}

// recordResults serves POST …/orders/{id}/results: the results are checked
// against the report as it stands (the tube they come from received, the
// tests ordered), the new observations stored with the request's audit
// record, Idempotency-Key honoured, and the report then takes them all
// through the record-results Update. Answers the report's view.
func (s *diagnosticRoutes) recordResults(c *gin.Context) {
	id, ok := uuidParam(c, diagnosticIDMessage)
	if !ok {
		return
	}
	var b resultsBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	by, ok := performer(c, "by", namedID(b.By))
	if !ok {
		return
	}
	state, ok := s.current(c, id)
	if !ok {
		return
	}
	res, ok := s.gather(c, state, b.ObservationIDs, b.Observations, by)
	if !ok {
		return
	}
	now := s.now().UTC()
	next := state
	for i, o := range res.all() {
		var err error
		if next, err = next.Record(o, now); err != nil {
			s.refusedHere(c, err, res.field(i))
			return
		}
	}
	if len(res.fresh) == 0 && next.Version == state.Version {
		// Every version sent is one the report holds: nothing to record.
		auditOf(c).about(audit.ActionUpdate, entityDiagnosticReport, id.String(), &state.Order.PatientID)
		s.answer(c, http.StatusOK, state, false)
		return
	}
	rec, ok := s.storeFresh(c, id, idem, &res)
	if !ok {
		return
	}
	req := &diagnosticflow.RecordResultsRequest{Observations: res.all()}
	req.SetActor(*by.PractitionerID)
	s.send(c, id, idem, req, rec)
}

// correct serves POST …/reports/{id}/correct: a corrected version of a
// verified report, by a verifier of its discipline. Like results, the
// correction is checked against the report first and its new observations
// stored before the correct Update takes them.
func (s *diagnosticRoutes) correct(c *gin.Context) {
	id, ok := uuidParam(c, diagnosticIDMessage)
	if !ok {
		return
	}
	var b correctReportBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	by, ok := performer(c, "by", namedID(b.By))
	if !ok {
		return
	}
	if err := requiredText("reason", b.Reason); err != nil {
		s.fail(c, err)
		return
	}
	state, ok := s.current(c, id)
	if !ok {
		return
	}
	if _, ok := s.verifierRole(c, *by.PractitionerID, state); !ok {
		return
	}
	res, ok := s.gather(c, state, b.ObservationIDs, b.Observations, by)
	if !ok {
		return
	}
	fix := diagnostic.Correction{By: *by.PractitionerID, Reason: b.Reason, Results: res.all(), Conclusion: b.Conclusion}
	if err := state.CanCorrect(fix); err != nil {
		s.refusedHere(c, renameResults(err, res), "")
		return
	}
	rec, ok := s.storeFresh(c, id, idem, &res)
	if !ok {
		return
	}
	fix.Results = res.all()
	s.send(c, id, idem, &diagnosticflow.CorrectRequest{Correction: fix}, rec)
}

// current reads the report as the read model holds it, which the results
// are checked against before anything is stored. The workflow records each
// change there before its own state takes it, so the read model is never
// behind a change the workflow answered; the Update's validator checks the
// results again against the workflow's state. Reading the read model saves
// a round trip through the worker on the slowest step.
func (s *diagnosticRoutes) current(c *gin.Context, id uuid.UUID) (diagnostic.Report, bool) {
	return s.load(c, id)
}

// gather reads the stored observations ids name, which must be the
// order's patient's, and makes the new ones of items for that patient and
// the order's encounter, validated, interpreted and delta-checked, naming
// each refused field as the body does.
func (s *diagnosticRoutes) gather(c *gin.Context, r diagnostic.Report, ids []uuid.UUID, items []resultItem,
	by observation.Performer) (results, bool) {
	var res results
	switch n := len(ids) + len(items); {
	case n == 0:
		fieldError(c, "observations", "required: at least one observation (or observationIds)")
		return res, false
	case n > diagnosticflow.MaxObservations:
		fieldError(c, "observations", "at most "+strconv.Itoa(diagnosticflow.MaxObservations)+
			" observations and observationIds together")
		return res, false
	}
	ctx := c.Request.Context()
	if len(ids) > 0 {
		verr := &domain.ValidationError{}
		seen := map[uuid.UUID]int{}
		for i, id := range ids {
			if j, twice := seen[id]; twice {
				verr.Add("observationIds["+strconv.Itoa(i)+"]", "is observationIds["+strconv.Itoa(j)+"] again")
			}
			seen[id] = i
		}
		if err := verr.OrNil(); err != nil {
			s.fail(c, err)
			return res, false
		}
		stored, err := s.observations.store.Observations(ctx, ids)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			fieldError(c, "observationIds", "names an observation that does not exist ("+err.Error()+")")
			return res, false
		case err != nil:
			s.fail(c, err)
			return res, false
		}
		for i, o := range stored {
			if o.PatientID != r.Order.PatientID {
				verr.Add("observationIds["+strconv.Itoa(i)+"]", "is an observation of another patient than the order's")
			}
		}
		if err := verr.OrNil(); err != nil {
			s.fail(c, err)
			return res, false
		}
		res.stored = stored
	}
	if len(items) == 0 {
		return res, true
	}
	now := s.now().UTC()
	inputs := make([]observation.Input, len(items))
	for i, it := range items {
		in := observation.Input{PatientID: r.Order.PatientID, EncounterID: r.Order.EncounterID, Code: strings.TrimSpace(it.Code),
			Value: it.Value, Components: it.Components, EffectiveAt: it.EffectiveAt, Issued: it.Issued, Status: it.Status,
			Method: it.Method, Device: it.Device, ReferenceRange: it.ReferenceRange}
		if in.EffectiveAt.IsZero() {
			// With no tube collected for the code, now stands in: the
			// report refuses such a result (no received tube, or a test
			// not ordered) before anything is stored, and says why.
			in.EffectiveAt = collectedFor(r, in.Code)
			if in.EffectiveAt.IsZero() {
				in.EffectiveAt = now
			}
		}
		inputs[i] = in
	}
	first, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return res, false
	}
	fresh, err := s.observations.newObservations(ctx, consecutiveIDs(first, len(inputs)), inputs, by)
	if err != nil {
		s.resultsFailure(c, err)
		return res, false
	}
	// Each result names the order it results: the order's read-back
	// callback, not a second critical-value alert, answers a critical one.
	order := r.Order.ID
	for i := range fresh {
		fresh[i].BasedOn = &order
	}
	res.fresh = fresh
	return res, true
}

// collectedFor is when the tube the code is resulted from was collected;
// zero when none stands collected.
func collectedFor(r diagnostic.Report, code string) time.Time {
	container, ok := r.Order.ContainerOf(code)
	if !ok {
		return time.Time{}
	}
	for _, sp := range r.Specimens {
		if sp.Container == container && sp.Status != diagnostic.SpecimenRejected {
			return sp.CollectedAt
		}
	}
	return time.Time{}
}

// storeFresh stores the step's new observations, with the request's audit
// record, and returns the audit record the Update carries: none when the
// observations' write stored it, the request's when there was nothing to
// store. A replayed Idempotency-Key stores nothing and the step goes on
// with the observations the first request stored. It reports false when
// it has answered.
func (s *diagnosticRoutes) storeFresh(c *gin.Context, id uuid.UUID, idem *domain.Idempotency, res *results) (*audit.Record, bool) {
	a := auditOf(c)
	if len(res.fresh) == 0 {
		a.about(audit.ActionUpdate, entityDiagnosticReport, id.String(), nil)
		return a.forWrite(c, audit.ActionUpdate, http.StatusOK), true
	}
	if idem != nil {
		// A key is the request's on this order only.
		idem.Scope += " " + id.String()
	}
	patient := res.fresh[0].PatientID
	a.about(audit.ActionCreate, entityObservation, "", &patient)
	a.rec.Description = "results of " + entityDiagnosticReport + "/" + id.String()
	ctx := c.Request.Context()
	first, replay, err := s.observations.store.RecordBatch(ctx, idem, a.forWrite(c, audit.ActionCreate, http.StatusOK), res.fresh)
	if err != nil {
		s.resultsFailure(c, err)
		return nil, false
	}
	a.stored()
	if replay {
		c.Header("Idempotent-Replayed", "true")
		if res.fresh, err = s.observations.store.Observations(ctx, consecutiveIDs(first, len(res.fresh))); err != nil {
			s.fail(c, err)
			return nil, false
		}
	}
	return nil, true
}

// send sends a results step with rec (nil when the observations' write
// stored the request's audit record) and answers the report's view.
func (s *diagnosticRoutes) send(c *gin.Context, id uuid.UUID, idem *domain.Idempotency, req diagnosticflow.Request, rec *audit.Record) {
	state, err := diagnosticflow.Step(updateContext(c.Request.Context(), idem), s.temporal, id, process.WithAudit(req, rec))
	if err != nil {
		s.stepFailure(c, err, id)
		return
	}
	if rec != nil {
		auditOf(c).stored()
	}
	s.answer(c, http.StatusOK, state, false)
}

// refusedHere answers a step the rules refused before anything was sent:
// as the workflow's refusal of the same kind would be answered, with field
// naming what an argument refusal is about.
func (s *diagnosticRoutes) refusedHere(c *gin.Context, err error, field string) {
	var verr *domain.ValidationError
	switch {
	case errors.As(err, &verr):
		s.fail(c, verr)
	case errors.Is(err, diagnostic.ErrInvalidTransition):
		abort(c, http.StatusConflict, CodeInvalidTransition, strings.TrimPrefix(err.Error(), diagnostic.ErrInvalidTransition.Error()+": "))
	case errors.Is(err, diagnostic.ErrInvalidArgument):
		if field == "" {
			field = "(body)"
		}
		fieldError(c, field, strings.TrimPrefix(err.Error(), diagnostic.ErrInvalidArgument.Error()+": "))
	default:
		s.fail(c, err)
	}
}

// renameResults gives a correction's refused results[i] the body's names.
func renameResults(err error, res results) error {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	out := &domain.ValidationError{}
	for _, f := range verr.Fields {
		if rest, ok := strings.CutPrefix(f.Field, "results["); ok {
			if end := strings.IndexByte(rest, ']'); end > 0 {
				if i, err := strconv.Atoi(rest[:end]); err == nil {
					f.Field = res.field(i) + rest[end+1:]
				}
			}
		}
		out.Add(f.Field, f.Message)
	}
	return out
}

// resultsFailure answers new observations the observation rules or store
// refused, naming observations[i].field for the batch's items[i].field.
func (s *diagnosticRoutes) resultsFailure(c *gin.Context, err error) {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		s.observations.observationFailure(c, err)
		return
	}
	out := &domain.ValidationError{}
	for _, f := range verr.Fields {
		name := f.Field
		if rest, ok := strings.CutPrefix(name, "items"); ok {
			name = "observations" + rest
		}
		out.Add(name, f.Message)
	}
	s.observations.batchFailure(c, out, 0)
}
