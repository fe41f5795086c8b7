package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// A result recorded through the diagnostic service names its order
// (basedOn), through either write path: it reads back with it from every
// read, its events carry it — so the alert consumer can tell the diagnostic
// process's own critical callback from a ward's critical value — and its
// amendments and withdrawal keep it. An observation of no order has none,
// and its events name none.
func TestObservationBasedOnIsStoredReadAndPublished(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewObservationStore(pool)
	patient := pgtest.Patient(t, pool)
	order, otherOrder := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	at := obsNow.Add(-2 * time.Hour)
	ordered := func(in observation.Input, basedOn *uuid.UUID) observation.Observation {
		t.Helper()
		o := newObs(t, in)
		o.BasedOn = basedOn
		return o
	}

	// The batch path: a critical potassium of the order, and a ward's
	// critical heart rate beside it.
	potassium := ordered(vital(patient, observation.CodePotassium, 7.1, "mmol/L", at), &order)
	ward := ordered(vital(patient, observation.CodeHeartRate, 190, "/min", at), nil)
	if !potassium.Critical() || !ward.Critical() {
		t.Fatal("the readings are not critical")
	}
	if _, _, err := s.RecordBatch(ctx, nil, nil, []observation.Observation{potassium, ward}); err != nil {
		t.Fatal(err)
	}
	// The single path: a creatinine of another order.
	creatinine := ordered(vital(patient, observation.CodeCreatinine, 1.1, "mg/dL", at.Add(time.Minute)), &otherOrder)
	if _, _, err := s.Record(ctx, nil, nil, creatinine); err != nil {
		t.Fatal(err)
	}

	for _, o := range []observation.Observation{potassium, ward, creatinine} {
		got, _, err := s.Get(ctx, o.ID)
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("get %s:\n got %+v\nwant %+v (%v)", o.Code, got, o, err)
		}
	}
	read, err := s.Observations(ctx, []uuid.UUID{potassium.ID, ward.ID, creatinine.ID})
	if err != nil || !sameOrders(read, &order, nil, &otherOrder) {
		t.Errorf("observations by id: %v, %v", basedOnOf(read), err)
	}
	latest, err := s.Latest(ctx, patient, []string{observation.CodePotassium, observation.CodeHeartRate, observation.CodeCreatinine})
	if err != nil || !sameOrders(latest, &order, nil, &otherOrder) {
		t.Errorf("latest: %v, %v", basedOnOf(latest), err)
	}
	page, err := s.List(ctx, observation.Filter{PatientID: patient, Codes: []string{observation.CodePotassium}})
	if err != nil || !sameOrders(page.Observations, &order) {
		t.Errorf("list: %v, %v", basedOnOf(page.Observations), err)
	}

	// The events: the recorded events carry each observation's order, and
	// the critical events name the order of the potassium only.
	events := observationEvents(t, pool, patient)
	var recorded []observation.EventData
	for _, ev := range recordedEvents(t, pool, patient) {
		recorded = append(recorded, ev.Observations...)
	}
	if len(recorded) != 3 || !sameEventOrders(recorded, &order, nil, &otherOrder) {
		t.Errorf("recorded events carry %d observations, orders %v", len(recorded), eventOrders(recorded))
	}
	critical := events[observation.EventCritical]
	if len(critical) != 2 || !sameEventOrders(decodeEvents(t, critical), &order, nil) {
		t.Fatalf("critical events %s", critical)
	}
	if bytes.Contains(critical[1], []byte("basedOn")) {
		t.Errorf("the ward's critical event names an order: %s", critical[1])
	}

	// An amendment keeps the order; so does one made without it (the store
	// reads the previous version's), and the withdrawal.
	v2, err := observation.Amend(potassium, vital(uuid.Nil, observation.CodePotassium, 6.9, "mmol/L", at), adult, "haemolysed: repeated", obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	if v2.BasedOn == nil || *v2.BasedOn != order {
		t.Fatalf("observation.Amend dropped the order: %v", v2.BasedOn)
	}
	if err := s.Amend(ctx, nil, v2); err != nil {
		t.Fatal(err)
	}
	v3, err := observation.Amend(v2, vital(uuid.Nil, observation.CodePotassium, 6.8, "mmol/L", at), adult, "transcription", obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	v3.BasedOn = nil
	if err := s.Amend(ctx, nil, v3); err != nil {
		t.Fatal(err)
	}
	current, _, err := s.Get(ctx, potassium.ID)
	if err != nil || current.Version != 3 || !sameOrders([]observation.Observation{current}, &order) {
		t.Fatalf("after the amendments: version %d of order %v, %v", current.Version, current.BasedOn, err)
	}
	void, err := observation.Void(current, "wrong patient", obsBy, obsNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Void(ctx, nil, void); err != nil {
		t.Fatal(err)
	}
	_, versions, err := s.Get(ctx, potassium.ID)
	if err != nil || len(versions) != 4 || !sameOrders(versions, &order, &order, &order, &order) {
		t.Fatalf("versions: %v, %v", basedOnOf(versions), err)
	}
	events = observationEvents(t, pool, patient)
	amended, withdrawn := decodeEvents(t, events[observation.EventAmended]), decodeEvents(t, events[observation.EventEnteredInError])
	if len(amended) != 2 || !sameEventOrders(amended, &order, &order) || len(withdrawn) != 1 || !sameEventOrders(withdrawn, &order) {
		t.Errorf("amended events of orders %v, withdrawn %v", eventOrders(amended), eventOrders(withdrawn))
	}
	if critical := decodeEvents(t, events[observation.EventCritical]); len(critical) != 4 || !sameEventOrders(critical, &order, nil, &order, &order) {
		t.Errorf("critical events of orders %v", eventOrders(critical))
	}
}

// observationEvents reads the data of the patient's observation events by
// type, oldest first, as stored.
func observationEvents(t *testing.T, pool *pgxpool.Pool, patient uuid.UUID) map[string][][]byte {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT type, data FROM outbox WHERE key = $1 AND type LIKE 'observation.%' ORDER BY seq`,
		patient.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][][]byte{}
	for rows.Next() {
		var (
			typ  string
			data []byte
		)
		if err := rows.Scan(&typ, &data); err != nil {
			t.Fatal(err)
		}
		out[typ] = append(out[typ], data)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeEvents(t *testing.T, data [][]byte) []observation.EventData {
	t.Helper()
	out := make([]observation.EventData, len(data))
	for i, d := range data {
		if err := json.Unmarshal(d, &out[i]); err != nil {
			t.Fatalf("event %s: %v", d, err)
		}
	}
	return out
}

func sameOrders(obs []observation.Observation, want ...*uuid.UUID) bool {
	return reflect.DeepEqual(basedOnOf(obs), want)
}

func sameEventOrders(evs []observation.EventData, want ...*uuid.UUID) bool {
	return reflect.DeepEqual(eventOrders(evs), want)
}

func basedOnOf(obs []observation.Observation) []*uuid.UUID {
	out := make([]*uuid.UUID, len(obs))
	for i, o := range obs {
		out[i] = o.BasedOn
	}
	return out
}

func eventOrders(evs []observation.EventData) []*uuid.UUID {
	out := make([]*uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.BasedOn
	}
	return out
}
