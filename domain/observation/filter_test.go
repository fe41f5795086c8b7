package observation_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

func TestFilterValidate(t *testing.T) {
	ok := observation.Filter{PatientID: patientA, Codes: []string{observation.CodeHeartRate}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := observation.Filter{
		Codes:    []string{observation.CodeHeartRate, "8867-5"},
		Category: "imaging", Status: "deleted", Limit: -1,
		From: recordNow, To: recordNow.Add(-time.Hour),
	}
	want := []string{"patientId", "codes[1]", "category", "status", "to", "limit"}
	if got := fields(t, bad.Validate()); !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for limit, size := range map[int]int{0: 50, 10: 10, 1000: 200} {
		if got := (observation.Filter{PatientID: uuid.New(), Limit: limit}).PageSize(); got != size {
			t.Errorf("limit %d: page of %d, want %d", limit, got, size)
		}
	}
	if got := fields(t, observation.CheckCodes(nil)); !slices.Equal(got, []string{"codes"}) {
		t.Fatalf("no codes: %v", got)
	}
}

func TestComponentCodesFindTheirPanels(t *testing.T) {
	if got := observation.PanelsWith(observation.CodeSystolicBP); !slices.Equal(got, []string{observation.CodeBloodPressurePanel}) {
		t.Fatalf("panels of systolic: %v", got)
	}
	if got := observation.PanelsWith(observation.CodeHeartRate); got != nil {
		t.Fatalf("panels of heart rate: %v", got)
	}
	codes := observation.NEWS2Codes()
	if len(codes) != 9 || !slices.Contains(codes, observation.CodeOxygenFlow) || slices.Contains(codes, observation.CodeBloodPressurePanel) {
		t.Fatalf("NEWS2 codes %v", codes)
	}
}

func TestCodesOfACategory(t *testing.T) {
	vitals, labs, all := observation.Codes(observation.CategoryVitalSigns), observation.Codes(observation.CategoryLaboratory), observation.Codes("")
	if len(vitals)+len(labs) != len(all) || !slices.Contains(vitals, observation.CodeBloodPressurePanel) || !slices.Contains(labs, observation.CodeCreatinine) {
		t.Fatalf("vitals %v, labs %v", vitals, labs)
	}
}
