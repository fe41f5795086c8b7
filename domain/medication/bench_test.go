package medication_test

import (
	"testing"

	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/medication"
)

// wardPatient is a medical-ward patient on 20 medicines with three allergies.
func wardPatient() medication.Patient {
	med := func(name string, dose float64, unit, route, freq string) medication.Order {
		return medication.Order{Name: name, Dose: dose, DoseUnit: unit, Route: route, Frequency: freq}
	}
	al := func(text string, c allergy.Criticality) medication.Allergy {
		return medication.Allergy{Substance: allergy.Substance{Text: text}, Category: allergy.CategoryMedication,
			Criticality: c, Type: allergy.TypeAllergy, ClinicalStatus: allergy.ClinicalActive,
			VerificationStatus: allergy.VerificationConfirmed}
	}
	return medication.Patient{AgeYears: 78, WeightKg: 68, HeightCm: 170, Sex: medication.SexFemale, CreatinineUmolL: 110,
		ActiveMedications: []medication.Order{
			med("warfarin", 3, "mg", "po", "daily"), med("bisoprolol", 2.5, "mg", "po", "daily"),
			med("ramipril", 5, "mg", "po", "daily"), med("furosemide", 40, "mg", "po", "od"),
			med("atorvastatin", 40, "mg", "po", "nocte"), med("metformin", 500, "mg", "po", "bd"),
			med("omeprazole", 20, "mg", "po", "daily"), med("paracetamol", 1, "g", "po", "qds"),
			med("sertraline", 50, "mg", "po", "daily"), med("levothyroxine", 100, "mcg", "po", "daily"),
			med("amlodipine", 5, "mg", "po", "daily"), med("gabapentin", 300, "mg", "po", "tds"),
			med("insulin glargine", 20, "units", "sc", "daily"), med("calcium carbonate", 1250, "mg", "po", "bd"),
			med("cholecalciferol", 800, "units", "po", "daily"), med("tamsulosin", 0.4, "mg", "po", "daily"),
			med("lactulose", 15, "mL", "po", "bd"), med("atenolol", 25, "mg", "po", "daily"),
			med("enoxaparin", 40, "mg", "sc", "daily"), med("ondansetron", 4, "mg", "iv", "q8h"),
		},
		Allergies: []medication.Allergy{al("penicillin", allergy.CriticalityHigh), al("codeine", allergy.CriticalityLow),
			al("sulfa", allergy.CriticalityLow)},
	}
}

// BenchmarkCheck is one new order checked against 20 active medications,
// three allergies and its dose rules (renal band included).
func BenchmarkCheck(b *testing.B) {
	k := kb(b)
	p := wardPatient()
	o := medication.Order{Name: "ciprofloxacin", Dose: 500, DoseUnit: "mg", Route: "po", Frequency: "bd", DurationDays: 7}
	if r := k.Check(o, p); len(r.Findings) == 0 {
		b.Fatal("the benchmark order should give findings")
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Check(o, p)
	}
}

// BenchmarkCheckClean is the same patient and an order that finds nothing
// but runs every check.
func BenchmarkCheckClean(b *testing.B) {
	k := kb(b)
	p := wardPatient()
	p.ActiveMedications = p.ActiveMedications[1:]
	p.ActiveMedications[15] = medication.Order{Name: "tamsulosin"}
	o := medication.Order{Name: "cetirizine", Dose: 10, DoseUnit: "mg", Route: "po", Frequency: "daily"}
	b.ReportAllocs()
	for b.Loop() {
		_ = k.Check(o, p)
	}
}

func TestBenchmarkPatientFindings(t *testing.T) {
	k := kb(t)
	r := k.Check(medication.Order{Name: "ciprofloxacin", Dose: 500, DoseUnit: "mg", Route: "po", Frequency: "bd"}, wardPatient())
	for _, f := range r.Findings {
		t.Logf("%s %s %s/%s %s", f.Kind, f.Severity, f.Drug, f.Other, f.Rule)
	}
}
