package notify_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// alerter records what the consumer asks of it, by observation code,
// failing the first ask about failCode.
type alerter struct {
	mu       sync.Mutex
	asked    []string
	failCode string
}

func (a *alerter) ask(what string, code string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, what)
	if code != "" && code == a.failCode {
		a.failCode = ""
		return errors.New("temporal unavailable")
	}
	return nil
}

func (a *alerter) Critical(_ context.Context, ev observation.EventData) (alert.Raised, bool, error) {
	return alert.Raised{}, false, a.ask("critical "+ev.Code, ev.Code)
}

func (a *alerter) NEWS2(_ context.Context, evs []observation.EventData) (*observation.NEWS2Score, error) {
	codes := make([]string, len(evs))
	for i, ev := range evs {
		codes[i] = ev.Code
	}
	return nil, a.ask("news2 "+strings.Join(codes, ","), "")
}

func (a *alerter) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.asked)
}

// Every observation an event carries is asked about — a critical value's
// alert for each, NEWS2 once per write — whatever form its event takes: the
// observations of one write of a patient (observation.recorded), one
// observation (observation.critical, .amended, and observation.recorded as
// it was written before). A failed ask is asked again; other events and
// malformed ones ask nothing.
func TestObservationConsumerAsksAboutEveryObservation(t *testing.T) {
	if notify.ObservationsGroupID == "" {
		t.Fatal("no consumer group")
	}
	e := newEnv(t)
	patient := uuid.Must(uuid.NewV7())
	obs := func(code string) observation.EventData {
		return observation.EventData{ID: uuid.Must(uuid.NewV7()), Version: 1, PatientID: patient, Code: code,
			Status: observation.StatusFinal, EffectiveAt: time.Now().UTC().Truncate(time.Second)}
	}
	clinical := func(typ string, data any) postgres.OutboxEvent {
		ev := event(typ, patient.String(), data)
		ev.Topic, ev.Source = kafka.TopicClinical, "/v1/observations"
		return ev
	}
	otherPatient := obs(observation.CodeSpO2)
	otherPatient.PatientID = uuid.Must(uuid.NewV7())
	e.publish(t,
		clinical(observation.EventRecorded, postgres.RecordedEvent{PatientID: patient, Observations: []observation.EventData{
			obs(observation.CodeRespiratoryRate), obs(observation.CodePotassium), obs(observation.CodeSpO2)}}),
		clinical(observation.EventCritical, obs(observation.CodePotassium)),
		clinical(observation.EventAmended, obs(observation.CodeHeartRate)),
		clinical(observation.EventRecorded, obs(observation.CodeBodyTemperature)), // the form before
		clinical(observation.EventEnteredInError, obs(observation.CodeHeartRate)),
		clinical(observation.EventRecorded, map[string]any{"patientId": patient, "observations": []any{}}),
		clinical(observation.EventRecorded, postgres.RecordedEvent{PatientID: patient, Observations: []observation.EventData{otherPatient}}),
		clinical("patient.updated", map[string]any{"id": patient}),
		clinical(observation.EventRecorded, postgres.RecordedEvent{PatientID: patient, Observations: []observation.EventData{
			obs(observation.CodeConsciousness)}}),
	)
	a := &alerter{failCode: observation.CodeBodyTemperature}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- notify.NewObservationConsumer([]string{e.broker.Addr()}, a, testLogger(t)).Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	want := []string{
		"critical 9279-1", "critical 2823-3", "critical 59408-5", "news2 9279-1,2823-3,59408-5",
		"critical 2823-3",
		"critical 8867-4", "news2 8867-4",
		"critical 8310-5", "critical 8310-5", "news2 8310-5", // the first ask failed
		"critical 67775-7", "news2 67775-7",
	}
	eventually(t, 30*time.Second, "every observation asked about", func() bool { return len(a.all()) >= len(want) })
	time.Sleep(500 * time.Millisecond) // nothing more comes
	if got := a.all(); !slices.Equal(got, want) {
		t.Fatalf("asked %q,\nwant  %q", got, want)
	}
}
