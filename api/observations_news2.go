package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// news2Lookback is how far back GET /v1/observations/news2 reads a
// patient's readings: a parameter last recorded earlier is missing; one
// recorded within it but more than observation.DefaultNEWS2Window before
// the newest reading is stale. Either way nothing is scored.
const news2Lookback = 24 * time.Hour

// NEWS2Answer is a NEWS2 as the API answers it: with a complete set, the
// total, each parameter's sub-score, the clinical risk and the response
// Charts 2 and 4 call for; otherwise status incomplete, naming the
// parameters missing and stale, and no score.
type NEWS2Answer struct {
	PatientID  *uuid.UUID                   `json:"patientId,omitempty"`
	Status     observation.CombinedStatus   `json:"status"`
	Total      *int                         `json:"total,omitempty"`
	Risk       observation.NEWS2Risk        `json:"risk,omitempty"`
	RedScore   *bool                        `json:"redScore,omitempty"`
	Response   *NEWS2ResponseView           `json:"response,omitempty"`
	Scale      observation.SpO2Scale        `json:"scale"`
	Parameters []NEWS2ParameterView         `json:"parameters"`
	Missing    []observation.NEWS2Parameter `json:"missing,omitempty"`
	Stale      []observation.NEWS2Parameter `json:"stale,omitempty"`
	// WindowStart and WindowEnd bound the readings that count: the window
	// ends at the newest reading.
	WindowStart *time.Time `json:"windowStart,omitempty"`
	WindowEnd   *time.Time `json:"windowEnd,omitempty"`
	// NextDueAt is when the next set is due by Chart 4's frequency of
	// monitoring (absent when monitoring is continuous); Overdue says it
	// has passed.
	NextDueAt *time.Time `json:"nextDueAt,omitempty"`
	Overdue   *bool      `json:"overdue,omitempty"`
	// ScaleDecision is the clinician's SpO2 scale decision the score used.
	ScaleDecision *SpO2ScaleView `json:"scaleDecision,omitempty"`
}

// NEWS2ParameterView is one parameter: its sub-score (in a complete set),
// and the reading it was taken from.
type NEWS2ParameterView struct {
	Parameter observation.NEWS2Parameter `json:"parameter"`
	Score     *int                       `json:"score,omitempty"`
	Code      string                     `json:"code,omitempty"`
	Value     *float64                   `json:"value,omitempty"`
	Answer    string                     `json:"answer,omitempty"`
	// SupplementalOxygen is "air or oxygen?" read from the airOrOxygen reading.
	SupplementalOxygen *bool      `json:"supplementalOxygen,omitempty"`
	Time               *time.Time `json:"time,omitempty"`
	SourceID           *uuid.UUID `json:"sourceId,omitempty"`
	Stale              bool       `json:"stale,omitempty"`
}

// NEWS2ResponseView is the guideline's response, the longest interval to
// the next set as an ISO 8601 duration.
type NEWS2ResponseView struct {
	Threshold  string `json:"threshold"`
	Frequency  string `json:"frequency"`
	Every      string `json:"every,omitempty"`
	Continuous bool   `json:"continuous"`
	Action     string `json:"action"`
}

// SpO2ScaleView is a patient's SpO2 scale: Scale 1 unless a clinician has
// decided otherwise, with who decided, when and why.
type SpO2ScaleView struct {
	PatientID uuid.UUID             `json:"patientId"`
	Scale     observation.SpO2Scale `json:"scale"`
	ID        *uuid.UUID            `json:"id,omitempty"`
	DecidedBy *uuid.UUID            `json:"decidedBy,omitempty"`
	DecidedAt *time.Time            `json:"decidedAt,omitempty"`
	Reason    string                `json:"reason,omitempty"`
}

func scaleView(d observation.ScaleDecision) *SpO2ScaleView {
	v := &SpO2ScaleView{PatientID: d.PatientID, Scale: d.Scale}
	if v.Scale == 0 {
		v.Scale = observation.SpO2Scale1
	}
	if d.ID != uuid.Nil {
		id, by, at := d.ID, d.DecidedBy, d.DecidedAt
		v.ID, v.DecidedBy, v.DecidedAt, v.Reason = &id, &by, &at, d.Reason
	}
	return v
}

// news2Body is POST /v1/observations/news2/calculate: one set, in the
// canonical units (per minute, %, mm[Hg], Cel).
type news2Body struct {
	RespirationRate    *float64 `json:"respirationRate"`
	SpO2               *float64 `json:"spo2"`
	SpO2Scale          *int     `json:"spo2Scale"`
	SupplementalOxygen *bool    `json:"supplementalOxygen"`
	SystolicBP         *float64 `json:"systolicBP"`
	Pulse              *float64 `json:"pulse"`
	Consciousness      string   `json:"consciousness"`
	Temperature        *float64 `json:"temperature"`
}

// news2Fields names the domain's NEWS2 input fields as the body does.
var news2Fields = map[string]string{"respiratoryRate": "respirationRate", "scale": "spo2Scale"}

// calculateNEWS2 serves POST /v1/observations/news2/calculate: the score of
// the set in the body; nothing is stored.
func (s *observationRoutes) calculateNEWS2(c *gin.Context) {
	var b news2Body
	if readJSON(c, &b) == nil {
		return
	}
	verr := &domain.ValidationError{}
	num := func(field string, v *float64) float64 {
		if v == nil {
			verr.Add(field, "is required")
			return 0
		}
		return *v
	}
	in := observation.NEWS2Input{
		RespiratoryRate: num("respirationRate", b.RespirationRate),
		SpO2:            num("spo2", b.SpO2),
		Scale:           observation.SpO2Scale1,
		SystolicBP:      num("systolicBP", b.SystolicBP),
		Pulse:           num("pulse", b.Pulse),
		Consciousness:   observation.Consciousness(b.Consciousness),
		Temperature:     num("temperature", b.Temperature),
	}
	if b.SpO2Scale != nil {
		in.Scale = observation.SpO2Scale(*b.SpO2Scale)
	}
	if b.SupplementalOxygen == nil {
		verr.Add("supplementalOxygen", "is required: true on oxygen, false on air")
	} else {
		in.SupplementalOxygen = *b.SupplementalOxygen
	}
	if b.Consciousness == "" {
		verr.Add("consciousness", "is required: one of A, C, V, P, U")
	}
	auditOf(c).about(audit.ActionRead, entityNEWS2, "", nil)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	score, err := observation.ScoreNEWS2(in)
	if err != nil {
		s.fail(c, renamed(err, news2Fields, "", ""))
		return
	}
	answer := NEWS2Answer{Status: observation.CombinedComplete}
	answer.scored(score)
	values := map[observation.NEWS2Parameter]*float64{
		observation.ParamRespirationRate: b.RespirationRate, observation.ParamSpO2: b.SpO2, observation.ParamSystolicBP: b.SystolicBP,
		observation.ParamPulse: b.Pulse, observation.ParamTemperature: b.Temperature,
	}
	for _, p := range observation.NEWS2Parameters() {
		v := NEWS2ParameterView{Parameter: p, Value: values[p], Score: subScore(score, p)}
		switch p {
		case observation.ParamConsciousness:
			v.Answer = b.Consciousness
		case observation.ParamAirOrOxygen:
			v.SupplementalOxygen = b.SupplementalOxygen
		}
		answer.Parameters = append(answer.Parameters, v)
	}
	c.JSON(http.StatusOK, answer)
}

// news2 serves GET /v1/observations/news2: the NEWS2 of the patient's
// newest readings of the last 24 hours, on the SpO2 scale a clinician
// decided for the patient (Scale 1 without a decision). It is scored only
// when all seven parameters were recorded within the hour ending at the
// newest of them; otherwise it is incomplete, naming what is missing or
// stale. It is computed from the current versions on every request, so an
// amended or withdrawn reading counts as it now stands.
func (s *observationRoutes) news2(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId")
	patientID := requiredPatient(c, verr)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	auditOf(c).about(audit.ActionRead, entityNEWS2, "", &patientID)
	if !s.patientExists(c, patientID) {
		return
	}
	decision, err := s.store.SpO2Scale(ctx, patientID)
	if err != nil {
		s.fail(c, err)
		return
	}
	now := s.now()
	readings, err := s.store.NEWS2Readings(ctx, patientID, now, news2Lookback)
	if err != nil {
		s.fail(c, err)
		return
	}
	combined, err := observation.CombineNEWS2(readings, decision.Scale, observation.DefaultNEWS2Window)
	if err != nil {
		// Stored readings are checked when recorded: a refusal here is ours.
		s.fail(c, fmt.Errorf("NEWS2 of stored readings of patient %s: %s", patientID, err.Error()))
		return
	}
	answer := NEWS2Answer{PatientID: &patientID, Status: combined.Status, Scale: scaleView(decision).Scale,
		Missing: combined.Missing, Stale: combined.Stale, ScaleDecision: scaleView(decision), Parameters: []NEWS2ParameterView{}}
	if !combined.WindowEnd.IsZero() {
		answer.WindowStart, answer.WindowEnd = &combined.WindowStart, &combined.WindowEnd
	}
	if combined.Score != nil {
		answer.scored(*combined.Score)
		if r := combined.Score.Response; !r.Continuous && r.Every > 0 {
			due := combined.WindowEnd.Add(r.Every)
			overdue := now.After(due)
			answer.NextDueAt, answer.Overdue = &due, &overdue
		}
	}
	for _, p := range combined.Parameters {
		r := p.Reading
		v := NEWS2ParameterView{Parameter: p.Parameter, Code: r.Code, Answer: r.Answer, Time: &r.Time, SourceID: &r.SourceID, Stale: p.Stale}
		if r.Answer == "" {
			value := r.Value
			v.Value = &value
		}
		if combined.Score != nil {
			v.Score = subScore(*combined.Score, p.Parameter)
			if p.Parameter == observation.ParamAirOrOxygen {
				oxygen := combined.Score.Scores.AirOrOxygen > 0
				v.SupplementalOxygen = &oxygen
			}
		}
		answer.Parameters = append(answer.Parameters, v)
	}
	c.JSON(http.StatusOK, answer)
}

// scored fills in a score's total, risk and response.
func (a *NEWS2Answer) scored(n observation.NEWS2) {
	total, red := n.Total, n.RedScore
	a.Total, a.RedScore, a.Risk, a.Scale = &total, &red, n.Risk, n.Scale
	a.Response = &NEWS2ResponseView{Threshold: n.Response.Threshold, Frequency: n.Response.Frequency,
		Every: isoDuration(n.Response.Every), Continuous: n.Response.Continuous, Action: n.Response.Action}
}

// subScore is the Chart 1 score of parameter p.
func subScore(n observation.NEWS2, p observation.NEWS2Parameter) *int {
	s := n.Scores
	var v int
	switch p {
	case observation.ParamRespirationRate:
		v = s.RespiratoryRate
	case observation.ParamSpO2:
		v = s.SpO2
	case observation.ParamAirOrOxygen:
		v = s.AirOrOxygen
	case observation.ParamSystolicBP:
		v = s.SystolicBP
	case observation.ParamPulse:
		v = s.Pulse
	case observation.ParamConsciousness:
		v = s.Consciousness
	case observation.ParamTemperature:
		v = s.Temperature
	default:
		return nil
	}
	return &v
}

// spo2ScaleBody is POST /v1/patients/{id}/spo2-scale.
type spo2ScaleBody struct {
	Scale     int    `json:"scale"`
	Reason    string `json:"reason"`
	DecidedBy string `json:"decidedBy"`
}

// decideSpO2Scale serves POST /v1/patients/{id}/spo2-scale: the acting
// clinician's decision of the patient's NEWS2 SpO2 scale (Scale 2 for
// hypercapnic respiratory failure), which revokes the one before; who and
// when are stored with it and in its audit record.
func (s *observationRoutes) decideSpO2Scale(c *gin.Context) {
	patientID, ok := uuidParam(c, "is not a patient id (UUID)")
	if !ok {
		return
	}
	var b spo2ScaleBody
	if readJSON(c, &b) == nil {
		return
	}
	by, ok := actor(c, "decidedBy", b.DecidedBy)
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entitySpO2Scale, "", &patientID)
	if !s.patientExists(c, patientID) {
		return
	}
	d, err := s.store.SetSpO2Scale(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), patientID,
		observation.SpO2Scale(b.Scale), by, b.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.stored()
	c.Header("Location", "/v1/patients/"+patientID.String()+"/spo2-scale")
	c.JSON(http.StatusCreated, scaleView(d))
}

// getSpO2Scale serves GET /v1/patients/{id}/spo2-scale: the decision in
// force, or Scale 1 when no clinician has decided.
func (s *observationRoutes) getSpO2Scale(c *gin.Context) {
	patientID, ok := uuidParam(c, "is not a patient id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, entitySpO2Scale, "", &patientID)
	if !s.patientExists(c, patientID) {
		return
	}
	d, err := s.store.SpO2Scale(c.Request.Context(), patientID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, scaleView(d))
}

// patientExists answers 404 for a patient the register does not hold.
func (s *observationRoutes) patientExists(c *gin.Context, id uuid.UUID) bool {
	found, err := s.store.Demographics(c.Request.Context(), []uuid.UUID{id})
	if err != nil {
		s.fail(c, err)
		return false
	}
	if _, ok := found[id]; !ok {
		abort(c, http.StatusNotFound, CodeNotFound, "No such patient.")
		return false
	}
	return true
}

// news2HistoryRange bounds the span one NEWS2 history request covers.
const news2HistoryRange = 31 * 24 * time.Hour

// NEWS2Point is one scored set of a patient's NEWS2 history.
type NEWS2Point struct {
	ID          uuid.UUID             `json:"id"`
	Total       int                   `json:"total"`
	Risk        observation.NEWS2Risk `json:"risk"`
	RedScore    bool                  `json:"redScore"`
	Scale       observation.SpO2Scale `json:"scale"`
	WindowStart time.Time             `json:"windowStart"`
	WindowEnd   time.Time             `json:"windowEnd"`
	ScoredAt    time.Time             `json:"scoredAt"`
}

// news2History serves GET /v1/observations/news2/history: the patient's
// complete NEWS2 sets that ended in [from, to] (the last 24 hours by
// default), oldest first, each as the observation service scored it when
// the set was completed — the trend a NEWS2 chart draws.
func (s *observationRoutes) news2History(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "from", "to", "limit")
	patientID := requiredPatient(c, verr)
	from, to := queryTime(c, verr, "from"), queryTime(c, verr, "to")
	if to.IsZero() && !hasParam(verr, "to") {
		to = s.now()
	}
	if from.IsZero() && !hasParam(verr, "from") && !to.IsZero() {
		from = to.Add(-news2Lookback)
	}
	switch {
	case hasParam(verr, "from") || hasParam(verr, "to"):
	case !from.Before(to):
		verr.Add("from", "must be before to")
	case to.Sub(from) > news2HistoryRange:
		verr.Add("from", "must be at most 31 days before to")
	}
	limit := limitParam(c, verr, 500, 1000)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityNEWS2, "", &patientID)
	if !s.patientExists(c, patientID) {
		return
	}
	scores, err := s.store.NEWS2History(c.Request.Context(), patientID, from, to, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	points := make([]NEWS2Point, 0, len(scores))
	for _, sc := range scores {
		points = append(points, NEWS2Point{ID: sc.ID, Total: sc.Total, Risk: sc.Risk, RedScore: sc.RedScore, Scale: sc.Scale,
			WindowStart: sc.WindowStart, WindowEnd: sc.WindowEnd, ScoredAt: sc.ScoredAt})
	}
	c.JSON(http.StatusOK, gin.H{"patientId": patientID, "from": from, "to": to, "data": points})
}
