package medication_test

import (
	"errors"
	"math"
	"testing"
	"testing/fstest"

	"github.com/zarish-sphere/zarish/domain/medication"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestCockcroftGault(t *testing.T) {
	// The published form in mg/dL gives the same answer: (140 − 60) × 72 / (72 × 1.0) = 80 mL/min.
	if got := medication.CockcroftGault(60, 72, medication.SexMale, 88.42); !near(got, 80, 0.1) {
		t.Errorf("male 60 y, 72 kg, 1.0 mg/dL: %v, want 80", got)
	}
	if got := medication.CockcroftGault(60, 72, medication.SexFemale, 88.42); !near(got, 68, 0.1) {
		t.Errorf("female: %v, want 68 (× 0.85)", got)
	}
	if got := medication.CockcroftGault(80, 50, medication.SexFemale, 150); !near(got, 20.86, 0.01) {
		t.Errorf("80 y female 50 kg 150 µmol/L: %v", got)
	}
}

func TestBedsideSchwartzAndBodySurfaceArea(t *testing.T) {
	if got := medication.BedsideSchwartz(100, 44.21); !near(got, 82.6, 0.1) {
		t.Errorf("Schwartz 100 cm, 0.5 mg/dL: %v, want 82.6", got)
	}
	if got := medication.BodySurfaceArea(180, 80); !near(got, 2.0, 0.001) {
		t.Errorf("BSA 180 cm 80 kg: %v, want 2.0", got)
	}
}

func TestParseFrequency(t *testing.T) {
	for in, want := range map[string]float64{
		"q6h": 4, "Q8H": 3, "q4-6h": 6, "q12hr": 2, "every 8 hours": 3, "BD": 2, "bid": 2, "TDS": 3, "tid": 3,
		"QDS": 4, "qid": 4, "daily": 1, "od": 1, "once daily": 1, "nocte": 1, "3 times daily": 3, "4x daily": 4,
		"2/day": 2, "weekly": 1.0 / 7, "q48h": 0.5, "stat": 1, "x3 daily": 3, "q 6 h": 4,
	} {
		f, ok := medication.ParseFrequency(in)
		if !ok || !near(f.PerDay, want, 1e-9) {
			t.Errorf("%q: %+v %v, want %v a day", in, f, ok, want)
		}
	}
	for _, bad := range []string{"", "sometimes", "q0h", "qxh", "every other hour-ish"} {
		if f, ok := medication.ParseFrequency(bad); ok {
			t.Errorf("%q parsed as %+v", bad, f)
		}
	}
}

func TestParseRoute(t *testing.T) {
	for in, want := range map[string]medication.Route{"PO": medication.RouteOral, "IV": medication.RouteIV,
		"subcut": medication.RouteSC, "PR": medication.RouteRectal, "nebulised": medication.RouteInhaled, "IM": medication.RouteIM} {
		if r, ok := medication.ParseRoute(in); !ok || r != want {
			t.Errorf("%q: %v %v", in, r, ok)
		}
	}
}

func TestDoseUnitsConvert(t *testing.T) {
	k := kb(t)
	p := adult()
	for _, o := range []medication.Order{
		{Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "po", Frequency: "qds"},
		{Name: "paracetamol", Dose: 1000, DoseUnit: "mg", Route: "po", Frequency: "qds"},
		{Name: "paracetamol", Dose: 1000000, DoseUnit: "mcg", Route: "po", Frequency: "qds"},
		{Name: "paracetamol", Dose: 1000000, DoseUnit: "µg", Route: "po", Frequency: "qds"},
		{Name: "digoxin", Dose: 0.125, DoseUnit: "mg", Route: "po", Frequency: "daily"},
	} {
		none(t, k.Check(o, p), medication.KindDose, medication.KindUnavailable)
	}
	for _, o := range []medication.Order{
		{Name: "paracetamol", Dose: 10, DoseUnit: "mL", Route: "po", Frequency: "qds"},
		{Name: "paracetamol", Dose: 1, DoseUnit: "spoonful", Route: "po", Frequency: "qds"},
		{Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "by magic", Frequency: "qds"},
		{Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "po", Frequency: "when it hurts a lot"},
		{Name: "paracetamol", Dose: 1, DoseUnit: "units", Route: "po", Frequency: "qds"},
		{Name: "Augmentin", Dose: 625, DoseUnit: "mg", Route: "po", Frequency: "tds"},
		{Name: "rasagiline", Dose: 1, DoseUnit: "mg", Route: "po", Frequency: "daily"},
	} {
		find(t, k.Check(o, p), medication.KindUnavailable)
	}
}

func TestCalculateDoseForAChild(t *testing.T) {
	k := kb(t)
	adv, err := k.CalculateDose("paracetamol", "", 12, 86, 2, medication.SexFemale, 30)
	if err != nil {
		t.Fatal(err)
	}
	var oral *medication.DoseRange
	for i := range adv.Ranges {
		if adv.Ranges[i].Rule.Basis == medication.BasisKg && adv.Ranges[i].Rule.Routes[0] == medication.RouteOral {
			oral = &adv.Ranges[i]
		}
	}
	if oral == nil || oral.SingleMin != 120 || oral.SingleMax != 180 || oral.DailyMax != 900 || oral.Rule.Source == "" {
		t.Fatalf("oral range for 12 kg: %+v (all %+v)", oral, adv.Ranges)
	}
	if adv.Renal == nil || adv.Renal.Method != "bedside Schwartz eGFR" || len(adv.Renal.Bands) != 0 {
		t.Errorf("renal %+v", adv.Renal)
	}
	if adv.Hepatic == "" {
		t.Error("paracetamol's hepatic caution is missing")
	}
	if _, err := k.CalculateDose("zorblaxin", "", 70, 0, 40, medication.SexMale, 0); !errors.Is(err, medication.ErrUnknownDrug) {
		t.Errorf("unknown drug: %v", err)
	}
	noWeight, err := k.CalculateDose("gentamicin", "", 0, 0, 40, medication.SexMale, 80)
	if err != nil || len(noWeight.Unavailable) == 0 {
		t.Errorf("gentamicin without a weight: %+v %v", noWeight, err)
	}
}

func TestResolve(t *testing.T) {
	k := kb(t)
	for q, want := range map[[2]string]string{
		{"11289", ""}: "warfarin", {"", "Coumadin"}: "warfarin", {"", "paracetamol"}: "acetaminophen",
		{"", "  ADRENALINE "}: "epinephrine", {"", "co-amoxiclav"}: "amoxicillin-clavulanate",
		{"10831", ""}: "co-trimoxazole", {"999999999", "Lasix"}: "furosemide",
	} {
		r, err := k.Resolve(q[0], q[1])
		if err != nil || r.ID != want {
			t.Errorf("%v: %+v %v, want %s", q, r, err, want)
		}
	}
	_, err := k.Resolve("", "ciproflaxacin")
	var re *medication.ResolveError
	if !errors.As(err, &re) || !errors.Is(err, medication.ErrUnknownDrug) || len(re.Candidates) == 0 || re.Candidates[0].ID != "ciprofloxacin" {
		t.Errorf("misspelling: %v %+v", err, re)
	}
}

// copyFS is the embedded data with one file replaced.
func copyFS(t *testing.T, replace map[string]string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, name := range []string{"manifest.json", "drugs.json", "products.json", "groups.json", "interactions.json",
		"allergy.json", "doses.json"} {
		data, err := readData(name)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := replace[name]; ok {
			data = []byte(r)
		}
		fsys["kb/"+name] = &fstest.MapFile{Data: data}
	}
	return fsys
}

func TestASecondVersionLoadsBesideTheFirst(t *testing.T) {
	k := kb(t)
	manifest, err := readData("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	next := replaceOnce(t, string(manifest), `"version": "2026.12.1"`, `"version": "2027.01.0"`)
	k2, err := medication.Load(copyFS(t, map[string]string{"manifest.json": next}), "kb")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := medication.NewRegistry(k, k2)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Active().Version() != "2026.12.1" {
		t.Fatalf("active %s", reg.Active().Version())
	}
	if err := reg.Activate("2027.01.0"); err != nil {
		t.Fatal(err)
	}
	sums := reg.Summaries()
	if len(sums) != 2 || sums[0].Active || !sums[1].Active || sums[1].Counts != k.Counts() || len(sums[1].Sources) == 0 {
		t.Errorf("summaries %+v", sums)
	}
	r := reg.Active().Check(medication.Order{Name: "ibuprofen"}, adult())
	if r.Version != "2027.01.0" {
		t.Errorf("check ran on %s", r.Version)
	}
	if err := reg.Activate("1999.1"); !errors.Is(err, medication.ErrUnknownVersion) {
		t.Errorf("unknown version: %v", err)
	}
	if err := reg.Add(k2); err == nil {
		t.Error("the same version loaded twice")
	}
}

func TestABrokenVersionIsRefusedWithEveryProblem(t *testing.T) {
	bad := `[{"id":"x","a":"drug:warfarin","b":"group:no-such-group","severity":"major","mechanism":"m","effect":"e","management":"m","sources":["nowhere: 1"]},
{"id":"y","a":"drug:warfarin","b":"drug:ibuprofen","severity":"severe","mechanism":"m","effect":"e","management":"m","sources":[]}]`
	_, err := medication.Load(copyFS(t, map[string]string{"interactions.json": bad}), "kb")
	var se *medication.SchemaError
	if !errors.As(err, &se) || len(se.Problems) < 4 {
		t.Fatalf("%v", err)
	}
	_, err = medication.Load(copyFS(t, map[string]string{"groups.json": `[{"id":"nsaid","name":"x","kind":"class","sources":["atc"],"colour":"red"}]`}), "kb")
	if err == nil {
		t.Error("an unknown field was accepted")
	}
}
