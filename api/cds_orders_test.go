package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/cds"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

// draft is one draft MedicationRequest as an EHR sends it: the drug by
// RxNorm code and text, the dose, the route as SNOMED CT coding and the
// timing as repeat (perDay > 0) or code.
type draft struct {
	id, rxcui, text string
	dose            float64
	unit, route     string
	perDay          int
	timing          string
}

func (d draft) resource() map[string]any {
	concept := map[string]any{"text": d.text}
	if d.rxcui != "" {
		concept["coding"] = []any{map[string]any{"system": rxnormSystem, "code": d.rxcui, "display": d.text}}
	}
	dosage := map[string]any{}
	if d.dose > 0 {
		dosage["doseAndRate"] = []any{map[string]any{"type": map[string]any{"text": "ordered"},
			"doseQuantity": map[string]any{"value": d.dose, "unit": d.unit, "system": "http://unitsofmeasure.org", "code": d.unit}}}
	}
	if d.route != "" {
		dosage["route"] = map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "display": d.route}}}
	}
	switch {
	case d.perDay > 0:
		dosage["timing"] = map[string]any{"repeat": map[string]any{"frequency": d.perDay, "period": 1, "periodUnit": "d"}}
	case d.timing != "":
		dosage["timing"] = map[string]any{"code": map[string]any{"text": d.timing}}
	}
	return map[string]any{"resourceType": "MedicationRequest", "id": d.id, "status": "draft", "intent": "order",
		"subject": map[string]any{"reference": "Patient/x"}, "medicationCodeableConcept": concept,
		"dosageInstruction": []any{dosage}}
}

// orderHookBody is an order-select (with selections) or order-sign request.
func orderHookBody(hook string, patientID uuid.UUID, selections []string, drafts ...draft) string {
	entries := make([]any, len(drafts))
	for i, d := range drafts {
		entries[i] = map[string]any{"fullUrl": "urn:uuid:" + uuid.NewString(), "resource": d.resource()}
	}
	ctx := map[string]any{"patientId": patientID.String(), "userId": "Practitioner/42",
		"draftOrders": map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries}}
	if selections != nil {
		ctx["selections"] = selections
	}
	raw, _ := json.Marshal(map[string]any{"hook": hook, "hookInstance": uuid.NewString(),
		"fhirServer": "https://ehr.example.org/fhir", "context": ctx})
	return string(raw)
}

// adultContext is a 50-year-old man of 75 kg with normal renal function.
func adultContext() prescription.Context {
	return prescription.Context{Patient: medication.Patient{AgeYears: 50, WeightKg: 75, HeightCm: 178,
		Sex: medication.SexMale, CreatinineUmolL: 80}}
}

func penicillinAllergic() prescription.Context {
	c := adultContext()
	c.Patient.Allergies = []medication.Allergy{{Substance: allergy.Substance{Text: "Penicillin"}, Category: allergy.CategoryMedication,
		Criticality: allergy.CriticalityHigh, Type: allergy.TypeAllergy, ClinicalStatus: allergy.ClinicalActive,
		VerificationStatus: allergy.VerificationConfirmed}}
	return c
}

var (
	amoxicillin  = draft{id: "amox", rxcui: "723", text: "amoxicillin", dose: 500, unit: "mg", route: "Oral route", timing: "TID"}
	warfarin     = draft{id: "warf", rxcui: "11289", text: "warfarin", dose: 5, unit: "mg", route: "Oral route", perDay: 1}
	ibuprofen    = draft{id: "ibu", rxcui: "5640", text: "ibuprofen", dose: 400, unit: "mg", route: "Oral route", perDay: 3}
	unidentified = draft{id: "typo", text: "amoxicilin", dose: 500, unit: "mg", route: "Oral route", timing: "TID"}
)

func TestOrderSignAllergy(t *testing.T) {
	patient := uuid.New()
	srv, store := newMedicationAPI(t, &fakeMedicationContext{patients: map[uuid.UUID]prescription.Context{patient: penicillinAllergic()}})
	r := call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken,
		orderHookBody("order-sign", patient, nil, amoxicillin), "X-Request-Id", "order-sign-allergy")
	cards := cardsOf(t, r)
	if len(cards) == 0 {
		t.Fatal("no card for amoxicillin in a patient allergic to penicillin")
	}
	c := cards[0]
	if c.Indicator != cds.IndicatorCritical || !strings.HasPrefix(c.Summary, "Allergy: do not give amoxicillin") ||
		!strings.Contains(c.Summary, "Penicillin") || len([]rune(c.Summary)) > cds.MaxSummaryLen {
		t.Errorf("allergy card: %s: %s", c.Indicator, c.Summary)
	}
	if !strings.Contains(c.Source.Label, medication.EmbeddedVersion) || !strings.Contains(c.Source.Label, "aaaai-2022") ||
		!strings.Contains(c.Detail, "**Management:** Do not give") || !strings.Contains(c.Detail, "MedicationRequest/amox") {
		t.Errorf("allergy card's source and detail: %q\n%s", c.Source.Label, c.Detail)
	}
	// The route "Oral route" is read as oral: the dose was checked, so no
	// card says it could not be.
	for _, other := range cards[1:] {
		if other.Indicator == cds.IndicatorWarning && (strings.HasPrefix(other.Summary, "Not fully checked") || strings.HasPrefix(other.Summary, "Dose not checked")) {
			t.Errorf("a dose the checks should have read: %s", other.Summary)
		}
	}
	recs := recordsFor(t, store, "order-sign-allergy")
	if len(recs) != 1 || recs[0].EntityType != entityGuidance || recs[0].Action != "read" || recs[0].PatientID == nil ||
		*recs[0].PatientID != patient {
		t.Errorf("audit of the hook call: %+v", recs)
	}
}

func TestOrderSignUnidentifiedDrug(t *testing.T) {
	patient := uuid.New()
	srv, _ := newMedicationAPI(t, &fakeMedicationContext{patients: map[uuid.UUID]prescription.Context{patient: adultContext()}})
	cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken,
		orderHookBody("order-sign", patient, nil, unidentified)))
	if len(cards) != 1 || cards[0].Indicator != cds.IndicatorWarning || !strings.HasPrefix(cards[0].Summary, "Not checked") {
		t.Fatalf("an unidentified drug: %s", summaries(cards))
	}
	c := cards[0]
	if len(c.Suggestions) == 0 || c.SelectionBehavior != "at-most-one" {
		t.Fatalf("no candidates offered: %+v", c)
	}
	s := c.Suggestions[0]
	concept, _ := s.Actions[0].Resource["medicationCodeableConcept"].(map[string]any)
	coding, _ := concept["coding"].([]any)
	if s.Actions[0].Type != cds.ActionUpdate || s.Actions[0].Resource["id"] != "typo" || len(coding) != 1 ||
		coding[0].(map[string]any)["code"] != "723" || !strings.Contains(s.Label, "amoxicillin") {
		t.Errorf("first suggestion: %+v", s)
	}
}

func TestOrderHookWhenTheRecordCannotBeRead(t *testing.T) {
	srv, _ := newMedicationAPI(t, &fakeMedicationContext{err: errors.New("database is down")})
	cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken,
		orderHookBody("order-sign", uuid.New(), nil, amoxicillin, warfarin)))
	if len(cards) != 1 || cards[0].Indicator != cds.IndicatorWarning || !strings.Contains(cards[0].Summary, "could not run") ||
		!strings.Contains(cards[0].Detail, "MedicationRequest/amox") || !strings.Contains(cards[0].Detail, "MedicationRequest/warf") {
		t.Fatalf("the record could not be read: %+v", cards)
	}
	if strings.Contains(cards[0].Detail, "database") {
		t.Errorf("the card tells the user about the server's failure: %s", cards[0].Detail)
	}
}

func TestOrderSelectChecksTheSelectionAgainstTheOtherDrafts(t *testing.T) {
	patient := uuid.New()
	srv, _ := newMedicationAPI(t, &fakeMedicationContext{patients: map[uuid.UUID]prescription.Context{patient: adultContext()}})
	cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-select", orderCheckerToken,
		orderHookBody("order-select", patient, []string{"MedicationRequest/ibu"}, warfarin, ibuprofen)))
	var interactions []cds.Card
	for _, c := range cards {
		if strings.Contains(c.Summary, "interaction") {
			interactions = append(interactions, c)
		}
	}
	if len(interactions) != 1 || interactions[0].Indicator != cds.IndicatorWarning ||
		interactions[0].Summary != "Major interaction: ibuprofen with warfarin" ||
		!strings.Contains(interactions[0].Detail, "draft order MedicationRequest/warf") {
		t.Fatalf("order-select of ibuprofen beside warfarin:\n%s", summaries(cards))
	}
	// Only the selection is checked: warfarin's own dose is not its concern.
	for _, c := range cards {
		if strings.Contains(c.Detail, "**Order:** warfarin") {
			t.Errorf("a card about the unselected order: %s", c.Summary)
		}
	}
	// Signing both gives the pair once.
	signed := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken,
		orderHookBody("order-sign", patient, nil, warfarin, ibuprofen)))
	n := 0
	for _, c := range signed {
		if strings.Contains(c.Summary, "interaction") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("order-sign of warfarin and ibuprofen: %d interaction cards:\n%s", n, summaries(signed))
	}
}

func TestOrderSignInteractionWithAnActivePrescription(t *testing.T) {
	patient, prescriptionID := uuid.New(), uuid.New()
	ctx := adultContext()
	ctx.Orders([]prescription.ActiveOrder{{PrescriptionID: prescriptionID, Order: medication.Order{Name: "simvastatin", Dose: 40,
		DoseUnit: "mg", Route: "oral", Frequency: "nocte"}}})
	srv, _ := newMedicationAPI(t, &fakeMedicationContext{patients: map[uuid.UUID]prescription.Context{patient: ctx}})
	clarithromycin := draft{id: "clari", rxcui: "21212", text: "clarithromycin", dose: 500, unit: "mg", route: "Oral route", perDay: 2}
	cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken,
		orderHookBody("order-sign", patient, nil, clarithromycin)))
	if len(cards) == 0 || cards[0].Indicator != cds.IndicatorCritical || !strings.HasPrefix(cards[0].Summary, "Contraindicated interaction") ||
		!strings.Contains(cards[0].Detail, prescriptionID.String()) {
		t.Fatalf("clarithromycin beside simvastatin:\n%s", summaries(cards))
	}
}

func TestOrderSignDoseFinding(t *testing.T) {
	patient := uuid.New()
	child := prescription.Context{Patient: medication.Patient{AgeYears: 2, WeightKg: 12, HeightCm: 86, Sex: medication.SexFemale,
		CreatinineUmolL: 30}}
	srv, _ := newMedicationAPI(t, &fakeMedicationContext{patients: map[uuid.UUID]prescription.Context{patient: child}})
	paracetamol := draft{id: "pcm", rxcui: "161", text: "paracetamol", dose: 500, unit: "mg", route: "Oral route", perDay: 4}
	cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken,
		orderHookBody("order-sign", patient, nil, paracetamol)))
	i := slices.IndexFunc(cards, func(c cds.Card) bool { return strings.Contains(c.Summary, "maximum single dose") })
	if i < 0 {
		t.Fatalf("500 mg for a 12 kg child:\n%s", summaries(cards))
	}
	c := cards[i]
	if c.Indicator != cds.IndicatorWarning || !strings.Contains(c.Detail, "Recommended for this patient") ||
		!strings.Contains(c.Detail, "120–180 mg per dose") || len(c.Suggestions) != 1 || c.Suggestions[0].Label != "Change the dose to 180 mg" {
		t.Fatalf("dose card: %+v", c)
	}
	q := doseQuantityOf(c.Suggestions[0].Actions[0].Resource)
	if q == nil || q["value"] != float64(180) || q["unit"] != "mg" {
		t.Errorf("suggested dose: %+v", q)
	}
}

func TestOrderHookPermissions(t *testing.T) {
	other := uuid.New()
	srv, _ := newMedicationAPI(t, &fakeMedicationContext{patients: map[uuid.UUID]prescription.Context{
		launchedPatient: penicillinAllergic(), other: penicillinAllergic()}})
	// Reading medication requests alone is not reading the patient.
	r := call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", medReaderToken, orderHookBody("order-sign", other, nil, amoxicillin))
	if !insufficientScope(r) || !strings.Contains(r.header.Get("WWW-Authenticate"), "system/Patient.read") {
		t.Errorf("without Patient.read: %d %s", r.status, r.body)
	}
	// A caller who may not read allergies gets no card built from them, and
	// a card saying the allergy checks did not run.
	cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerNoAllergiesToken,
		orderHookBody("order-sign", other, nil, amoxicillin)))
	if len(cards) == 0 || !strings.HasPrefix(cards[0].Summary, "Allergy checks did not run") || strings.Contains(summaries(cards), "Penicillin") {
		t.Errorf("without AllergyIntolerance.read:\n%s", summaries(cards))
	}
	// A token launched for one patient reaches that patient only.
	if cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", launchedToken,
		orderHookBody("order-sign", launchedPatient, nil, amoxicillin))); len(cards) == 0 || cards[0].Indicator != cds.IndicatorCritical {
		t.Errorf("the launch patient: %s", summaries(cards))
	}
	r = call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", launchedToken, orderHookBody("order-sign", other, nil, amoxicillin))
	if r.status != http.StatusForbidden || decodeErr(t, r).Error != CodePatientContext || strings.Contains(r.body, "Penicillin") {
		t.Errorf("another patient with a launched token: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken,
		orderHookBody("order-sign", uuid.New(), nil, amoxicillin)), http.StatusNotFound, CodeNotFound)
}

func TestOrderHookDiscoveryAndRefusals(t *testing.T) {
	patient := uuid.New()
	srv, _ := newMedicationAPI(t, &fakeMedicationContext{patients: map[uuid.UUID]prescription.Context{patient: adultContext()}})
	discovery := decodeInto[CDSServices](t, call(t, srv, "GET", "/v1/clinical/cds-services", adminToken, ""))
	var hooks []string
	for _, s := range discovery.Services {
		hooks = append(hooks, s.Hook)
	}
	if !slices.Contains(hooks, "order-select") || !slices.Contains(hooks, "order-sign") || !slices.Contains(hooks, "patient-view") {
		t.Errorf("discovery with a knowledge base: %v", hooks)
	}

	body := func(hook string, selections []string, mod func(ctx map[string]any)) string {
		var b map[string]any
		_ = json.Unmarshal([]byte(orderHookBody(hook, patient, selections, warfarin, ibuprofen)), &b)
		mod(b["context"].(map[string]any))
		raw, _ := json.Marshal(b)
		return string(raw)
	}
	entry := func(ctx map[string]any, i int) map[string]any {
		return ctx["draftOrders"].(map[string]any)["entry"].([]any)[i].(map[string]any)
	}
	noop := func(map[string]any) {}
	for _, c := range []struct {
		name, path, body string
		fields           []string
	}{
		{"the wrong hook", "order-sign", orderHookBody("order-select", patient, nil, warfarin), []string{"hook"}},
		{"no draft orders", "order-sign", body("order-sign", nil, func(ctx map[string]any) { delete(ctx, "draftOrders") }),
			[]string{"context.draftOrders"}},
		{"draft orders that are not a Bundle", "order-sign", body("order-sign", nil, func(ctx map[string]any) {
			ctx["draftOrders"].(map[string]any)["resourceType"] = "MedicationRequest"
		}), []string{"context.draftOrders.resourceType"}},
		{"a draft order as text", "order-sign", body("order-sign", nil, func(ctx map[string]any) {
			ctx["draftOrders"].(map[string]any)["entry"] = "warfarin"
		}), []string{"context.draftOrders.entry"}},
		{"an entry without a resource", "order-sign", body("order-sign", nil, func(ctx map[string]any) {
			delete(entry(ctx, 1), "resource")
		}), []string{"context.draftOrders.entry[1].resource"}},
		{"a dose as text", "order-sign", body("order-sign", nil, func(ctx map[string]any) {
			dosage := entry(ctx, 0)["resource"].(map[string]any)["dosageInstruction"].([]any)[0].(map[string]any)
			dosage["doseAndRate"].([]any)[0].(map[string]any)["doseQuantity"].(map[string]any)["value"] = "5"
		}), []string{"context.draftOrders.entry[0].resource.dosageInstruction.doseAndRate.doseQuantity.value"}},
		{"a dose of 0", "order-sign", body("order-sign", nil, func(ctx map[string]any) {
			dosage := entry(ctx, 0)["resource"].(map[string]any)["dosageInstruction"].([]any)[0].(map[string]any)
			dosage["doseAndRate"].([]any)[0].(map[string]any)["doseQuantity"].(map[string]any)["value"] = 0
		}), []string{"context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate[0].doseQuantity.value"}},
		{"order-select without selections", "order-select", body("order-select", nil, noop), []string{"context.selections"}},
		{"a selection of no draft", "order-select", body("order-select", []string{"MedicationRequest/warf", "MedicationRequest/nope"}, noop),
			[]string{"context.selections[1]"}},
		{"selections in order-sign", "order-sign", body("order-sign", []string{"MedicationRequest/warf"}, noop), []string{"context.selections"}},
		{"a field CDS Hooks does not define", "order-sign", body("order-sign", nil, func(ctx map[string]any) { ctx["mood"] = "x" }),
			[]string{"context.mood"}},
		{"every CDS Hooks field", "order-select", `{"hook":"patient-view","context":{"patientId":"x","encounterId":"y"}}`,
			[]string{"hook", "hookInstance", "context.patientId", "context.encounterId", "context.draftOrders", "context.selections"}},
	} {
		wantFields(t, c.name, call(t, srv, "POST", "/v1/clinical/cds-services/"+c.path, orderCheckerToken, c.body), c.fields...)
	}
	// Entries of other kinds are not medication orders: nothing to say.
	other := `{"hook":"order-sign","hookInstance":"` + uuid.NewString() + `","context":{"patientId":"` + patient.String() + `",
		"draftOrders":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"ServiceRequest","id":"xray","code":{"text":"Chest X-ray"}}}]}}}`
	if cards := cardsOf(t, call(t, srv, "POST", "/v1/clinical/cds-services/order-sign", orderCheckerToken, other)); len(cards) != 0 {
		t.Errorf("a service request: %s", summaries(cards))
	}
}

func TestOrderHookReadsFHIRTiming(t *testing.T) {
	for _, c := range []struct {
		timing fhirTiming
		text   string
		perDay float64
	}{
		{fhirTiming{Code: &fhirConcept{Text: "BID"}}, "BID", 0},
		{fhirTiming{Code: &fhirConcept{Coding: []fhirCoding{{Code: "Q6H"}}}}, "Q6H", 0},
		{fhirTiming{Repeat: &struct {
			Frequency  *float64 `json:"frequency"`
			Period     *float64 `json:"period"`
			PeriodUnit string   `json:"periodUnit"`
		}{Frequency: ptr(1.0), Period: ptr(8.0), PeriodUnit: "h"}}, "", 3},
		{fhirTiming{Repeat: &struct {
			Frequency  *float64 `json:"frequency"`
			Period     *float64 `json:"period"`
			PeriodUnit string   `json:"periodUnit"`
		}{Frequency: ptr(1.0), Period: ptr(1.0), PeriodUnit: "wk"}}, "", 1.0 / 7},
	} {
		if text, perDay := timingOf(&c.timing); text != c.text || perDay != c.perDay {
			t.Errorf("%+v: %q %v, want %q %v", c.timing, text, perDay, c.text, c.perDay)
		}
	}
	for written, want := range map[*fhirConcept]string{
		{Text: "Oral route"}: "Oral", {Coding: []fhirCoding{{Code: "47625008", Display: "Intravenous use"}}}: "iv",
		{Text: "PO"}: "PO", {Text: "by magic"}: "by magic",
	} {
		if got := routeOf(written); got != want {
			t.Errorf("route %+v: %q, want %q", written, got, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }
