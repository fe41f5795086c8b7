package medication_test

import (
	"math"
	"testing"

	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/medication"
)

// adult is a 50-year-old man with normal renal function.
func adult() medication.Patient {
	return medication.Patient{AgeYears: 50, WeightKg: 75, HeightCm: 178, Sex: medication.SexMale, CreatinineUmolL: 80}
}

func penicillinAllergy(criticality allergy.Criticality) medication.Allergy {
	return medication.Allergy{Substance: allergy.Substance{Text: "Penicillin"}, Category: allergy.CategoryMedication,
		Criticality: criticality, Type: allergy.TypeAllergy, ClinicalStatus: allergy.ClinicalActive,
		VerificationStatus: allergy.VerificationConfirmed}
}

// find returns the first finding of the kind, or fails.
func find(t *testing.T, r medication.Result, kind medication.Kind) medication.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Kind == kind {
			return f
		}
	}
	t.Fatalf("no %s finding in %+v", kind, r.Findings)
	return medication.Finding{}
}

func none(t *testing.T, r medication.Result, kinds ...medication.Kind) {
	t.Helper()
	for _, f := range r.Findings {
		for _, k := range kinds {
			if f.Kind == k {
				t.Errorf("unexpected %s finding: %+v", k, f)
			}
		}
	}
}

func TestInteractionsTheIssueNames(t *testing.T) {
	k := kb(t)
	for _, c := range []struct {
		order, active string
		want          medication.Severity
		rule          string
	}{
		{"ibuprofen", "warfarin", medication.SeverityMajor, "warfarin-nsaid"},
		{"warfarin", "Advil", medication.SeverityMajor, "warfarin-nsaid"},
		{"clarithromycin", "simvastatin", medication.SeverityContraindicated, "onc-statin-cyp3a4-inhibitor"},
		{"Zocor", "clarithromycin", medication.SeverityContraindicated, "onc-statin-cyp3a4-inhibitor"},
		{"fluoxetine", "phenelzine", medication.SeverityContraindicated, "onc-ssri-maoi"},
		{"Nardil", "Prozac", medication.SeverityContraindicated, "onc-ssri-maoi"},
		{"tramadol", "sertraline", medication.SeverityModerate, "serotonergic-serotonergic"},
		{"ondansetron", "haloperidol", medication.SeverityMajor, "onc-qt-qt"},
	} {
		p := adult()
		p.ActiveMedications = []medication.Order{{Name: c.active}}
		r := k.Check(medication.Order{Name: c.order}, p)
		f := find(t, r, medication.KindInteraction)
		if f.Severity != c.want || f.Rule != c.rule || f.OtherIndex != 0 || f.Version != k.Version() ||
			f.Management == "" || len(f.Sources) == 0 {
			t.Errorf("%s with %s: %+v, want %s by %s", c.order, c.active, f, c.want, c.rule)
		}
	}
}

func TestCheckInteractionsFindsEveryPair(t *testing.T) {
	k := kb(t)
	rep := k.CheckInteractions([]medication.Order{{Name: "warfarin"}, {Name: "ibuprofen"}, {Name: "amoxicillin"},
		{Name: "fluconazole"}, {Name: "no-such-drug"}})
	got := map[[2]string]string{}
	for _, p := range rep.Pairs {
		got[[2]string{p.DrugA, p.DrugB}] = p.Rule
	}
	want := map[[2]string]string{{"warfarin", "ibuprofen"}: "warfarin-nsaid", {"warfarin", "fluconazole"}: "warfarin-cyp2c9-inhibitor"}
	for pair, rule := range want {
		if got[pair] != rule {
			t.Errorf("%v: %q, want %s (all: %v)", pair, got[pair], rule, got)
		}
	}
	if len(rep.Unavailable) != 1 || rep.Unavailable[0].OtherIndex != 4 || rep.Version != k.Version() {
		t.Errorf("unavailable %+v", rep.Unavailable)
	}
}

func TestPenicillinAllergy(t *testing.T) {
	k := kb(t)
	p := adult()
	p.Allergies = []medication.Allergy{penicillinAllergy(allergy.CriticalityLow)}

	amox := k.Check(medication.Order{Name: "amoxicillin", Dose: 500, DoseUnit: "mg", Route: "po", Frequency: "TDS"}, p)
	if f := find(t, amox, medication.KindAllergy); f.Severity != medication.SeverityHold || f.Other != "Penicillin" || f.OtherIndex != 0 {
		t.Errorf("amoxicillin: %+v, want hold", f)
	}
	coamox := k.Check(medication.Order{Name: "Augmentin"}, p)
	if f := find(t, coamox, medication.KindAllergy); f.Severity != medication.SeverityHold || f.Drug != "amoxicillin" {
		t.Errorf("co-amoxiclav: %+v, want hold on its amoxicillin", f)
	}
	for _, c := range []struct {
		drug string
		rule string
	}{
		{"ceftriaxone", "allergy-penicillin-cephalosporin-3"},
		{"cefazolin", "allergy-penicillin-cephalosporin-1"},
		{"cefuroxime", "allergy-penicillin-cephalosporin-2"},
		{"cefepime", "allergy-penicillin-cephalosporin-4"},
		{"cephalexin", "allergy-penicillin-cephalosporin-side-chain"},
		{"meropenem", "allergy-penicillin-carbapenem"},
	} {
		f := find(t, k.Check(medication.Order{Name: c.drug}, p), medication.KindAllergy)
		if f.Severity != medication.SeverityCaution || f.Rule != c.rule {
			t.Errorf("%s: %+v, want caution by %s", c.drug, f, c.rule)
		}
	}
	none(t, k.Check(medication.Order{Name: "aztreonam"}, p), medication.KindAllergy)

	// After anaphylaxis, a cephalosporin sharing amoxicillin's side chain is held.
	p.Allergies = []medication.Allergy{penicillinAllergy(allergy.CriticalityHigh)}
	if f := find(t, k.Check(medication.Order{Name: "cefalexin"}, p), medication.KindAllergy); f.Severity != medication.SeverityHold {
		t.Errorf("cefalexin after a high-criticality penicillin allergy: %+v, want hold", f)
	}
	if f := find(t, k.Check(medication.Order{Name: "ceftriaxone"}, p), medication.KindAllergy); f.Severity != medication.SeverityCaution {
		t.Errorf("ceftriaxone after a high-criticality penicillin allergy: %+v, want caution", f)
	}
}

func TestAllergyRecordsAreReadAsTheEngineStoresThem(t *testing.T) {
	k := kb(t)
	med := func(text string, mod func(*medication.Allergy)) medication.Patient {
		a := medication.Allergy{Substance: allergy.Substance{Text: text}, Category: allergy.CategoryMedication,
			Criticality: allergy.CriticalityLow, ClinicalStatus: allergy.ClinicalActive,
			VerificationStatus: allergy.VerificationConfirmed}
		if mod != nil {
			mod(&a)
		}
		p := adult()
		p.Allergies = []medication.Allergy{a}
		return p
	}
	// A stored record converts with AllergyOf and is matched by its RxNorm code.
	stored := allergy.Allergy{Details: allergy.Details{Substance: allergy.Substance{Text: "Amoxil",
		Code: &allergy.Code{System: "http://www.nlm.nih.gov/research/umls/rxnorm", Code: "723"}},
		Category: allergy.CategoryMedication, Criticality: allergy.CriticalityHigh, ClinicalStatus: allergy.ClinicalActive,
		VerificationStatus: allergy.VerificationConfirmed}}
	p := adult()
	p.Allergies = []medication.Allergy{medication.AllergyOf(stored)}
	if f := find(t, k.Check(medication.Order{Name: "ampicillin"}, p), medication.KindAllergy); f.Severity != medication.SeverityHold {
		t.Errorf("amoxicillin allergy by code, ampicillin ordered: %+v", f)
	}

	refuted := med("penicillin", func(a *medication.Allergy) { a.VerificationStatus = allergy.VerificationRefuted })
	none(t, k.Check(medication.Order{Name: "amoxicillin"}, refuted), medication.KindAllergy)
	resolved := med("penicillin", func(a *medication.Allergy) { a.ClinicalStatus = allergy.ClinicalResolved })
	none(t, k.Check(medication.Order{Name: "amoxicillin"}, resolved), medication.KindAllergy)

	intolerance := med("codeine", func(a *medication.Allergy) {
		a.Type = allergy.TypeIntolerance
		a.VerificationStatus = allergy.VerificationUnconfirmed
	})
	if f := find(t, k.Check(medication.Order{Name: "codeine"}, intolerance), medication.KindAllergy); f.Severity != medication.SeverityCaution || f.Detail == "" {
		t.Errorf("codeine intolerance: %+v, want caution with a detail", f)
	}

	sulfa := med("sulfa drugs", nil)
	if f := find(t, k.Check(medication.Order{Name: "Bactrim"}, sulfa), medication.KindAllergy); f.Severity != medication.SeverityHold {
		t.Errorf("co-trimoxazole with sulfa allergy: %+v", f)
	}
	if f := find(t, k.Check(medication.Order{Name: "furosemide"}, sulfa), medication.KindAllergy); f.Severity != medication.SeverityCaution ||
		f.Rule != "allergy-sulfonamide-nonantibiotic" {
		t.Errorf("furosemide with sulfa allergy: %+v", f)
	}

	nerd := med("Aspirin-exacerbated respiratory disease", nil)
	if f := find(t, k.Check(medication.Order{Name: "naproxen"}, nerd), medication.KindAllergy); f.Severity != medication.SeverityHold {
		t.Errorf("naproxen in NERD: %+v", f)
	}
	if f := find(t, k.Check(medication.Order{Name: "celecoxib"}, nerd), medication.KindAllergy); f.Severity != medication.SeverityCaution {
		t.Errorf("celecoxib in NERD: %+v", f)
	}
	aspirin := med("aspirin", nil)
	if f := find(t, k.Check(medication.Order{Name: "ibuprofen"}, aspirin), medication.KindAllergy); f.Severity != medication.SeverityHold {
		t.Errorf("ibuprofen with aspirin allergy: %+v", f)
	}

	hit := med("HIT", nil)
	if f := find(t, k.Check(medication.Order{Name: "enoxaparin"}, hit), medication.KindAllergy); f.Severity != medication.SeverityHold {
		t.Errorf("enoxaparin after heparin-induced thrombocytopenia: %+v", f)
	}

	unknown := med("Zorblaxin", nil)
	if f := find(t, k.Check(medication.Order{Name: "ibuprofen"}, unknown), medication.KindUnavailable); f.Rule != medication.RuleUnknownAllergy || f.OtherIndex != 0 {
		t.Errorf("unknown allergen: %+v", f)
	}
	food := med("peanut", func(a *medication.Allergy) { a.Category = allergy.CategoryFood })
	for _, f := range k.Check(medication.Order{Name: "ibuprofen"}, food).Findings {
		if f.Rule == medication.RuleUnknownAllergy {
			t.Errorf("a food allergy the knowledge base has no rule for is not a failed drug check: %+v", f)
		}
	}
}

func TestDuplicateTherapy(t *testing.T) {
	k := kb(t)
	for _, c := range []struct {
		order, active, rule string
		want                medication.Severity
	}{
		{"omeprazole", "pantoprazole", "duplicate-ppi", medication.SeverityModerate},
		{"lisinopril", "ramipril", "duplicate-ace-inhibitor", medication.SeverityMajor},
		{"paracetamol", "co-codamol 30/500", medication.RuleSameIngredient, medication.SeverityMajor},
		{"Tylenol", "Percocet", medication.RuleSameIngredient, medication.SeverityMajor},
	} {
		p := adult()
		p.ActiveMedications = []medication.Order{{Name: c.active}}
		f := find(t, k.Check(medication.Order{Name: c.order}, p), medication.KindDuplicate)
		if f.Rule != c.rule || f.Severity != c.want || f.OtherIndex != 0 {
			t.Errorf("%s with %s: %+v, want %s %s", c.order, c.active, f, c.want, c.rule)
		}
	}
	p := adult()
	p.ActiveMedications = []medication.Order{{Name: "amlodipine"}}
	none(t, k.Check(medication.Order{Name: "lisinopril"}, p), medication.KindDuplicate)
}

func TestParacetamolAboveFourGramsADay(t *testing.T) {
	k := kb(t)
	p := adult()
	r := k.Check(medication.Order{Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "po", Frequency: "q4h"}, p)
	if f := find(t, r, medication.KindDose); f.Rule != medication.RuleDoseDailyMax || f.Severity != medication.SeverityMajor {
		t.Errorf("1 g every 4 h: %+v", f)
	}
	ok := k.Check(medication.Order{Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "po", Frequency: "QDS"}, p)
	none(t, ok, medication.KindDose, medication.KindUnavailable)

	// 1 g four times daily plus two co-codamol 30/500 four times daily is 8 g.
	p.ActiveMedications = []medication.Order{{Name: "co-codamol 30/500", Dose: 2, DoseUnit: "tablets", Route: "oral", Frequency: "qds"}}
	total := k.Check(medication.Order{Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "po", Frequency: "QDS"}, p)
	var got bool
	for _, f := range total.Findings {
		got = got || (f.Rule == medication.RuleDoseTotal && f.Severity == medication.SeverityMajor)
	}
	if !got {
		t.Errorf("paracetamol in two products above 4 g a day not flagged: %+v", total.Findings)
	}
}

func TestChildDoseCheckedPerKilogram(t *testing.T) {
	k := kb(t)
	// Height and creatinine give the bedside Schwartz eGFR paracetamol's renal band needs.
	child := medication.Patient{AgeYears: 2, WeightKg: 12, HeightCm: 86, CreatinineUmolL: 30}
	ok := k.Check(medication.Order{Name: "Calpol", Dose: 180, DoseUnit: "mg", Route: "oral", Frequency: "q6h"}, child)
	none(t, ok, medication.KindDose, medication.KindUnavailable)

	high := k.Check(medication.Order{Name: "paracetamol", Dose: 500, DoseUnit: "mg", Route: "oral", Frequency: "q6h"}, child)
	f := find(t, high, medication.KindDose)
	if f.Rule != medication.RuleDoseSingleMax || f.Severity != medication.SeverityMajor {
		t.Errorf("500 mg for a 12 kg child: %+v, want above the 15 mg/kg (180 mg) maximum", f)
	}
	perKg := k.Check(medication.Order{Name: "ibuprofen", Dose: 10, DoseUnit: "mg/kg", Route: "oral", Frequency: "TDS"}, child)
	none(t, perKg, medication.KindDose)
	over := k.Check(medication.Order{Name: "ibuprofen", Dose: 15, DoseUnit: "mg/kg", Route: "oral", Frequency: "q6h"}, child)
	find(t, over, medication.KindDose)
}

func TestMgPerKgWithoutAWeightCannotBeChecked(t *testing.T) {
	k := kb(t)
	p := adult()
	p.WeightKg = 0
	r := k.Check(medication.Order{Name: "gentamicin", Dose: 5, DoseUnit: "mg/kg", Route: "iv", Frequency: "q24h"}, p)
	f := find(t, r, medication.KindUnavailable)
	if f.Drug != "gentamicin" || f.Severity != medication.SeverityNone {
		t.Errorf("%+v", f)
	}
	none(t, r, medication.KindDose)

	// A per-kg rule (a child's paracetamol) without a weight is unavailable too.
	child := k.Check(medication.Order{Name: "paracetamol", Dose: 120, DoseUnit: "mg", Route: "oral", Frequency: "q6h"},
		medication.Patient{AgeYears: 3})
	find(t, child, medication.KindUnavailable)
}

// renalPatient has a Cockcroft–Gault creatinine clearance of 25 mL/min:
// (140 − 70) × 60 / (0.815 × 206.1).
func renalPatient() medication.Patient {
	return medication.Patient{AgeYears: 70, WeightKg: 60, Sex: medication.SexMale, CreatinineUmolL: 206.1}
}

func TestGentamicinAdjustedForCreatinineClearance25(t *testing.T) {
	k := kb(t)
	p := renalPatient()
	if crcl := medication.CockcroftGault(p.AgeYears, p.WeightKg, p.Sex, p.CreatinineUmolL); math.Abs(crcl-25) > 0.05 {
		t.Fatalf("CrCl %v, want 25", crcl)
	}
	r := k.Check(medication.Order{Name: "gentamicin", Dose: 5, DoseUnit: "mg/kg", Route: "iv", Frequency: "q24h"}, p)
	f := find(t, r, medication.KindDose)
	if f.Rule != medication.RuleDoseRenal || f.Severity != medication.SeverityMajor || len(f.Sources) != 1 {
		t.Errorf("gentamicin every 24 h at CrCl 25: %+v", f)
	}
	fine := k.Check(medication.Order{Name: "gentamicin", Dose: 5, DoseUnit: "mg/kg", Route: "iv", Frequency: "q48h"}, p)
	none(t, fine, medication.KindDose, medication.KindUnavailable)

	adv, err := k.CalculateDose("gentamicin", "", p.WeightKg, 0, p.AgeYears, p.Sex, p.CreatinineUmolL)
	if err != nil {
		t.Fatal(err)
	}
	if adv.Renal == nil || math.Abs(adv.Renal.CrCl-25) > 0.05 || len(adv.Renal.Bands) != 1 ||
		adv.Renal.Bands[0].Rule.MinIntervalHours != 48 || adv.Renal.Bands[0].Rule.Source == "" {
		t.Errorf("renal advice %+v", adv.Renal)
	}
	if adv.MaxDaily != 420 || adv.MaxDailyUnit != "mg" || adv.Version != k.Version() {
		t.Errorf("max daily %v %s, want 7 mg/kg × 60 kg = 420 mg", adv.MaxDaily, adv.MaxDailyUnit)
	}
}

func TestRenalFunctionNeededButAbsent(t *testing.T) {
	k := kb(t)
	p := adult()
	p.CreatinineUmolL = 0
	r := k.Check(medication.Order{Name: "gentamicin", Dose: 5, DoseUnit: "mg/kg", Route: "iv", Frequency: "q24h"}, p)
	if f := find(t, r, medication.KindUnavailable); f.Rule != medication.RuleDoseNoRenal {
		t.Errorf("%+v", f)
	}
	// Oral vancomycin has no renal band; IV does.
	none(t, k.Check(medication.Order{Name: "vancomycin", Dose: 125, DoseUnit: "mg", Route: "po", Frequency: "QDS"}, p),
		medication.KindUnavailable, medication.KindDose)
}

func TestUnknownDrugIsACheckThatCouldNotRun(t *testing.T) {
	k := kb(t)
	r := k.Check(medication.Order{Name: "amoxicilin"}, adult())
	if r.Drug != nil || len(r.Findings) != 1 || r.Findings[0].Kind != medication.KindUnavailable ||
		r.Findings[0].Rule != medication.RuleUnknownDrug {
		t.Fatalf("%+v", r)
	}
	found := false
	for _, c := range r.Candidates {
		found = found || c.ID == "amoxicillin"
	}
	if !found {
		t.Errorf("candidates %+v lack amoxicillin", r.Candidates)
	}
}

func TestDoseRulesBeyondTheRange(t *testing.T) {
	k := kb(t)
	p := adult()
	cases := []struct {
		name string
		o    medication.Order
		p    medication.Patient
		rule string
		sev  medication.Severity
	}{
		{"methotrexate daily", medication.Order{Name: "methotrexate", Dose: 10, DoseUnit: "mg", Route: "po", Frequency: "daily"}, p,
			medication.RuleDoseInterval, medication.SeverityContraindicated},
		{"ketorolac beyond 5 days", medication.Order{Name: "ketorolac", Dose: 15, DoseUnit: "mg", Route: "iv", Frequency: "q6h", DurationDays: 7}, p,
			medication.RuleDoseDuration, medication.SeverityMajor},
		{"tramadol in a child", medication.Order{Name: "tramadol", Dose: 1, DoseUnit: "mg/kg", Route: "po", Frequency: "q6h"},
			medication.Patient{AgeYears: 8, WeightKg: 25}, medication.RuleDoseAge, medication.SeverityContraindicated},
		{"citalopram over 60", medication.Order{Name: "citalopram", Dose: 40, DoseUnit: "mg", Route: "po", Frequency: "daily"},
			medication.Patient{AgeYears: 72, WeightKg: 70}, medication.RuleDoseSingleMax, medication.SeverityMajor},
		{"metformin at CrCl 25", medication.Order{Name: "metformin", Dose: 500, DoseUnit: "mg", Route: "po", Frequency: "BD"},
			renalPatient(), medication.RuleDoseRenal, medication.SeverityContraindicated},
		{"co-codamol tablets above codeine maximum", medication.Order{Name: "co-codamol 30/500", Dose: 3, DoseUnit: "tablets", Route: "po", Frequency: "qds"},
			p, medication.RuleDoseSingleMax, medication.SeverityMajor},
	}
	for _, c := range cases {
		r := k.Check(c.o, c.p)
		hit := false
		for _, f := range r.Findings {
			hit = hit || (f.Rule == c.rule && f.Severity == c.sev)
		}
		if !hit {
			t.Errorf("%s: %+v, want %s %s", c.name, r.Findings, c.sev, c.rule)
		}
	}
}

func TestEveryResultNamesTheVersion(t *testing.T) {
	k := kb(t)
	p := adult()
	p.ActiveMedications = []medication.Order{{Name: "warfarin"}}
	r := k.Check(medication.Order{Name: "ibuprofen", Dose: 400, DoseUnit: "mg", Route: "po", Frequency: "tds"}, p)
	if r.Version != k.Version() {
		t.Fatalf("result version %q", r.Version)
	}
	for _, f := range r.Findings {
		if f.Version != k.Version() || len(f.Sources) == 0 {
			t.Errorf("finding without version or source: %+v", f)
		}
	}
}
