package allergy_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
)

var (
	now       = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	patientID = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000f1")
	clinician = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000a1")
)

func penicillin() allergy.Details {
	return allergy.Details{
		Substance: allergy.Substance{Text: " Penicillin ", Code: &allergy.Code{
			System: "http://snomed.info/sct", Code: "764146007", Display: "Penicillin"}},
		Category:    allergy.CategoryMedication,
		Criticality: allergy.CriticalityHigh,
		Reactions:   []allergy.Reaction{{Manifestations: []string{" Anaphylaxis "}, Severity: allergy.SeveritySevere}},
		Onset:       "2019-04",
		RecordedBy:  clinician,
	}
}

func fields(err error) []string {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestNewFillsDefaultsAndTrims(t *testing.T) {
	id := uuid.Must(uuid.NewV7())
	a, err := allergy.New(id, patientID, penicillin(), now)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != id || a.PatientID != patientID || a.Version != 1 || !a.CreatedAt.Equal(now) || !a.UpdatedAt.Equal(now) {
		t.Fatalf("identity: %+v", a)
	}
	if a.Type != allergy.TypeAllergy || a.ClinicalStatus != allergy.ClinicalActive || a.VerificationStatus != allergy.VerificationUnconfirmed {
		t.Fatalf("defaults: %s %s %s", a.Type, a.ClinicalStatus, a.VerificationStatus)
	}
	if a.Substance.Text != "Penicillin" || a.Reactions[0].Manifestations[0] != "Anaphylaxis" {
		t.Fatalf("not trimmed: %+v", a)
	}
	if !a.Active() {
		t.Fatal("a new record is active")
	}

	coded := penicillin()
	coded.Substance.Text = ""
	coded.Reactions = nil
	a, err = allergy.New(id, patientID, coded, now)
	if err != nil || a.Substance.Text != "Penicillin" || a.Reactions == nil {
		t.Fatalf("text from the code's display: %+v, %v", a, err)
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	cases := []struct {
		name   string
		id     uuid.UUID
		change func(*allergy.Details)
		fields []string
	}{
		{"valid", uuid.New(), func(*allergy.Details) {}, nil},
		{"uncoded, no onset, no reactions", uuid.New(), func(d *allergy.Details) {
			d.Substance = allergy.Substance{Text: "peanuts"}
			d.Onset, d.Reactions, d.Category = "", nil, allergy.CategoryFood
		}, nil},
		{"every coded field wrong", uuid.Nil, func(d *allergy.Details) {
			d.Category, d.Criticality, d.Type = "drug", "severe", "sensitivity"
			d.ClinicalStatus, d.VerificationStatus = "remission", "maybe"
			d.RecordedBy = uuid.Nil
		}, []string{"id", "category", "criticality", "type", "clinicalStatus", "verificationStatus", "recordedBy"}},
		{"no substance", uuid.New(), func(d *allergy.Details) { d.Substance = allergy.Substance{Text: "  "} },
			[]string{"substance.text"}},
		{"half a code", uuid.New(), func(d *allergy.Details) { d.Substance.Code = &allergy.Code{Code: "123"} },
			[]string{"substance.code.system"}},
		{"reactions", uuid.New(), func(d *allergy.Details) {
			d.Reactions = []allergy.Reaction{
				{Manifestations: []string{"hives"}, Severity: "mild"},
				{Manifestations: nil, Severity: "deadly"},
				{Manifestations: []string{"rash", " "}},
			}
		}, []string{"reactions[1].manifestations", "reactions[1].severity", "reactions[2].manifestations[1]"}},
		{"onset malformed", uuid.New(), func(d *allergy.Details) { d.Onset = "April 2019" }, []string{"onset"}},
		{"onset not a real day", uuid.New(), func(d *allergy.Details) { d.Onset = "2019-02-30" }, []string{"onset"}},
		{"onset in the future", uuid.New(), func(d *allergy.Details) { d.Onset = "2027" }, []string{"onset"}},
		{"note too long", uuid.New(), func(d *allergy.Details) { d.Note = strings.Repeat("x", 5001) }, []string{"note"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := penicillin()
			c.change(&d)
			_, err := allergy.New(c.id, patientID, d, now)
			if got := fields(err); !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v (err %v)", got, c.fields, err)
			}
		})
	}
}

func TestReviseKeepsIdentity(t *testing.T) {
	a, err := allergy.New(uuid.New(), patientID, penicillin(), now)
	if err != nil {
		t.Fatal(err)
	}
	d := a.Details
	d.ClinicalStatus, d.VerificationStatus = allergy.ClinicalResolved, allergy.VerificationConfirmed
	later := now.Add(time.Hour)
	r, err := a.Revise(d, later)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != a.ID || r.PatientID != a.PatientID || !r.CreatedAt.Equal(a.CreatedAt) || r.Version != 2 ||
		!r.UpdatedAt.Equal(later) || r.Active() {
		t.Fatalf("revised: %+v", r)
	}
	d.Category = "pollen"
	if same, err := a.Revise(d, later); fields(err)[0] != "category" || same.Version != 1 {
		t.Fatalf("invalid revision: %+v, %v", same, err)
	}
}

func TestActive(t *testing.T) {
	cases := []struct {
		clinical     allergy.ClinicalStatus
		verification allergy.VerificationStatus
		active       bool
	}{
		{allergy.ClinicalActive, allergy.VerificationUnconfirmed, true},
		{allergy.ClinicalActive, allergy.VerificationConfirmed, true},
		{allergy.ClinicalActive, allergy.VerificationRefuted, false},
		{allergy.ClinicalActive, allergy.VerificationEnteredInError, false},
		{allergy.ClinicalInactive, allergy.VerificationConfirmed, false},
		{allergy.ClinicalResolved, allergy.VerificationConfirmed, false},
	}
	for _, c := range cases {
		a := allergy.Allergy{Details: allergy.Details{ClinicalStatus: c.clinical, VerificationStatus: c.verification}}
		if a.Active() != c.active {
			t.Errorf("%s/%s active = %v", c.clinical, c.verification, a.Active())
		}
	}
}

func TestFindDuplicate(t *testing.T) {
	existing, err := allergy.New(uuid.New(), patientID, penicillin(), now)
	if err != nil {
		t.Fatal(err)
	}
	record := func(change func(*allergy.Details)) allergy.Allergy {
		d := penicillin()
		change(&d)
		a, err := allergy.New(uuid.New(), patientID, d, now)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cases := []struct {
		name string
		a    allergy.Allergy
		dup  bool
	}{
		{"same code, other text", record(func(d *allergy.Details) { d.Substance.Text = "Penicillin G" }), true},
		{"same text in other case, no code", record(func(d *allergy.Details) { d.Substance = allergy.Substance{Text: "PENICILLIN"} }), true},
		{"other code and text", record(func(d *allergy.Details) {
			d.Substance = allergy.Substance{Text: "Amoxicillin", Code: &allergy.Code{System: "http://snomed.info/sct", Code: "372687004"}}
		}), false},
		{"same code, other system", record(func(d *allergy.Details) {
			d.Substance = allergy.Substance{Text: "Pen", Code: &allergy.Code{System: "http://www.nlm.nih.gov/research/umls/rxnorm", Code: "764146007"}}
		}), false},
		{"the new one is resolved", record(func(d *allergy.Details) { d.ClinicalStatus = allergy.ClinicalResolved }), false},
		{"itself", existing, false},
	}
	for _, c := range cases {
		got, dup := allergy.FindDuplicate([]allergy.Allergy{existing}, c.a)
		if dup != c.dup || (dup && got.ID != existing.ID) {
			t.Errorf("%s: duplicate %v (%s)", c.name, dup, got.ID)
		}
	}
	refuted := existing
	refuted.VerificationStatus = allergy.VerificationRefuted
	if _, dup := allergy.FindDuplicate([]allergy.Allergy{refuted}, record(func(*allergy.Details) {})); dup {
		t.Error("a refuted record blocks a new one")
	}
	err = &allergy.DuplicateError{ExistingID: existing.ID}
	if !errors.Is(err, allergy.ErrDuplicate) || !strings.Contains(err.Error(), existing.ID.String()) {
		t.Fatalf("duplicate error: %v", err)
	}
}
