package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/prescription"
	prescriptionflow "github.com/zarish-sphere/zarish/workflows/prescription"
)

// prescriptionJSON is a prescription as the API answers it.
type prescriptionJSON struct {
	prescriptionflow.View
}

// TestEndToEndPrescriptionChecksHoldAndRelease: on the embedded stack, the
// physician prescribes warfarin (active) and then ibuprofen, which the
// interaction check holds with a major finding naming the warfarin
// prescription (the warfarin, rechecked from the new order's event, shows the
// pair without being held); the physician overrides it with a reason, the pharmacist
// verifies and dispenses it, the nurse records a dose, the encounter lists
// the orders. An ibuprofen allergy recorded afterwards holds the active
// prescription again and alerts its prescriber; discontinuing it closes its
// order on the encounter. Every step is a prescription.* event on Kafka.
func TestEndToEndPrescriptionChecksHoldAndRelease(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	acting := e.actingToken()
	doctorID := demoPractitionerID("dr.karim").String()
	asDoctor := onBehalfOf(doctorID)
	asPharmacist := onBehalfOf(demoPractitionerID("pharm.farhana").String())
	asNurse := onBehalfOf(demoPractitionerID("nurse.nadia").String())

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "inpatient", "reason": "atrial fibrillation", "location": "ward-3"})
	var enc struct {
		ID     string `json:"id"`
		Orders []struct {
			ID     string `json:"id"`
			Kind   string `json:"kind"`
			Status string `json:"status"`
		} `json:"orders"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}
	// Her weight, for the dose checks.
	r = e.do(http.MethodPost, "/v1/observations", acting, map[string]any{
		"patientId": p.ID, "code": "29463-7", "value": map[string]any{"value": 64, "unit": "kg"},
		"effectiveAt": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, asNurse...)
	if r.status != http.StatusCreated {
		t.Fatalf("weight: %d %s", r.status, r.body)
	}

	prescribe := func(body map[string]any) (prescriptionJSON, response) {
		t.Helper()
		body["patientId"], body["encounterId"] = p.ID, enc.ID
		r := e.do(http.MethodPost, "/v1/medications/prescriptions", acting, body, asDoctor...)
		var out prescriptionJSON
		if r.status < 300 {
			r.json(t, &out)
		}
		return out, r
	}
	// An unknown drug is refused with candidates; nothing is stored.
	_, r = prescribe(map[string]any{"medication": map[string]any{"name": "warfarine"}, "dose": map[string]any{"value": 5, "unit": "mg"},
		"route": "oral", "frequency": "daily"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"candidates"`) ||
		!strings.Contains(string(r.body), "UNKNOWN_MEDICATION") {
		t.Fatalf("unknown drug: %d %s", r.status, r.body)
	}

	warfarin, r := prescribe(map[string]any{"medication": map[string]any{"name": "warfarin"},
		"dose": map[string]any{"value": 5, "unit": "mg"}, "route": "oral", "frequency": "daily", "indication": "atrial fibrillation"})
	if r.status != http.StatusCreated || warfarin.Status != prescription.StatusActive {
		t.Fatalf("warfarin: %d %s", r.status, r.body)
	}
	if warfarin.WorkflowID != "prescription/"+warfarin.Details.ID.String() || warfarin.Details.PrescriberID.String() != doctorID {
		t.Errorf("warfarin: workflow %s, prescriber %s", warfarin.WorkflowID, warfarin.Details.PrescriberID)
	}

	ibuprofen, r := prescribe(map[string]any{"medication": map[string]any{"name": "ibuprofen"},
		"dose": map[string]any{"value": 400, "unit": "mg"}, "route": "oral", "frequency": "tds", "durationDays": 5,
		"quantity": map[string]any{"value": 15, "unit": "tablet"}})
	if r.status != http.StatusCreated || ibuprofen.Status != prescription.StatusOnHold {
		t.Fatalf("ibuprofen with warfarin: %d %s", r.status, r.body)
	}
	id := ibuprofen.Details.ID.String()
	var interaction *prescription.Finding
	for i, f := range ibuprofen.Findings {
		if f.Kind == "interaction" && f.OtherPrescriptionID != nil && *f.OtherPrescriptionID == warfarin.Details.ID {
			interaction = &ibuprofen.Findings[i]
		}
	}
	if interaction == nil || interaction.Severity != "major" || !interaction.Blocking || interaction.Version == "" || len(interaction.Sources) == 0 {
		t.Fatalf("ibuprofen's findings %+v: want a major interaction with the warfarin prescription", ibuprofen.Findings)
	}

	// The warfarin hears of the new order from its event and checks itself
	// again: the pair shows there too, held on the newer order, not on the
	// warfarin the patient is established on.
	eventually(t, 60*time.Second, "the warfarin rechecked beside the ibuprofen", func() bool {
		r := e.do(http.MethodGet, "/v1/medications/prescriptions/"+warfarin.Details.ID.String(), admin, nil)
		var w prescriptionJSON
		r.json(t, &w)
		return w.Status == prescription.StatusActive && slices.ContainsFunc(w.Findings, func(f prescription.Finding) bool {
			return f.Kind == "interaction" && !f.Blocking && f.OtherPrescriptionID != nil && *f.OtherPrescriptionID == ibuprofen.Details.ID
		})
	})

	// Verifying a held prescription is refused and records nothing.
	step := func(name string, body map[string]any, as []string) response {
		t.Helper()
		return e.do(http.MethodPost, "/v1/medications/prescriptions/"+id+"/"+name, acting, body, as...)
	}
	if r := step("verify", map[string]any{}, asPharmacist); r.status != http.StatusConflict {
		t.Fatalf("verify on hold: %d %s", r.status, r.body)
	}
	if r := step("verify", map[string]any{}, asDoctor); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "PHARMACIST_REQUIRED") {
		t.Fatalf("verify by the physician: %d %s", r.status, r.body)
	}
	reasons := map[string]string{}
	for _, f := range ibuprofen.Findings {
		if f.Standing() {
			reasons[f.ID] = "short course for gout flare; INR checked in 3 days"
		}
	}
	if r := step("override", map[string]any{"reasons": map[string]string{}}, asDoctor); r.status != http.StatusBadRequest {
		t.Fatalf("override without reasons: %d %s", r.status, r.body)
	}
	r = step("override", map[string]any{"reasons": reasons}, asDoctor)
	var overridden prescriptionJSON
	if r.status == http.StatusOK {
		r.json(t, &overridden)
	}
	if r.status != http.StatusOK || overridden.Status != prescription.StatusActive {
		t.Fatalf("override: %d %s", r.status, r.body)
	}
	r = step("verify", map[string]any{}, asPharmacist)
	var verified prescriptionJSON
	if r.status == http.StatusOK {
		r.json(t, &verified)
	}
	if r.status != http.StatusOK || verified.VerifiedBy == nil {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	if r := step("dispense", map[string]any{"quantity": map[string]any{"value": 20, "unit": "tablet"}}, asPharmacist); r.status != http.StatusBadRequest {
		t.Fatalf("dispense beyond the quantity: %d %s", r.status, r.body)
	}
	if r := step("dispense", map[string]any{"quantity": map[string]any{"value": 9, "unit": "tablet"}}, asPharmacist); r.status != http.StatusOK {
		t.Fatalf("dispense: %d %s", r.status, r.body)
	}
	// The dose is recorded with an Idempotency-Key and sent again, as a
	// client whose answer was lost would: one dose is given.
	doseKey := append(slices.Clone(asNurse), "Idempotency-Key", "dose-"+id)
	for attempt := range 2 {
		r = step("administer", map[string]any{"dose": map[string]any{"value": 400, "unit": "mg"}}, doseKey)
		var given prescriptionJSON
		if r.status == http.StatusOK {
			r.json(t, &given)
		}
		if r.status != http.StatusOK || len(given.Administrations) != 1 || given.Administrations[0].By.String() != demoPractitionerID("nurse.nadia").String() {
			t.Fatalf("administer (attempt %d): %d %s", attempt+1, r.status, r.body)
		}
		if replayed := r.header.Get("Idempotent-Replayed") == "true"; replayed != (attempt == 1) {
			t.Fatalf("administer (attempt %d): Idempotent-Replayed %q", attempt+1, r.header.Get("Idempotent-Replayed"))
		}
	}

	// The encounter lists both orders.
	eventually(t, 30*time.Second, "the encounter lists both prescriptions", func() bool {
		r := e.do(http.MethodGet, "/v1/clinical/encounters/"+enc.ID, admin, nil)
		r.json(t, &enc)
		return len(enc.Orders) == 2
	})

	// An ibuprofen allergy holds the active prescription and tells its prescriber.
	r = e.do(http.MethodPost, "/v1/patients/"+p.ID+"/allergies", acting, map[string]any{
		"substance": map[string]any{"text": "Ibuprofen"}, "category": "medication", "criticality": "high",
		"reactions": []map[string]any{{"manifestations": []string{"urticaria"}, "severity": "moderate"}}}, asDoctor...)
	if r.status != http.StatusCreated {
		t.Fatalf("allergy: %d %s", r.status, r.body)
	}
	var held prescriptionJSON
	eventually(t, 60*time.Second, "the allergy holds the ibuprofen prescription", func() bool {
		r := e.do(http.MethodGet, "/v1/medications/prescriptions/"+id, admin, nil)
		held = prescriptionJSON{}
		r.json(t, &held)
		return held.Status == prescription.StatusOnHold
	})
	if !slices.ContainsFunc(held.Findings, func(f prescription.Finding) bool { return f.Kind == "allergy" && f.Standing() }) {
		t.Errorf("held findings %+v: want a standing allergy finding", held.Findings)
	}
	eventually(t, 60*time.Second, "the prescriber's prescription-finding alert", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+p.ID, admin, nil)
		var page struct {
			Data []alert.Record `json:"data"`
		}
		r.json(t, &page)
		return slices.ContainsFunc(page.Data, func(a alert.Record) bool {
			return a.Category == prescriptionflow.CategoryFinding && a.Unit == "ward-3"
		})
	})

	// Discontinued, its order closes on the encounter; the warfarin is cancelled.
	if r := step("discontinue", map[string]any{"reason": "allergy"}, asDoctor); r.status != http.StatusOK {
		t.Fatalf("discontinue: %d %s", r.status, r.body)
	}
	if r := step("administer", map[string]any{"dose": map[string]any{"value": 400, "unit": "mg"}}, asNurse); r.status != http.StatusConflict {
		t.Fatalf("administer after discontinue: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/v1/medications/prescriptions/"+warfarin.Details.ID.String()+"/cancel", acting,
		map[string]any{"reason": "entered for the wrong patient"}, asDoctor...); r.status != http.StatusOK {
		t.Fatalf("cancel warfarin: %d %s", r.status, r.body)
	}
	eventually(t, 30*time.Second, "both orders closed on the encounter", func() bool {
		r := e.do(http.MethodGet, "/v1/clinical/encounters/"+enc.ID, admin, nil)
		r.json(t, &enc)
		return len(enc.Orders) == 2 && enc.Orders[0].Status != "open" && enc.Orders[1].Status != "open"
	})

	r = e.do(http.MethodGet, "/v1/medications/history?patientId="+p.ID, admin, nil)
	var history struct {
		Data []prescriptionJSON `json:"data"`
	}
	r.json(t, &history)
	if r.status != http.StatusOK || len(history.Data) != 2 {
		t.Fatalf("history: %d %s", r.status, r.body)
	}

	// Every step went out on the clinical topic, keyed by the patient.
	want := []string{"prescription.created", "prescription.held", "prescription.overridden", "prescription.verified",
		"prescription.dispensed", "prescription.administered", "prescription.discontinued"}
	var types []string
	eventually(t, 60*time.Second, "every step's event on the clinical topic", func() bool {
		types = types[:0]
		for _, ev := range readEvents(t, e.stack.KafkaAddress, p.ID, 0) {
			if strings.HasPrefix(ev.Type, "prescription.") && ev.Subject == "MedicationRequest/"+id {
				types = append(types, ev.Type)
			}
		}
		for _, w := range want {
			if !slices.Contains(types, w) {
				return false
			}
		}
		return true
	})
}
