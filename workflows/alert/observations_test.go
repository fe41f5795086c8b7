package alert_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
)

// readingsStore answers NEWS2Readings with one reading, an incomplete set,
// and records what it was asked.
type readingsStore struct {
	asked []time.Duration // the windows asked for, back from the time asked at
	at    []time.Time
}

func (r *readingsStore) Get(context.Context, uuid.UUID) (observation.Observation, []observation.Observation, error) {
	return observation.Observation{}, nil, errors.New("not read")
}

func (r *readingsStore) NEWS2Readings(_ context.Context, _ uuid.UUID, at time.Time, window time.Duration) ([]observation.Reading, error) {
	r.at, r.asked = append(r.at, at), append(r.asked, window)
	return []observation.Reading{{Code: observation.CodeHeartRate, Value: 80, Time: at.Add(-window)}}, nil
}

func (r *readingsStore) SpO2Scale(_ context.Context, patientID uuid.UUID) (observation.ScaleDecision, error) {
	return observation.ScaleDecision{PatientID: patientID, Scale: observation.SpO2Scale1}, nil
}

func (r *readingsStore) SaveNEWS2(context.Context, *audit.Record, uuid.UUID, observation.CombinedNEWS2) (observation.NEWS2Score, error) {
	return observation.NEWS2Score{}, errors.New("an incomplete set is not saved")
}

// A write's observations are scored once, as the set their newest NEWS2
// reading completes; a write without a NEWS2 reading reads nothing, and one
// of two patients is refused.
func TestNEWS2ScoresAWriteOnceFromItsNewestReading(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	patient := uuid.Must(uuid.NewV7())
	reading := func(code string, minutesAgo int) observation.EventData {
		return observation.EventData{ID: uuid.Must(uuid.NewV7()), Version: 1, PatientID: patient, Code: code,
			Status: observation.StatusFinal, EffectiveAt: now.Add(-time.Duration(minutesAgo) * time.Minute)}
	}
	store := &readingsStore{}
	a := alertwf.ObservationAlerts{Observations: store, Window: time.Hour, Now: func() time.Time { return now }}
	write := []observation.EventData{
		reading(observation.CodeRespiratoryRate, 30),
		reading(observation.CodePotassium, 5), // no NEWS2 parameter, and the newest
		reading(observation.CodeSpO2, 10),     // the newest NEWS2 reading
		reading(observation.CodeHeartRate, 20),
	}
	score, err := a.NEWS2(context.Background(), write)
	if err != nil || score != nil {
		t.Fatalf("an incomplete set: %v, %v", score, err)
	}
	if len(store.asked) != 1 || !store.at[0].Equal(now) || store.asked[0] != 10*time.Minute+time.Hour {
		t.Fatalf("readings asked at %v for %v; want once, at %v for the hour before the SpO2 reading", store.at, store.asked, now)
	}

	if _, err := a.NEWS2(context.Background(), []observation.EventData{reading(observation.CodePotassium, 1)}); err != nil || len(store.asked) != 1 {
		t.Fatalf("a potassium alone read NEWS2 readings: %v, %d asks", err, len(store.asked))
	}
	other := reading(observation.CodeHeartRate, 1)
	other.PatientID = uuid.Must(uuid.NewV7())
	var verr *domain.ValidationError
	if _, err := a.NEWS2(context.Background(), append(write, other)); !errors.As(err, &verr) || len(store.asked) != 1 {
		t.Fatalf("two patients' observations: %v, %d asks", err, len(store.asked))
	}
}

// orders answers the diagnostic orders results name.
type orders struct {
	report diagnostic.Report
	err    error
}

func (o orders) Get(context.Context, uuid.UUID) (diagnostic.Report, error) { return o.report, o.err }

// A critical result of an open order that awaits its test is the order's
// callback's to telephone: no critical-value alert is raised (nothing else
// is consulted: the alert store and the Temporal client are nil). An order
// that cannot be read is an error to retry, never a silent pass.
func TestCriticalResultOfAnOpenOrderIsTheOrdersCallback(t *testing.T) {
	cat, err := diagnostic.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	orderID, patient := uuid.New(), uuid.New()
	report, err := diagnostic.New(diagnostic.Request{ID: orderID, PatientID: patient, Tests: []string{observation.CodePotassium},
		Priority: diagnostic.PriorityStat, OrdererID: uuid.New(), CreatedAt: time.Now()}, cat)
	if err != nil {
		t.Fatal(err)
	}
	ev := observation.EventData{ID: uuid.New(), Version: 1, PatientID: patient, BasedOn: &orderID, Code: observation.CodePotassium,
		Status: observation.StatusFinal, Interpretation: observation.Limits{Flag: observation.FlagCriticalHigh}}
	o := alertwf.ObservationAlerts{Orders: orders{report: report}}
	if _, raised, err := o.Critical(context.Background(), ev); raised || err != nil {
		t.Fatalf("the order's critical result raised its own alert: %v, %v", raised, err)
	}
	o.Orders = orders{err: errors.New("connection refused")}
	if _, raised, err := o.Critical(context.Background(), ev); raised || err == nil {
		t.Fatalf("an unreadable order: raised %v, %v", raised, err)
	}
}
