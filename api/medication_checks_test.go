package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// fakeMedicationContext answers each patient's context from patients, any
// other patient's from fallback (not found without one), or fails with err.
type fakeMedicationContext struct {
	patients map[uuid.UUID]prescription.Context
	fallback *prescription.Context
	err      error
}

func (f *fakeMedicationContext) PatientContext(_ context.Context, patientID, _ uuid.UUID, _ time.Time) (prescription.Context, error) {
	if f.err != nil {
		return prescription.Context{}, f.err
	}
	if c, ok := f.patients[patientID]; ok {
		return c, nil
	}
	if f.fallback != nil {
		return *f.fallback, nil
	}
	return prescription.Context{}, domain.ErrNotFound
}

// The tokens of the medication suites: medReaderToken reads medication
// requests only (all the stateless checks need); orderCheckerToken also
// reads what the order hooks read of the patient's record.
const (
	medReaderToken               = "med-reader"
	orderCheckerToken            = "order-checker"
	orderCheckerNoAllergiesToken = "order-checker-no-allergies"
	launchedToken                = "launched-for-one-patient"
)

// launchedPatient is the patient launchedToken was launched for.
var launchedPatient = uuid.MustParse("0193c0de-0000-7000-8000-00000000a11e")

// newMedicationAPI serves the router with the embedded knowledge base and
// mc as the patients' medication context, on a fresh database for the
// audit trail.
func newMedicationAPI(t *testing.T, mc MedicationContext) (*httptest.Server, *postgres.AuditStore) {
	t.Helper()
	d, store := serviceDeps(pgtest.NewPool(t))
	d.Medications = testMedications()
	d.MedicationContext = mc
	v := d.Verifier.(stubVerifier)
	v[medReaderToken] = access.Principal{Subject: medReaderToken, ClientID: medReaderToken, Scopes: []string{"system/MedicationRequest.read"}}
	v[orderCheckerToken] = access.Principal{Subject: orderCheckerToken, ClientID: orderCheckerToken, Scopes: []string{
		"system/MedicationRequest.read", "system/Patient.read", "system/AllergyIntolerance.read", "system/Observation.read"}}
	v[orderCheckerNoAllergiesToken] = access.Principal{Subject: orderCheckerToken, ClientID: orderCheckerToken, Scopes: []string{
		"system/MedicationRequest.read", "system/Patient.read", "system/Observation.read"}}
	v[launchedToken] = access.Principal{Subject: "u-launched", ClientID: "app", Scopes: []string{"patient/*.read"},
		UserID: uuid.NewString(), PractitionerID: uuid.NewString(), Patient: launchedPatient.String()}
	return serveRouter(t, d), store
}

func decodeInto[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return v
}

func TestMedicationKnowledgeBase(t *testing.T) {
	srv, _ := newMedicationAPI(t, nil)
	kb := decodeInto[KnowledgeBaseAnswer](t, call(t, srv, "GET", "/v1/medications/knowledge-base", medReaderToken, ""))
	if kb.Active != medication.EmbeddedVersion || len(kb.Versions) != 1 || !kb.Versions[0].Active ||
		kb.Versions[0].Version != medication.EmbeddedVersion || kb.Versions[0].Counts.Drugs < 300 {
		t.Fatalf("knowledge base: %+v", kb)
	}
	for _, s := range kb.Versions[0].Sources {
		if s.ID == "" || s.Licence == "" || s.Citation == "" {
			t.Errorf("a source without its licence or citation: %+v", s)
		}
	}
	// Reading patients is not reading medication requests.
	if r := call(t, srv, "GET", "/v1/medications/knowledge-base", readerToken, ""); !insufficientScope(r) {
		t.Errorf("a Patient.read token: %d %s", r.status, r.body)
	}
}

func TestMedicationRoutesWithoutAKnowledgeBase(t *testing.T) {
	d, _ := serviceDeps(pgtest.NewPool(t))
	srv := serveRouter(t, d)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/medications/knowledge-base", ""},
		{"GET", "/v1/medications/drugs?q=warfarin", ""},
		{"POST", "/v1/medications/interactions/check", `{"medications":[{"name":"warfarin"},{"name":"ibuprofen"}]}`},
		{"POST", "/v1/medications/dosage/calculate", `{"medication":"gentamicin","weightKg":60,"ageYears":70,"sex":"male"}`},
	} {
		// Never an empty answer that would read as "no interactions".
		r := call(t, srv, c.method, c.path, adminToken, c.body)
		if r.status != http.StatusServiceUnavailable || decodeErr(t, r).Error != CodeUnavailable {
			t.Errorf("%s %s without a knowledge base: %d %s", c.method, c.path, r.status, r.body)
		}
	}
}

func TestDrugSearch(t *testing.T) {
	srv, _ := newMedicationAPI(t, nil)
	search := func(query string) DrugSearchAnswer {
		t.Helper()
		return decodeInto[DrugSearchAnswer](t, call(t, srv, "GET", "/v1/medications/drugs?"+query, medReaderToken, ""))
	}
	for _, q := range []string{"q=Coumadin", "q=11289", "q=warfarin", "q=%20WARFARIN%20"} {
		a := search(q)
		if a.Match != matchExact || len(a.Data) != 1 || a.Data[0].ID != "warfarin" || a.Data[0].RxCUI != "11289" ||
			len(a.Data[0].Groups) == 0 || a.Version != medication.EmbeddedVersion {
			t.Errorf("%s: %+v", q, a)
		}
	}
	near := search("q=amoxicilin")
	if near.Match != matchNear || len(near.Data) == 0 || near.Data[0].ID != "amoxicillin" || near.Data[0].RxCUI != "723" {
		t.Errorf("a misspelling: %+v", near)
	}
	product := search("q=Augmentin")
	if product.Match != matchExact || !product.Data[0].Product || len(product.Data[0].Ingredients) != 2 ||
		len(product.Data[0].Groups) == 0 {
		t.Errorf("a combination product: %+v", product)
	}
	if typed := search("q=amox&limit=1"); typed.Match != matchNear || len(typed.Data) != 1 {
		t.Errorf("typing amox, one match: %+v", typed)
	}
	if none := search("q=zzzzzzzzzz"); none.Match != matchNone || none.Data == nil || len(none.Data) != 0 {
		t.Errorf("nothing like it: %+v", none)
	}
	for query, field := range map[string]string{"": "q", "q=": "q", "q=warf&limit=0": "limit", "q=warf&limit=11": "limit",
		"q=warf&limit=x": "limit", "q=warf&name=x": "name", "q=" + strings.Repeat("a", 101): "q"} {
		wantFields(t, "search "+query, call(t, srv, "GET", "/v1/medications/drugs?"+query, medReaderToken, ""), field)
	}
}

// checkInteractions posts medications to the interaction check.
func checkInteractions(t *testing.T, srv *httptest.Server, meds ...string) InteractionCheck {
	t.Helper()
	items := make([]string, len(meds))
	for i, m := range meds {
		items[i] = fmt.Sprintf(`{"name":%q}`, m)
	}
	return decodeInto[InteractionCheck](t, call(t, srv, "POST", "/v1/medications/interactions/check", medReaderToken,
		`{"medications":[`+strings.Join(items, ",")+`]}`))
}

func TestInteractionCheck(t *testing.T) {
	srv, store := newMedicationAPI(t, nil)
	for _, c := range []struct {
		a, b     string
		severity medication.Severity
		rule     string
	}{
		{"warfarin", "ibuprofen", medication.SeverityMajor, "warfarin-nsaid"},
		{"simvastatin", "clarithromycin", medication.SeverityContraindicated, "onc-statin-cyp3a4-inhibitor"},
	} {
		rep := checkInteractions(t, srv, c.a, c.b)
		if !rep.Complete || len(rep.Pairs) != 1 || len(rep.Unidentified) != 0 || rep.Version != medication.EmbeddedVersion {
			t.Fatalf("%s with %s: %+v", c.a, c.b, rep)
		}
		p := rep.Pairs[0]
		if p.A != 0 || p.B != 1 || p.Severity != c.severity || p.Rule != c.rule || p.Mechanism == "" || p.Effect == "" ||
			p.Management == "" || len(p.Sources) == 0 || p.Version != medication.EmbeddedVersion {
			t.Errorf("%s with %s: %+v, want %s by %s", c.a, c.b, p, c.severity, c.rule)
		}
	}
	// Brands resolve; a drug the knowledge base does not know is never a
	// silent pass: it is reported with what it may have meant.
	rep := checkInteractions(t, srv, "Coumadin", "Advil", "amoxicilin")
	if rep.Complete || len(rep.Pairs) != 1 || len(rep.Unidentified) != 1 {
		t.Fatalf("with an unknown drug: %+v", rep)
	}
	u := rep.Unidentified[0]
	if u.Index != 2 || u.Name != "amoxicilin" || u.Reason != reasonUnknown || len(u.Candidates) == 0 ||
		u.Candidates[0].ID != "amoxicillin" || u.Finding.Kind != medication.KindUnavailable || rep.Medications[2].Drug != nil ||
		rep.Medications[0].Drug == nil || rep.Medications[0].Drug.ID != "warfarin" {
		t.Errorf("unidentified: %+v, medications %+v", u, rep.Medications)
	}
	if noPairs := checkInteractions(t, srv, "amoxicillin", "paracetamol"); !noPairs.Complete || noPairs.Pairs == nil || len(noPairs.Pairs) != 0 {
		t.Errorf("no interaction: %+v", noPairs)
	}
	r := call(t, srv, "POST", "/v1/medications/interactions/check", medReaderToken,
		`{"medications":[{"code":"11289"},{"code":"5640","name":"ibuprofen"}]}`, "X-Request-Id", "interactions-by-code")
	if byCode := decodeInto[InteractionCheck](t, r); len(byCode.Pairs) != 1 || byCode.Pairs[0].Rule != "warfarin-nsaid" {
		t.Errorf("by RxNorm code: %+v", byCode)
	}
	if recs := recordsFor(t, store, "interactions-by-code"); len(recs) != 1 || recs[0].EntityType != entityDetectedIssue ||
		recs[0].Action != "read" || recs[0].PatientID != nil {
		t.Errorf("audit of the check: %+v", recs)
	}
}

func TestInteractionCheckRefusals(t *testing.T) {
	srv, _ := newMedicationAPI(t, nil)
	many := strings.TrimSuffix(strings.Repeat(`{"name":"warfarin"},`, 51), ",")
	for _, c := range []struct {
		body   string
		fields []string
	}{
		{`{}`, []string{"medications"}},
		{`{"medications":[]}`, []string{"medications"}},
		{`{"medications":[{"name":"warfarin"}]}`, []string{"medications"}},
		{`{"medications":[` + many + `]}`, []string{"medications"}},
		{`{"medications":[{"name":"warfarin"},{}]}`, []string{"medications[1]"}},
		{`{"medications":[{"name":"warfarin"},{"code":" ","name":""}]}`, []string{"medications[1]"}},
		{`{"medications":[{"code":"11289x"},{"name":"ibuprofen"}]}`, []string{"medications[0].code"}},
		{`{"medications":[{"name":"` + strings.Repeat("a", 201) + `"},{"name":"ibuprofen"}]}`, []string{"medications[0].name"}},
		{`{"medications":[{"name":"warfarin"},{"name":7}]}`, []string{"medications[1].name"}},
		{`{"medications":[{"name":"warfarin"},{"name":"ibuprofen","dose":5}]}`, []string{"medications[1].dose"}},
		{`{"medications":"warfarin"}`, []string{"medications"}},
	} {
		wantFields(t, c.body, call(t, srv, "POST", "/v1/medications/interactions/check", medReaderToken, c.body), c.fields...)
	}
}

// creatinineForCrCl is the serum creatinine (µmol/L) that gives a man of
// age and weight the Cockcroft–Gault creatinine clearance crcl:
// (140 − age) × weight / (0.815 × SCr) = crcl.
func creatinineForCrCl(age, weight, crcl float64) float64 {
	return (140 - age) * weight / (0.815 * crcl)
}

func calculateDose(t *testing.T, srv *httptest.Server, body string) medication.DoseAdvice {
	t.Helper()
	return decodeInto[medication.DoseAdvice](t, call(t, srv, "POST", "/v1/medications/dosage/calculate", medReaderToken, body))
}

func TestDoseCalculation(t *testing.T) {
	srv, _ := newMedicationAPI(t, nil)
	scr := creatinineForCrCl(70, 60, 25)
	if crcl := medication.CockcroftGault(70, 60, medication.SexMale, scr); math.Abs(crcl-25) > 1e-9 {
		t.Fatalf("creatinine %v gives CrCl %v", scr, crcl)
	}
	genta := calculateDose(t, srv, fmt.Sprintf(`{"medication":"gentamicin","weightKg":60,"ageYears":70,"sex":"male","creatinineMicromolL":%v}`, scr))
	if genta.Drug.ID != "gentamicin" || genta.Version != medication.EmbeddedVersion || genta.MaxDaily != 420 || genta.MaxDailyUnit != "mg" {
		t.Errorf("gentamicin for 60 kg: %+v", genta)
	}
	if genta.Renal == nil || math.Abs(genta.Renal.CrCl-25) > 0.01 || genta.Renal.Source == "" || len(genta.Renal.Bands) != 1 ||
		genta.Renal.Bands[0].Rule.MinIntervalHours != 48 || genta.Renal.Bands[0].Rule.Source == "" {
		t.Errorf("gentamicin at CrCl 25: renal %+v", genta.Renal)
	}
	for _, r := range genta.Ranges {
		if r.Rule.Source == "" {
			t.Errorf("a range without its rule's source: %+v", r)
		}
	}

	child := calculateDose(t, srv, `{"medication":"paracetamol","weightKg":12,"heightCm":86,"ageYears":2,"sex":"female","creatinineMicromolL":30}`)
	var oral *medication.DoseRange
	for i, r := range child.Ranges {
		if r.Rule.Basis == medication.BasisKg && r.Rule.Routes[0] == medication.RouteOral {
			oral = &child.Ranges[i]
		}
	}
	if child.Drug.ID != "acetaminophen" || oral == nil || oral.SingleMin != 120 || oral.SingleMax != 180 || oral.DailyMax != 900 ||
		oral.Unit != "mg" || oral.Rule.Source == "" {
		t.Fatalf("paracetamol for a 12 kg child: %+v", child)
	}
	if child.Renal == nil || child.Renal.Method != "bedside Schwartz eGFR" {
		t.Errorf("a child's renal function: %+v", child.Renal)
	}
	// Without a creatinine the renal adjustment is not worked out, and the
	// answer says so.
	noRenal := calculateDose(t, srv, `{"medication":"gentamicin","weightKg":60,"ageYears":70,"sex":"male"}`)
	if noRenal.Renal != nil || len(noRenal.Unavailable) == 0 || noRenal.Unavailable[0].Rule != medication.RuleDoseNoRenal {
		t.Errorf("gentamicin without creatinine: %+v", noRenal)
	}

	r := call(t, srv, "POST", "/v1/medications/dosage/calculate", medReaderToken, `{"medication":"gentamycine","weightKg":60,"ageYears":70,"sex":"male"}`)
	var unknown ErrorBody
	if err := json.Unmarshal([]byte(r.body), &unknown); err != nil || r.status != http.StatusUnprocessableEntity ||
		unknown.Error != CodeUnknownMedication || len(unknown.Details) != 1 || unknown.Details[0].Field != "medication" ||
		len(unknown.Candidates) == 0 || unknown.Candidates[0].ID != "gentamicin" {
		t.Errorf("an unknown drug: %d %s", r.status, r.body)
	}
}

func TestDoseCalculationRefusals(t *testing.T) {
	srv, _ := newMedicationAPI(t, nil)
	body := func(mod func(map[string]any)) string {
		b := map[string]any{"medication": "gentamicin", "weightKg": 60, "heightCm": 170, "ageYears": 70, "sex": "male",
			"creatinineMicromolL": 90, "indication": "sepsis"}
		mod(b)
		raw, _ := json.Marshal(b)
		return string(raw)
	}
	set := func(k string, v any) func(map[string]any) { return func(b map[string]any) { b[k] = v } }
	drop := func(k string) func(map[string]any) { return func(b map[string]any) { delete(b, k) } }
	for _, c := range []struct {
		name  string
		mod   func(map[string]any)
		field string
	}{
		{"no medication", drop("medication"), "medication"},
		{"a blank medication", set("medication", "  "), "medication"},
		{"a long medication", set("medication", strings.Repeat("a", 201)), "medication"},
		{"a long indication", set("indication", strings.Repeat("a", 201)), "indication"},
		{"no weight", drop("weightKg"), "weightKg"},
		{"a null weight", set("weightKg", nil), "weightKg"},
		{"weight 0", set("weightKg", 0), "weightKg"},
		{"a negative weight", set("weightKg", -3), "weightKg"},
		{"weight 600 kg", set("weightKg", 600), "weightKg"},
		{"weight as text", set("weightKg", "60"), "weightKg"},
		{"height 10 cm", set("heightCm", 10), "heightCm"},
		{"height 300 cm", set("heightCm", 300), "heightCm"},
		{"no age", drop("ageYears"), "ageYears"},
		{"age 0", set("ageYears", 0), "ageYears"},
		{"age 200", set("ageYears", 200), "ageYears"},
		{"age as true", set("ageYears", true), "ageYears"},
		{"no sex", drop("sex"), "sex"},
		{"an unknown sex", set("sex", "x"), "sex"},
		{"sex as a number", set("sex", 1), "sex"},
		{"creatinine 1", set("creatinineMicromolL", 1), "creatinineMicromolL"},
		{"creatinine 5000", set("creatinineMicromolL", 5000), "creatinineMicromolL"},
		{"an unknown field", set("creatinineMgDl", 1.2), "creatinineMgDl"},
	} {
		wantFields(t, c.name, call(t, srv, "POST", "/v1/medications/dosage/calculate", medReaderToken, body(c.mod)), c.field)
	}
	// Every bad field at once.
	wantFields(t, "all wrong", call(t, srv, "POST", "/v1/medications/dosage/calculate", medReaderToken,
		`{"medication":"","weightKg":0,"ageYears":-1,"sex":"?"}`), "medication", "weightKg", "ageYears", "sex")
}
