package notify_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// rechecker records what it was asked, failing the first ask of a patient
// in failOnce.
type rechecker struct {
	mu       sync.Mutex
	asked    []string
	failOnce map[uuid.UUID]bool
}

func (r *rechecker) ask(what string, patient uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, what)
	if r.failOnce[patient] {
		delete(r.failOnce, patient)
		return fmt.Errorf("temporal unavailable")
	}
	return nil
}

func (r *rechecker) RecheckForAllergy(_ context.Context, patientID uuid.UUID, cause string) error {
	return r.ask("allergy "+patientID.String()+" "+cause, patientID)
}

func (r *rechecker) RecheckForPrescription(_ context.Context, patientID, id uuid.UUID, ended bool) error {
	return r.ask(fmt.Sprintf("prescription %s %s ended=%v", patientID, id, ended), patientID)
}

func (r *rechecker) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.asked)
}

// Allergy events and the events of prescriptions placed and ended, on the
// clinical topic, each recheck the patient's prescriptions; a failed
// recheck is asked again; other events and malformed ones ask nothing.
func TestPrescriptionRechecksFollowThePatientsEvents(t *testing.T) {
	for _, pair := range [][2]string{
		{notify.EventAllergyRecorded, postgres.EventAllergyRecorded},
		{notify.EventAllergyUpdated, postgres.EventAllergyUpdated},
	} {
		if pair[0] != pair[1] {
			t.Fatalf("the consumer reads %q, the allergy store publishes %q", pair[0], pair[1])
		}
	}
	e := newEnv(t)
	patient, rx := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	allergyID := uuid.Must(uuid.NewV7())
	clinical := func(typ string, data any) postgres.OutboxEvent {
		ev := event(typ, patient.String(), data)
		ev.Topic = kafka.TopicClinical
		return ev
	}
	allergy := clinical(notify.EventAllergyRecorded, map[string]any{"id": allergyID, "patientId": patient})
	allergy.Subject = "AllergyIntolerance/" + allergyID.String()
	details := map[string]any{"details": map[string]any{"id": rx, "patientId": patient}}
	e.publish(t,
		allergy,
		clinical(notify.EventPrescriptionCreated, details),
		clinical("prescription.verified", details),
		clinical(notify.EventPrescriptionDiscontinued, details),
		clinical(notify.EventAllergyUpdated, map[string]any{"note": "no patient"}),
	)
	r := &rechecker{failOnce: map[uuid.UUID]bool{patient: true}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- notify.NewPrescriptionRecheckConsumer([]string{e.broker.Addr()}, r, testLogger(t)).Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	wantAllergy := "allergy " + patient.String() + " allergy/" + allergyID.String()
	want := []string{wantAllergy, wantAllergy, // the first ask failed
		fmt.Sprintf("prescription %s %s ended=false", patient, rx),
		fmt.Sprintf("prescription %s %s ended=true", patient, rx)}
	eventually(t, 30*time.Second, "every recheck asked", func() bool { return len(r.all()) >= len(want) })
	time.Sleep(500 * time.Millisecond) // nothing more comes
	if got := r.all(); !slices.Equal(got, want) {
		t.Fatalf("asked %q, want %q", got, want)
	}
}
