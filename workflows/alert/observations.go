package alert

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// The categories of the alerts observations raise; routing rules choose
// their policies by category.
const (
	CategoryCriticalValue = "critical-value"
	CategoryNEWS2Medium   = "news2-medium"
	CategoryNEWS2High     = "news2-high"
)

// hospitalUnit is where an alert goes whose patient has no open encounter:
// the hospital-wide team, so it still reaches someone.
const hospitalUnit = "hospital"

// ObservationAlertStore is what raising and clearing the alerts of
// observations reads and writes of the alerts' read model.
type ObservationAlertStore interface {
	RaiseStore
	CurrentLocation(ctx context.Context, patientID uuid.UUID, encounterID *uuid.UUID) (alert.Location, error)
	ListAlerts(ctx context.Context, f alert.Filter) (alert.Page, error)
}

// ObservationReadings is what scoring NEWS2 reads and writes of the
// observation store.
type ObservationReadings interface {
	Get(ctx context.Context, id uuid.UUID) (observation.Observation, []observation.Observation, error)
	NEWS2Readings(ctx context.Context, patientID uuid.UUID, at time.Time, window time.Duration) ([]observation.Reading, error)
	SpO2Scale(ctx context.Context, patientID uuid.UUID) (observation.ScaleDecision, error)
	SaveNEWS2(ctx context.Context, rec *audit.Record, patientID uuid.UUID, c observation.CombinedNEWS2) (observation.NEWS2Score, error)
}

// ObservationAlerts turns recorded observations into alerts, as a consumer
// of their events asks (integrations/notify ObservationConsumer):
//
//   - a critical (panic) value raises a critical alert that escalates until
//     someone acknowledges it, to the patient's open encounter's unit — its
//     clinicians and whoever the policy names — or, with no open encounter,
//     to the hospital-wide team; a repeated critical value of the same test
//     joins the open alert;
//   - a NEWS2 parameter completes, with the patient's other readings in the
//     window, a set that is scored and stored (RCP NEWS2 2017, Chart 1 and
//     the clinical response, Chart 4): a medium score (5-6) raises an urgent
//     review alert, a high one (7 or more) an emergency alert; a newer score
//     that falls back resolves the alerts above it, in the name of whoever
//     recorded the reading that lowered it.
//
// Both are idempotent: an event handled twice raises and stores nothing more.
type ObservationAlerts struct {
	Client       client.Client
	Alerts       ObservationAlertStore
	Observations ObservationReadings
	// Orders reads the diagnostic orders results name (Observation.basedOn):
	// a critical result an open order awaits is the order's read-back
	// callback's to telephone. Nil raises every critical value's alert.
	Orders DiagnosticOrders
	// Window is how far apart the readings of one NEWS2 set may be; zero is
	// observation.DefaultNEWS2Window.
	Window time.Duration
	Now    func() time.Time
}

func (o ObservationAlerts) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Critical raises the alert of a critical value, once per observation. An
// event of a value that is not critical, or no longer in force, raises
// nothing.
func (o ObservationAlerts) Critical(ctx context.Context, ev observation.EventData) (alert.Raised, bool, error) {
	if !ev.Interpretation.Flag.Critical() || ev.Status == observation.StatusEnteredInError {
		return alert.Raised{}, false, nil
	}
	if ev.BasedOn != nil {
		owned, err := o.ownedByOrder(ctx, ev)
		if err != nil || owned {
			return alert.Raised{}, false, err
		}
	}
	r, err := o.placed(ctx, alert.Raise{
		PatientID: ev.PatientID, EncounterID: ev.EncounterID, Severity: alert.SeverityCritical,
		Category: CategoryCriticalValue, Message: criticalMessage(ev),
		// One open alert per patient and test: a repeat joins it.
		Source: CriticalValueSource(ev.Code),
	})
	if err != nil {
		return alert.Raised{}, false, err
	}
	idem := alert.RaiseIdempotency("observation-critical", ev.ID.String()+"/"+strconv.Itoa(ev.Version))
	raised, err := Raise(ctx, o.Client, o.Alerts, alert.RaiseRequest{Raise: r, At: o.now(), Idempotency: &idem})
	return raised, err == nil, err
}

// CriticalValueSource is the source of the critical-value alerts of a
// test's results: one open alert per patient and test.
func CriticalValueSource(code string) string { return "observation/" + code }

// DiagnosticOrders reads the diagnostic orders results name.
type DiagnosticOrders interface {
	Get(ctx context.Context, id uuid.UUID) (diagnostic.Report, error)
}

// ownedByOrder reports whether a critical result is the diagnostic order's
// to telephone, so that one alert rings for it, not two: the order it was
// recorded for stands open and awaits that test, so its read-back callback,
// and the critical-result alert to the orderer, follow the result into the
// report. The order exists before any of its results is stored. An order
// that is closed, unknown or does not order the test — or no order reader
// — leaves the value its own alert; should one be raised all the same, the
// callback resolves it when it takes over (activities/diagnostic
// YieldCriticalValues).
func (o ObservationAlerts) ownedByOrder(ctx context.Context, ev observation.EventData) (bool, error) {
	if o.Orders == nil {
		return false, nil
	}
	r, err := o.Orders.Get(ctx, *ev.BasedOn)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("diagnostic order %s: %w", *ev.BasedOn, err)
	}
	return !r.Status.Closed() && slices.Contains(r.Order.ResultCodes(), ev.Code), nil
}

// NEWS2 scores the set that evs — one write's observations of one patient,
// as an observation.recorded event carries them — complete, stores the score
// and raises or clears the patient's NEWS2 alerts as the newest score says.
// The set is the one the newest NEWS2 reading among evs completes, so a
// write is scored once, not once per reading. A write of no NEWS2 reading,
// one a newer reading follows, or a set not complete within the window,
// does nothing. Observations of more than one patient are a
// *domain.ValidationError.
func (o ObservationAlerts) NEWS2(ctx context.Context, evs []observation.EventData) (*observation.NEWS2Score, error) {
	var ev *observation.EventData
	for i := range evs {
		if evs[i].PatientID != evs[0].PatientID {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "observations",
				Message: "are of more than one patient: " + evs[0].PatientID.String() + ", " + evs[i].PatientID.String()}}}
		}
		if feedsNEWS2(evs[i]) && (ev == nil || evs[i].EffectiveAt.After(ev.EffectiveAt)) {
			ev = &evs[i]
		}
	}
	if ev == nil {
		return nil, nil
	}
	window := o.Window
	if window <= 0 {
		window = observation.DefaultNEWS2Window
	}
	// The newest reading of each parameter from the window before this one
	// up to now. A reading newer than this one will score the set when its
	// own event comes: readings recorded apart are scored once, as a set,
	// not once per partial mix of old and new; and so the set this one
	// completes is the patient's newest.
	end := o.now()
	if ev.EffectiveAt.After(end) {
		end = ev.EffectiveAt
	}
	readings, err := o.Observations.NEWS2Readings(ctx, ev.PatientID, end, end.Sub(ev.EffectiveAt)+window)
	if err != nil {
		return nil, fmt.Errorf("NEWS2 readings of patient %s: %w", ev.PatientID, err)
	}
	for _, r := range readings {
		if r.Time.After(ev.EffectiveAt) {
			return nil, nil
		}
	}
	// Scale 1 unless a clinician has decided on Scale 2.
	decision, err := o.Observations.SpO2Scale(ctx, ev.PatientID)
	if err != nil {
		return nil, fmt.Errorf("SpO2 scale of patient %s: %w", ev.PatientID, err)
	}
	combined, err := observation.CombineNEWS2(readings, decision.Scale, window)
	if err != nil {
		return nil, fmt.Errorf("combine NEWS2 readings: %w", err)
	}
	if combined.Status != observation.CombinedComplete {
		return nil, nil
	}
	score, err := o.Observations.SaveNEWS2(ctx, nil, ev.PatientID, combined)
	if err != nil {
		return nil, fmt.Errorf("save NEWS2: %w", err)
	}
	return &score, o.follow(ctx, *ev, score)
}

// follow raises the alert the score's risk calls for and resolves the
// NEWS2 alerts above it.
func (o ObservationAlerts) follow(ctx context.Context, ev observation.EventData, score observation.NEWS2Score) error {
	// What the risk raises, and the alerts above it that a fall resolves.
	var (
		raise    string
		severity alert.Severity
		message  string
		clear    []string
	)
	switch score.Risk {
	case observation.RiskHigh:
		raise, severity = CategoryNEWS2High, alert.SeverityCritical
		message = fmt.Sprintf("NEWS2 %d (high): emergency assessment by a team with critical-care competencies; continuous monitoring", score.Total)
	case observation.RiskMedium:
		raise, severity = CategoryNEWS2Medium, alert.SeverityUrgent
		message = fmt.Sprintf("NEWS2 %d (medium): urgent review by a clinician within the hour; monitor at least hourly", score.Total)
		clear = []string{CategoryNEWS2High}
	default:
		clear = []string{CategoryNEWS2High, CategoryNEWS2Medium}
	}
	if raise != "" {
		r, err := o.placed(ctx, alert.Raise{PatientID: ev.PatientID, EncounterID: ev.EncounterID, Severity: severity,
			Category: raise, Message: message, Source: "observation/news2"})
		if err != nil {
			return err
		}
		idem := alert.RaiseIdempotency("news2-alert", score.ID.String())
		if _, err := Raise(ctx, o.Client, o.Alerts, alert.RaiseRequest{Raise: r, At: o.now(), Idempotency: &idem}); err != nil {
			return fmt.Errorf("raise %s: %w", raise, err)
		}
	}
	if len(clear) == 0 {
		return nil
	}
	return o.clear(ctx, ev, score, clear)
}

// clear resolves the patient's open alerts of the categories, in the name
// of whoever recorded the observation whose score fell back.
func (o ObservationAlerts) clear(ctx context.Context, ev observation.EventData, score observation.NEWS2Score, categories []string) error {
	page, err := o.Alerts.ListAlerts(ctx, alert.Filter{Active: true, PatientID: ev.PatientID, Limit: 100})
	if err != nil {
		return fmt.Errorf("open alerts of patient %s: %w", ev.PatientID, err)
	}
	var open []alert.Record
	for _, a := range page.Alerts {
		if slices.Contains(categories, a.Category) {
			open = append(open, a)
		}
	}
	if len(open) == 0 {
		return nil
	}
	obs, _, err := o.Observations.Get(ctx, ev.ID)
	if err != nil {
		return fmt.Errorf("observation %s: %w", ev.ID, err)
	}
	if obs.Performer.PractitionerID == nil {
		return nil // nobody to resolve in the name of; the alerts stay for a person
	}
	note := fmt.Sprintf("NEWS2 fell to %d (%s) at %s", score.Total, score.Risk, score.WindowEnd.UTC().Format(time.RFC3339))
	for _, a := range open {
		if err := (Resolver{Client: o.Client}).ResolveAlert(ctx, a.ID, *obs.Performer.PractitionerID, note); err != nil {
			return fmt.Errorf("resolve alert %s: %w", a.ID, err)
		}
	}
	return nil
}

// placed sets where the alert goes: the unit of the patient's open
// encounter, else the hospital-wide team.
func (o ObservationAlerts) placed(ctx context.Context, r alert.Raise) (alert.Raise, error) {
	loc, err := o.Alerts.CurrentLocation(ctx, r.PatientID, r.EncounterID)
	switch {
	case err == nil:
		r.Unit, r.EncounterID = loc.Unit, &loc.EncounterID
	case errors.Is(err, domain.ErrNotFound):
		r.Unit = hospitalUnit
	default:
		return r, fmt.Errorf("where patient %s is: %w", r.PatientID, err)
	}
	return r, nil
}

// feedsNEWS2 reports whether the event's observation is a NEWS2 reading:
// one of its parameters, or a panel holding one.
func feedsNEWS2(ev observation.EventData) bool {
	if ev.Status == observation.StatusEnteredInError {
		return false
	}
	if _, ok := observation.ParameterOf(ev.Code); ok {
		return true
	}
	for _, c := range ev.Components {
		if _, ok := observation.ParameterOf(c.Code); ok {
			return true
		}
	}
	return false
}

// criticalMessage says what the critical value is, e.g. "Critical value:
// Potassium 7.1 mmol/L (HH)".
func criticalMessage(ev observation.EventData) string {
	name := ev.Code
	if d, ok := observation.Lookup(ev.Code); ok {
		name = d.Display
	}
	value := ""
	switch {
	case ev.Quantity != nil:
		value = " " + strconv.FormatFloat(ev.Quantity.Value, 'f', -1, 64) + " " + ev.Quantity.Unit
	case ev.Answer != "":
		value = " " + ev.Answer
	}
	for _, c := range ev.Components {
		if c.Interpretation.Flag.Critical() {
			value += fmt.Sprintf(" %s %s %s", c.Code, strconv.FormatFloat(c.Quantity.Value, 'f', -1, 64), c.Quantity.Unit)
		}
	}
	return fmt.Sprintf("Critical value: %s%s (%s)", name, value, ev.Interpretation.Flag)
}
