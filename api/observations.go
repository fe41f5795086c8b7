package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// ObservationStore is what the observation routes need from storage: the
// observations, version by version, with the demographics of their patients
// and the earlier results their delta checks compare with; the NEWS2
// readings; and each patient's SpO2 scale decision.
type ObservationStore interface {
	// RecordBatch stores new observations all or nothing (a refusal names
	// items[i].field), guarded by idem when not nil: a replay stores nothing
	// and returns the first id the key's request stored.
	RecordBatch(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, obs []observation.Observation) (first uuid.UUID, replay bool, err error)
	// Record stores one new observation as RecordBatch does; a refusal
	// names its fields without an item index.
	Record(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, o observation.Observation) (id uuid.UUID, replay bool, err error)
	Amend(ctx context.Context, rec *audit.Record, next observation.Observation) error
	Void(ctx context.Context, rec *audit.Record, next observation.Observation) error
	// Get returns the current version and every version, oldest first.
	Get(ctx context.Context, id uuid.UUID) (observation.Observation, []observation.Observation, error)
	// Observations returns the current versions of ids, in their order.
	Observations(ctx context.Context, ids []uuid.UUID) ([]observation.Observation, error)
	List(ctx context.Context, f observation.Filter) (observation.Page, error)
	Latest(ctx context.Context, patientID uuid.UUID, codes []string) ([]observation.Observation, error)
	Trend(ctx context.Context, patientID uuid.UUID, code string, from, to time.Time, bucket time.Duration) (observation.Trend, error)
	// DeltaFlagged returns the observations of code in [from, to) that met a delta rule.
	DeltaFlagged(ctx context.Context, patientID uuid.UUID, code string, from, to time.Time) ([]observation.Observation, error)
	// Demographics returns the registered patients among ids, by id.
	Demographics(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]observation.Demographics, error)
	// PreviousResults returns, by patient, the stored results the delta
	// checks of obs compare with.
	PreviousResults(ctx context.Context, obs []observation.Observation) (map[uuid.UUID][]observation.Result, error)
	NEWS2Readings(ctx context.Context, patientID uuid.UUID, at time.Time, window time.Duration) ([]observation.Reading, error)
	// NEWS2History returns the stored scores of sets ended in [from, to],
	// oldest first, the newest limit of them.
	NEWS2History(ctx context.Context, patientID uuid.UUID, from, to time.Time, limit int) ([]observation.NEWS2Score, error)
	SetSpO2Scale(ctx context.Context, rec *audit.Record, patientID uuid.UUID, scale observation.SpO2Scale, decidedBy uuid.UUID, reason string) (observation.ScaleDecision, error)
	SpO2Scale(ctx context.Context, patientID uuid.UUID) (observation.ScaleDecision, error)
}

// Audit entity types of the observation routes.
const (
	entityObservation = "Observation"
	entityCatalogue   = "ObservationDefinition"
	entityNEWS2       = "RiskAssessment"
	entitySpO2Scale   = "SpO2ScaleDecision"
)

// maxBatchDetails caps the fields a refused batch names; the message says
// how many there were.
const maxBatchDetails = 100

// observationRoutes serve /v1/observations and a patient's SpO2 scale: the
// observation store is all they need (it also reads the patients'
// demographics, for the reference ranges).
type observationRoutes struct {
	*edge
	store ObservationStore
}

func (s *observationRoutes) routes() []Route {
	const scopeR, scopeW = "system/Observation.read", "system/Observation.write"
	return []Route{
		{http.MethodPost, "/v1/observations", scopeW, entityObservation, s.recordObservation},
		{http.MethodPost, "/v1/observations/batch", scopeW, entityObservation, s.recordBatch},
		{http.MethodGet, "/v1/observations", scopeR, entityObservation, s.listObservations},
		{http.MethodGet, "/v1/observations/latest", scopeR, entityObservation, s.latestObservations},
		{http.MethodGet, "/v1/observations/trends", scopeR, entityObservation, s.trend},
		{http.MethodGet, "/v1/observations/codes", scopeR, entityCatalogue, s.catalogue},
		{http.MethodGet, "/v1/observations/news2", scopeR, entityNEWS2, s.news2},
		{http.MethodGet, "/v1/observations/news2/history", scopeR, entityNEWS2, s.news2History},
		{http.MethodPost, "/v1/observations/news2/calculate", scopeR, entityNEWS2, s.calculateNEWS2},
		{http.MethodGet, "/v1/observations/:id", scopeR, entityObservation, s.getObservation},
		{http.MethodPost, "/v1/observations/:id/amend", scopeW, entityObservation, s.amendObservation},
		{http.MethodPost, "/v1/observations/:id/void", scopeW, entityObservation, s.voidObservation},
		{http.MethodPost, "/v1/patients/:id/spo2-scale", scopeW, entitySpO2Scale, s.decideSpO2Scale},
		{http.MethodGet, "/v1/patients/:id/spo2-scale", scopeR, entitySpO2Scale, s.getSpO2Scale},
	}
}

// observationBody is one observation as POST /v1/observations and each item
// of a batch carry it. performer may be left out; if given it must name the
// practitioner acting (see actor), who is always the performer.
type observationBody struct {
	observation.Input
	Performer string `json:"performer"`
}

// batchBody is POST /v1/observations/batch.
type batchBody struct {
	Items []observationBody `json:"items"`
}

// amendBody is POST /v1/observations/{id}/amend: the new content and why.
type amendBody struct {
	observation.Input
	Performer string `json:"performer"`
	Reason    string `json:"reason"`
}

// voidBody is POST /v1/observations/{id}/void.
type voidBody struct {
	Reason    string `json:"reason"`
	Performer string `json:"performer"`
}

// ObservationBatch is the answer to a batch: the stored observations in the
// order of the items sent.
type ObservationBatch struct {
	Count int                       `json:"count"`
	Data  []observation.Observation `json:"data"`
}

// ObservationBatchMinimal is the answer to a batch sent with Prefer:
// return=minimal: each stored observation as its events carry it (id,
// version, code, status, the canonical value, the interpretation's flag and
// limits, the delta rules met), in the order of the items sent.
type ObservationBatchMinimal struct {
	Count int                     `json:"count"`
	Data  []observation.EventData `json:"data"`
}

// prefersMinimal reports whether the request's Prefer header (RFC 7240)
// asks for return=minimal.
func prefersMinimal(c *gin.Context) bool {
	for _, h := range c.Request.Header.Values("Prefer") {
		for _, pref := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ';' }) {
			if k, v, _ := strings.Cut(strings.TrimSpace(pref), "="); strings.EqualFold(k, "return") && strings.EqualFold(strings.Trim(v, `" `), "minimal") {
				return true
			}
		}
	}
	return false
}

// ObservationRecord is one observation: its current version, and every
// version oldest first.
type ObservationRecord struct {
	observation.Observation
	Versions []observation.Observation `json:"versions"`
}

// recordObservation serves POST /v1/observations: one observation, stored
// with its audit record and events; Idempotency-Key honoured.
func (s *observationRoutes) recordObservation(c *gin.Context) {
	units, ok := unitsParam(c)
	if !ok {
		return
	}
	var b observationBody
	body := readJSON(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	by, ok := performer(c, "performer", b.Performer)
	if !ok {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	obs, err := s.newObservations(c.Request.Context(), []uuid.UUID{id}, []observation.Input{b.Input}, by)
	if err != nil {
		s.fail(c, unindexed(err))
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entityObservation, id.String(), &obs[0].PatientID)
	first, replay, err := s.store.Record(c.Request.Context(), idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), obs[0])
	if err != nil {
		s.observationFailure(c, err)
		return
	}
	a.stored()
	o := obs[0]
	if replay {
		c.Header("Idempotent-Replayed", "true")
		if o, _, err = s.store.Get(c.Request.Context(), first); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.Header("Location", location("/v1/observations", o.ID.String()))
	c.Header("ETag", etag(o.Version))
	c.JSON(http.StatusCreated, inUnits(o, units))
}

// recordBatch serves POST /v1/observations/batch: up to
// observation.MaxBatch observations, each validated, stored all or nothing
// in one transaction with one audit record naming every patient. A refusal
// names each bad item's field as items[i].field.
func (s *observationRoutes) recordBatch(c *gin.Context) {
	units, ok := unitsParam(c)
	if !ok {
		return
	}
	var b batchBody
	body := readBatch(c, &b)
	if body == nil {
		return
	}
	idem, ok := idempotencyOf(c, body)
	if !ok {
		return
	}
	by, ok := performer(c, "performer", "")
	if !ok {
		return
	}
	inputs := make([]observation.Input, len(b.Items))
	for i, it := range b.Items {
		if it.Performer != "" {
			if _, ok := performer(c, itemField(i, "performer"), it.Performer); !ok {
				return
			}
		}
		inputs[i] = it.Input
	}
	first, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	ids := consecutiveIDs(first, len(inputs))
	obs, err := s.newObservations(c.Request.Context(), ids, inputs, by)
	if err != nil {
		s.batchFailure(c, err, len(inputs))
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entityObservation, "", nil)
	named := map[uuid.UUID]bool{}
	var patients []uuid.UUID
	for _, o := range obs {
		if !named[o.PatientID] {
			named[o.PatientID] = true
			patients = append(patients, o.PatientID)
		}
	}
	a.disclosed(patients...)
	// The answer is encoded while the batch is stored, on the core the
	// database leaves to this process: it says what is being stored, and is
	// sent only once that has committed.
	minimal := prefersMinimal(c)
	answer := make(chan encodedAnswer, 1)
	go func() { answer <- encodeBatchAnswer(obs, units, minimal) }()
	first, replay, err := s.store.RecordBatch(c.Request.Context(), idem, a.forWrite(c, audit.ActionCreate, http.StatusCreated), obs)
	if err != nil {
		s.batchFailure(c, err, len(inputs))
		return
	}
	a.stored()
	encoded := <-answer
	if replay {
		c.Header("Idempotent-Replayed", "true")
		if obs, err = s.store.Observations(c.Request.Context(), consecutiveIDs(first, len(inputs))); err != nil {
			s.fail(c, err)
			return
		}
		encoded = encodeBatchAnswer(obs, units, minimal)
	}
	if encoded.err != nil {
		s.fail(c, encoded.err)
		return
	}
	if minimal {
		c.Header("Preference-Applied", "return=minimal")
	}
	c.Data(http.StatusCreated, "application/json; charset=utf-8", encoded.body)
}

// encodedAnswer is the body of a batch's answer, or why it is not.
type encodedAnswer struct {
	body []byte
	err  error
}

// encodeBatchAnswer encodes the answer to a batch of obs: an
// ObservationBatch in units, or with minimal an ObservationBatchMinimal.
func encodeBatchAnswer(obs []observation.Observation, units string, minimal bool) encodedAnswer {
	var (
		body []byte
		err  error
	)
	if minimal {
		// As json.Marshal would encode an ObservationBatchMinimal.
		body = append(make([]byte, 0, 64+400*len(obs)), `{"count":`...)
		body = strconv.AppendInt(body, int64(len(obs)), 10)
		body = append(body, `,"data":[`...)
		for i, o := range obs {
			if i > 0 {
				body = append(body, ',')
			}
			if body, err = observation.AppendEventJSON(body, o.Event()); err != nil {
				return encodedAnswer{err: err}
			}
		}
		body = append(body, "]}"...)
	} else {
		data := make([]observation.Observation, len(obs))
		for i, o := range obs {
			data[i] = inUnits(o, units)
		}
		body, err = json.Marshal(ObservationBatch{Count: len(obs), Data: data})
	}
	return encodedAnswer{body: body, err: err}
}

// newObservations validates inputs (observation.NewBatch, the i-th getting
// ids[i]), interpreted for their patients' sex and age, and applies the
// delta checks against the patients' earlier results and each other.
func (s *observationRoutes) newObservations(ctx context.Context, ids []uuid.UUID, inputs []observation.Input, by observation.Performer) ([]observation.Observation, error) {
	var patients []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, in := range inputs {
		if in.PatientID != uuid.Nil && !seen[in.PatientID] {
			seen[in.PatientID] = true
			patients = append(patients, in.PatientID)
		}
	}
	demographics, err := s.store.Demographics(ctx, patients)
	if err != nil {
		return nil, err
	}
	obs, err := newBatch(ids, inputs, func(id uuid.UUID) (observation.Demographics, error) {
		d, ok := demographics[id]
		if !ok {
			return observation.Demographics{}, observation.ErrUnknownPatient
		}
		return d, nil
	}, by, s.now())
	if err != nil {
		return nil, err
	}
	return s.withDelta(ctx, obs)
}

// splitBatch is the size from which newBatch validates a batch in two
// halves at once.
const splitBatch = 2000

// newBatch is observation.NewBatch, a large batch validated in two halves
// at once (the request waits for it with a core to spare): the same
// observations, and the same refusal — every bad field of every item, in
// item order, the second half's re-indexed.
func newBatch(ids []uuid.UUID, inputs []observation.Input, patient func(uuid.UUID) (observation.Demographics, error),
	by observation.Performer, now time.Time) ([]observation.Observation, error) {
	if len(inputs) < splitBatch || len(inputs) > observation.MaxBatch || len(ids) != len(inputs) {
		return observation.NewBatch(ids, inputs, patient, by, now)
	}
	half := len(inputs) / 2
	var (
		second    []observation.Observation
		secondErr error
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		second, secondErr = observation.NewBatch(ids[half:], inputs[half:], patient, by, now)
	}()
	first, firstErr := observation.NewBatch(ids[:half], inputs[:half], patient, by, now)
	<-done
	var firstFields, secondFields *domain.ValidationError
	switch {
	case firstErr == nil && secondErr == nil:
		return append(first, second...), nil
	case firstErr != nil && !errors.As(firstErr, &firstFields):
		return nil, firstErr
	case secondErr != nil && !errors.As(secondErr, &secondFields):
		return nil, fmt.Errorf("items from %d: %w", half, secondErr)
	}
	out := &domain.ValidationError{}
	if firstFields != nil {
		out.Fields = append(out.Fields, firstFields.Fields...)
	}
	if secondFields != nil {
		for _, f := range secondFields.Fields {
			out.Add(shiftItem(f.Field, half), f.Message)
		}
	}
	return nil, out
}

// shiftItem adds by to the index of an items[i] field.
func shiftItem(field string, by int) string {
	rest, ok := strings.CutPrefix(field, "items[")
	end := strings.IndexByte(rest, ']')
	if !ok || end < 0 {
		return field
	}
	i, err := strconv.Atoi(rest[:end])
	if err != nil {
		return field
	}
	return "items[" + strconv.Itoa(i+by) + "]" + rest[end+1:]
}

// getObservation serves GET /v1/observations/{id}: the current version and
// every version; ETag is the current version, If-None-Match answers 304.
func (s *observationRoutes) getObservation(c *gin.Context) {
	id, ok := uuidParam(c, "is not an observation id (UUID)")
	if !ok {
		return
	}
	units, ok := unitsParam(c)
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityObservation, id.String(), nil)
	cur, versions, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		s.observationFailure(c, err)
		return
	}
	a.rec.PatientID = &cur.PatientID
	if notModified(c, cur.Version) {
		return
	}
	for i := range versions {
		versions[i] = inUnits(versions[i], units)
	}
	c.Header("ETag", etag(cur.Version))
	c.JSON(http.StatusOK, ObservationRecord{Observation: inUnits(cur, units), Versions: versions})
}

// amendObservation serves POST /v1/observations/{id}/amend: a new version
// with the body's content and reason; If-Match is required. patientId,
// code, category and encounterId may be left out, and so may effectiveAt,
// method and device, which then keep the current version's.
func (s *observationRoutes) amendObservation(c *gin.Context) {
	id, ok := uuidParam(c, "is not an observation id (UUID)")
	if !ok {
		return
	}
	version, ok := requireIfMatch(c)
	if !ok {
		return
	}
	units, ok := unitsParam(c)
	if !ok {
		return
	}
	var b amendBody
	if readJSON(c, &b) == nil {
		return
	}
	by, ok := performer(c, "performer", b.Performer)
	if !ok {
		return
	}
	s.supersede(c, id, version, units, audit.ActionUpdate, func(ctx context.Context, cur observation.Observation) (observation.Observation, error) {
		in := b.Input
		if in.EffectiveAt.IsZero() {
			in.EffectiveAt = cur.EffectiveAt
		}
		if in.Method == "" {
			in.Method = cur.Method
		}
		if in.Device == "" {
			in.Device = cur.Device
		}
		demographics, err := s.store.Demographics(ctx, []uuid.UUID{cur.PatientID})
		if err != nil {
			return observation.Observation{}, err
		}
		d, found := demographics[cur.PatientID]
		if !found {
			return observation.Observation{}, domain.ErrNotFound
		}
		subject, err := d.SubjectAt(in.EffectiveAt)
		if err != nil {
			return observation.Observation{}, err
		}
		next, err := observation.Amend(cur, in, subject, b.Reason, by, s.now())
		if err != nil {
			return observation.Observation{}, err
		}
		withFlags, err := s.withDelta(ctx, []observation.Observation{next})
		if err != nil {
			return observation.Observation{}, err
		}
		next = withFlags[0]
		return next, s.store.Amend(ctx, auditOf(c).forWrite(c, audit.ActionUpdate, http.StatusOK), next)
	})
}

// voidObservation serves POST /v1/observations/{id}/void: a new version,
// entered in error, with the reason; If-Match is required. The content stays
// in the history; values, trends and NEWS2 no longer count it.
func (s *observationRoutes) voidObservation(c *gin.Context) {
	id, ok := uuidParam(c, "is not an observation id (UUID)")
	if !ok {
		return
	}
	version, ok := requireIfMatch(c)
	if !ok {
		return
	}
	units, ok := unitsParam(c)
	if !ok {
		return
	}
	var b voidBody
	if readJSON(c, &b) == nil {
		return
	}
	by, ok := performer(c, "performer", b.Performer)
	if !ok {
		return
	}
	s.supersede(c, id, version, units, audit.ActionUpdate, func(ctx context.Context, cur observation.Observation) (observation.Observation, error) {
		next, err := observation.Void(cur, b.Reason, by, s.now())
		if err != nil {
			return observation.Observation{}, err
		}
		return next, s.store.Void(ctx, auditOf(c).forWrite(c, audit.ActionUpdate, http.StatusOK), next)
	})
}

// supersede is the skeleton of an amendment and a withdrawal: read the
// current version, check If-Match, let write make and store the next
// version, answer it.
func (s *observationRoutes) supersede(c *gin.Context, id uuid.UUID, version precondition, units string, action audit.Action,
	write func(ctx context.Context, cur observation.Observation) (observation.Observation, error)) {
	a := auditOf(c)
	a.about(action, entityObservation, id.String(), nil)
	cur, _, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		s.observationFailure(c, err)
		return
	}
	a.rec.PatientID = &cur.PatientID
	if err := checkVersion(cur.Version, version); err != nil {
		s.fail(c, err)
		return
	}
	next, err := write(c.Request.Context(), cur)
	if err != nil {
		s.observationFailure(c, err)
		return
	}
	a.stored()
	c.Header("ETag", etag(next.Version))
	c.JSON(http.StatusOK, inUnits(next, units))
}

// performer is the acting practitioner as the performer of an observation
// (see actor), with the client that spoke for them.
func performer(c *gin.Context, field, named string) (observation.Performer, bool) {
	id, ok := actor(c, field, named)
	if !ok {
		return observation.Performer{}, false
	}
	p, _ := principal(c)
	return observation.Performer{PractitionerID: &id, ClientID: p.ClientID, Asserted: p.Asserted}, true
}

// observationFailure answers the observation rules' refusals, a missing
// observation, and everything else through fail.
func (s *observationRoutes) observationFailure(c *gin.Context, err error) {
	switch {
	case errors.Is(err, observation.ErrEnteredInError):
		abort(c, http.StatusConflict, CodeConflict,
			"The observation was entered in error; it cannot change. Record a new observation instead.",
			domain.FieldError{Field: "status", Message: string(observation.StatusEnteredInError)})
	case errors.Is(err, observation.ErrStale):
		s.fail(c, domain.ErrVersionMismatch)
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such observation.")
	default:
		s.fail(c, err)
	}
}

// batchFailure answers a refused batch: at most maxBatchDetails of the
// fields named, the message counting them all.
func (s *observationRoutes) batchFailure(c *gin.Context, err error, items int) {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		s.observationFailure(c, err)
		return
	}
	bad := map[string]bool{}
	for _, f := range verr.Fields {
		if i := strings.IndexByte(f.Field, ']'); strings.HasPrefix(f.Field, "items[") && i > 0 {
			bad[f.Field[:i]] = true
		}
	}
	msg := "The batch has invalid fields; nothing was recorded."
	if len(bad) > 0 {
		msg = strconv.Itoa(len(verr.Fields)) + " invalid fields in " + strconv.Itoa(len(bad)) + " of the " + strconv.Itoa(items) +
			" items; nothing was recorded."
	}
	details := verr.Fields
	if len(details) > maxBatchDetails {
		details = details[:maxBatchDetails]
		msg += " The first " + strconv.Itoa(maxBatchDetails) + " are named."
	}
	abort(c, http.StatusBadRequest, CodeValidationFailed, msg, details...)
}

// unindexed drops the items[0]. prefix from the fields of a one-item
// batch's refusal: a single observation names its own fields.
func unindexed(err error) error {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	out := &domain.ValidationError{}
	for _, f := range verr.Fields {
		out.Add(strings.TrimPrefix(f.Field, "items[0]."), f.Message)
	}
	return out
}

func itemField(i int, field string) string { return "items[" + strconv.Itoa(i) + "]." + field }

// consecutiveIDs are n ids from first on, counting up in their low 61 bits:
// a batch's ids are UUIDv7s of one millisecond in the monotonic form of
// RFC 9562 §6.2 (method 2, the random part incremented), ordered as their
// items, so a replay of an Idempotency-Key finds them all from the first.
func consecutiveIDs(first uuid.UUID, n int) []uuid.UUID {
	first[8] &^= 0x20 // leave room to count: 2^61 ids before the 62 random bits would overflow
	ids := make([]uuid.UUID, n)
	for i := range ids {
		id := first
		carry := uint64(i)
		for b := 15; b >= 8 && carry > 0; b-- {
			sum := uint64(id[b]) + carry&0xff
			id[b] = byte(sum)
			carry = carry>>8 + sum>>8
		}
		ids[i] = id
	}
	return ids
}
