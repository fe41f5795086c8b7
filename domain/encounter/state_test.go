package encounter_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/encounter"
)

var (
	t0     = time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)
	nurse  = uuid.MustParse("0193a000-0000-7000-8000-000000000001")
	doctor = uuid.MustParse("0193a000-0000-7000-8000-000000000003")
	order1 = uuid.MustParse("0193a000-0000-7000-8000-0000000000c1")
)

func details() encounter.Details {
	return encounter.Details{EncounterID: uuid.MustParse("0193a000-0000-7000-8000-0000000000e1"),
		PatientID: uuid.MustParse("0193a000-0000-7000-8000-0000000000aa"),
		Class:     encounter.ClassEmergency, Reason: "chest pain", Location: "ed-triage", Priority: "urgent"}
}

// step is one transition applied to a state.
type step func(encounter.State) (encounter.State, error)

var (
	arrive step = func(s encounter.State) (encounter.State, error) { return s.Arrive(nurse, t0.Add(time.Minute)) }
	triage step = func(s encounter.State) (encounter.State, error) {
		return s.Triage(nurse, t0.Add(5*time.Minute), 2, "chest pain")
	}
	start step = func(s encounter.State) (encounter.State, error) {
		return s.Start(doctor, t0.Add(20*time.Minute), doctor)
	}
	transfer step = func(s encounter.State) (encounter.State, error) {
		return s.Transfer(nurse, t0.Add(time.Hour), "ward-3")
	}
	dischg step = func(s encounter.State) (encounter.State, error) {
		return s.Discharge(doctor, t0.Add(3*time.Hour), encounter.DispositionHome, false, "")
	}
	cancel step = func(s encounter.State) (encounter.State, error) {
		return s.Cancel(nurse, t0.Add(2*time.Hour), "left before seen")
	}
)

// reach applies steps from a new encounter.
func reach(t *testing.T, steps ...step) encounter.State {
	t.Helper()
	s, err := encounter.New(details(), t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range steps {
		if s, err = f(s); err != nil {
			t.Fatalf("setting up: %v", err)
		}
	}
	return s
}

func TestTransitions(t *testing.T) {
	tests := []struct {
		name     string
		before   []step
		do       step
		want     encounter.Status
		kind     encounter.EventKind
		location string
	}{
		{"arrive", nil, arrive, encounter.StatusArrived, encounter.EventArrived, "ed-triage"},
		{"triage", []step{arrive}, triage, encounter.StatusTriaged, encounter.EventTriaged, "ed-triage"},
		{"start", []step{arrive, triage}, start, encounter.StatusInProgress, encounter.EventStarted, "ed-triage"},
		{"transfer", []step{arrive, triage, start}, transfer, encounter.StatusInProgress, encounter.EventTransferred, "ward-3"},
		{"discharge", []step{arrive, triage, start, transfer}, dischg, encounter.StatusDischarged, encounter.EventDischarged, "ward-3"},
		{"cancel planned", nil, cancel, encounter.StatusCancelled, encounter.EventCancelled, "ed-triage"},
		{"cancel arrived", []step{arrive}, cancel, encounter.StatusCancelled, encounter.EventCancelled, "ed-triage"},
		{"cancel triaged", []step{arrive, triage}, cancel, encounter.StatusCancelled, encounter.EventCancelled, "ed-triage"},
		{"cancel in progress", []step{arrive, triage, start}, cancel, encounter.StatusCancelled, encounter.EventCancelled, "ed-triage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := reach(t, tc.before...)
			n := len(before.Timeline)
			after, err := tc.do(before)
			if err != nil {
				t.Fatal(err)
			}
			if after.Status != tc.want || after.Location != tc.location {
				t.Fatalf("status %s at %s, want %s at %s", after.Status, after.Location, tc.want, tc.location)
			}
			if last := after.Last(); last.Kind != tc.kind || last.Seq != n+1 || len(after.Timeline) != n+1 {
				t.Fatalf("last entry %+v of %d", last, len(after.Timeline))
			}
			if len(before.Timeline) != n {
				t.Fatal("the transition changed the state it was called on")
			}
		})
	}
}

func TestInvalidTransitionsNameTheCurrentStatus(t *testing.T) {
	all := map[string]step{"arrive": arrive, "triage": triage, "start": start, "transfer": transfer, "discharge": dischg, "cancel": cancel}
	allowed := map[encounter.Status][]string{
		encounter.StatusPlanned:    {"arrive", "cancel"},
		encounter.StatusArrived:    {"triage", "cancel"},
		encounter.StatusTriaged:    {"start", "cancel"},
		encounter.StatusInProgress: {"transfer", "discharge", "cancel"},
		encounter.StatusDischarged: nil,
		encounter.StatusCancelled:  nil,
	}
	states := map[encounter.Status][]step{
		encounter.StatusPlanned:    nil,
		encounter.StatusArrived:    {arrive},
		encounter.StatusTriaged:    {arrive, triage},
		encounter.StatusInProgress: {arrive, triage, start},
		encounter.StatusDischarged: {arrive, triage, start, dischg},
		encounter.StatusCancelled:  {cancel},
	}
	for status, path := range states {
		for name, do := range all {
			ok := false
			for _, a := range allowed[status] {
				ok = ok || a == name
			}
			if ok {
				continue
			}
			t.Run(name+" when "+string(status), func(t *testing.T) {
				s := reach(t, path...)
				got, err := do(s)
				if !errors.Is(err, encounter.ErrInvalidTransition) {
					t.Fatalf("err = %v, want ErrInvalidTransition", err)
				}
				if !strings.Contains(err.Error(), string(status)) {
					t.Fatalf("error %q does not name the status %s", err, status)
				}
				if got.Status != status || len(got.Timeline) != len(s.Timeline) {
					t.Fatal("a refused transition changed the state")
				}
			})
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	arrived := reach(t, arrive)
	triaged := reach(t, arrive, triage)
	started := reach(t, arrive, triage, start)
	tests := []struct {
		name string
		err  error
	}{
		{"acuity 0", arrived.CanTriage(0, "cough")},
		{"acuity 6", arrived.CanTriage(6, "cough")},
		{"no complaint", arrived.CanTriage(3, " ")},
		{"no attending", triaged.CanStart(uuid.Nil)},
		{"no location", started.CanTransfer("")},
		{"same location", started.CanTransfer("ed-triage")},
		{"unknown disposition", started.CanDischarge("elsewhere", false, "")},
		{"cancel without reason", started.CanCancel("")},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, encounter.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tc.name, tc.err)
		}
	}
	for a := encounter.Acuity(1); a <= 5; a++ {
		if err := arrived.CanTriage(a, "cough"); err != nil {
			t.Errorf("ESI %d refused: %v", a, err)
		}
	}
}

func TestDischargeWithOpenOrders(t *testing.T) {
	s := reach(t, arrive, triage, start)
	s, linked := s.LinkOrder(order1, encounter.OrderDiagnostic, t0.Add(30*time.Minute))
	if !linked {
		t.Fatal("order not linked")
	}
	if _, again := s.LinkOrder(order1, encounter.OrderDiagnostic, t0.Add(31*time.Minute)); again {
		t.Fatal("an order was linked twice")
	}

	_, err := dischg(s)
	if !errors.Is(err, encounter.ErrOpenOrders) || !strings.Contains(err.Error(), order1.String()) {
		t.Fatalf("discharge with an open order: %v", err)
	}
	if _, err := s.Discharge(doctor, t0.Add(time.Hour), encounter.DispositionHome, true, ""); !errors.Is(err, encounter.ErrInvalidArgument) {
		t.Fatalf("forced without a reason: %v", err)
	}
	forced, err := s.Discharge(doctor, t0.Add(time.Hour), encounter.DispositionAdmitted, true, "result follows the patient to the ward")
	if err != nil || forced.Status != encounter.StatusDischarged || forced.DischargeReason == "" {
		t.Fatalf("forced discharge: %+v, %v", forced.Status, err)
	}

	closed, ok := s.CloseOrder(order1, t0.Add(40*time.Minute))
	if !ok || len(closed.OpenOrders()) != 0 || len(s.OpenOrders()) != 1 {
		t.Fatal("closing the order")
	}
	if _, again := closed.CloseOrder(order1, t0.Add(41*time.Minute)); again {
		t.Fatal("an order was closed twice")
	}
	done, err := dischg(closed)
	if err != nil || done.Status != encounter.StatusDischarged {
		t.Fatalf("discharge after the order closed: %v", err)
	}
	kinds := []encounter.EventKind{}
	for _, e := range done.Timeline {
		kinds = append(kinds, e.Kind)
	}
	want := "[created arrived triaged started order-linked order-closed discharged]"
	if got := fmtKinds(kinds); got != want {
		t.Fatalf("timeline %v, want %s", kinds, want)
	}
}

func fmtKinds(ks []encounter.EventKind) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return "[" + strings.Join(out, " ") + "]"
}

func TestLocationHistory(t *testing.T) {
	s := reach(t, arrive, triage, start, transfer, dischg)
	if len(s.Locations) != 2 {
		t.Fatalf("locations %+v", s.Locations)
	}
	first, second := s.Locations[0], s.Locations[1]
	if first.Location != "ed-triage" || first.Until == nil || !first.Until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("first stay %+v", first)
	}
	if second.Location != "ward-3" || second.Until == nil || !second.Until.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("second stay %+v", second)
	}
}

func TestNewValidatesDetails(t *testing.T) {
	_, err := encounter.New(encounter.Details{Class: "ward-round", Priority: "whenever"}, t0)
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) != 5 {
		t.Fatalf("err = %v", err)
	}
}
