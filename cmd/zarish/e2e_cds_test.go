package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

type cardJSON struct {
	Summary     string `json:"summary"`
	Indicator   string `json:"indicator"`
	Suggestions []struct {
		Label   string `json:"label"`
		Actions []struct {
			Type string `json:"type"`
		} `json:"actions"`
	} `json:"suggestions"`
}

// TestEndToEndCDSAllergies records a high-criticality penicillin allergy,
// starts an encounter with a draft note, and asks each decision-support
// service for its cards on the real stack.
func TestEndToEndCDSAllergies(t *testing.T) {
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)
	// The clinic's system records the allergy and drafts the note for the
	// dev stack's physician.
	clinician := demoPractitionerID("dr.karim").String()
	clinic, forClinician := e.actingToken(), onBehalfOf(clinician)

	penicillin := map[string]any{
		"substance":   map[string]any{"text": "Penicillin", "code": map[string]any{"system": "http://snomed.info/sct", "code": "764146007"}},
		"category":    "medication",
		"criticality": "high",
		"reactions":   []map[string]any{{"manifestations": []string{"anaphylaxis"}, "severity": "severe"}},
		"recordedBy":  clinician,
	}
	r = e.do(http.MethodPost, "/v1/patients/"+p.ID+"/allergies", clinic, penicillin, forClinician...)
	var pen struct {
		ID             string `json:"id"`
		ClinicalStatus string `json:"clinicalStatus"`
	}
	r.json(t, &pen)
	if r.status != http.StatusCreated || pen.ClinicalStatus != "active" || r.header.Get("ETag") != `"1"` {
		t.Fatalf("record allergy: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/patients/"+p.ID+"/allergies", clinic, penicillin, forClinician...)
	var env errorJSON
	r.json(t, &env)
	if r.status != http.StatusConflict || env.Error != "DUPLICATE_ALLERGY" || !strings.Contains(env.Message, pen.ID) {
		t.Fatalf("second penicillin allergy: %d %s", r.status, r.body)
	}

	r = e.do(http.MethodPost, "/v1/clinical/encounters", token, map[string]any{
		"patientId": p.ID, "class": "emergency", "reason": "rash after antibiotics", "location": "ed-resus"})
	var enc struct {
		ID string `json:"id"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("start encounter: %d %s", r.status, r.body)
	}
	eventually(t, 20*time.Second, "the encounter reaches the read model", func() bool {
		return e.do(http.MethodGet, "/v1/clinical/encounters/"+enc.ID, token, nil).status == http.StatusOK
	})
	r = e.do(http.MethodPost, "/v1/clinical/encounters/"+enc.ID+"/notes", clinic, map[string]any{
		"type": "progress", "patientId": p.ID, "text": "Urticaria after amoxicillin; antihistamine given."}, forClinician...)
	if r.status != http.StatusCreated {
		t.Fatalf("draft note: %d %s", r.status, r.body)
	}

	r = e.do(http.MethodGet, "/v1/clinical/cds-services", token, nil)
	var discovery struct {
		Services []struct {
			Hook string `json:"hook"`
			ID   string `json:"id"`
		} `json:"services"`
	}
	r.json(t, &discovery)
	var hooks []string
	for _, s := range discovery.Services {
		hooks = append(hooks, s.Hook)
	}
	if r.status != http.StatusOK || !slices.Equal(hooks, []string{"patient-view", "encounter-start", "encounter-discharge", "order-select", "order-sign"}) {
		t.Fatalf("discovery: %d %s", r.status, r.body)
	}

	call := func(service, encounterID string) []cardJSON {
		t.Helper()
		ctx := map[string]any{"patientId": p.ID, "userId": "Practitioner/" + clinician}
		if encounterID != "" {
			ctx["encounterId"] = encounterID
		}
		r := e.do(http.MethodPost, "/v1/clinical/cds-services/"+service, token, map[string]any{
			"hook": service, "hookInstance": uuid.NewString(), "context": ctx})
		var body struct {
			Cards []cardJSON `json:"cards"`
		}
		r.json(t, &body)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", service, r.status, r.body)
		}
		return body.Cards
	}
	find := func(cards []cardJSON, prefix string) cardJSON {
		t.Helper()
		for _, c := range cards {
			if strings.HasPrefix(c.Summary, prefix) {
				return c
			}
		}
		t.Fatalf("no card %q among %+v", prefix, cards)
		return cardJSON{}
	}

	cards := call("patient-view", "")
	if c := find(cards, "High-criticality allergy: Penicillin"); c.Indicator != "warning" || !strings.Contains(c.Summary, "anaphylaxis") {
		t.Fatalf("patient-view allergy card: %+v", c)
	}
	cards = call("encounter-start", enc.ID)
	if len(cards) != 1 || !strings.HasPrefix(cards[0].Summary, "High-criticality allergy: Penicillin") {
		t.Fatalf("encounter-start cards: %+v", cards)
	}
	cards = call("encounter-discharge", enc.ID)
	unsigned := find(cards, "1 unsigned note")
	if unsigned.Indicator != "warning" || len(unsigned.Suggestions) != 1 || unsigned.Suggestions[0].Actions[0].Type != "update" {
		t.Fatalf("unsigned-note card: %+v", unsigned)
	}
	missing := find(cards, "No signed discharge summary")
	if len(missing.Suggestions) != 1 || missing.Suggestions[0].Actions[0].Type != "create" {
		t.Fatalf("discharge-summary card: %+v", missing)
	}

	// An order screen about to sign amoxicillin for her: the penicillin
	// allergy is a critical card from the medication checks.
	amoxicillin := map[string]any{"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft", "intent": "order",
		"medicationCodeableConcept": map[string]any{"coding": []map[string]any{{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "723", "display": "amoxicillin"}}},
		"dosageInstruction": []map[string]any{{"route": map[string]any{"text": "oral"},
			"timing":      map[string]any{"repeat": map[string]any{"frequency": 3, "period": 1, "periodUnit": "d"}},
			"doseAndRate": []map[string]any{{"doseQuantity": map[string]any{"value": 500, "unit": "mg"}}}}}}
	r = e.do(http.MethodPost, "/v1/clinical/cds-services/order-sign", token, map[string]any{
		"hook": "order-sign", "hookInstance": uuid.NewString(), "context": map[string]any{"patientId": p.ID, "userId": "Practitioner/" + clinician,
			"draftOrders": map[string]any{"resourceType": "Bundle", "entry": []map[string]any{{"resource": amoxicillin}}}}})
	var signed struct {
		Cards []cardJSON `json:"cards"`
	}
	r.json(t, &signed)
	if r.status != http.StatusOK || len(signed.Cards) == 0 || signed.Cards[0].Indicator != "critical" ||
		!strings.Contains(strings.ToLower(signed.Cards[0].Summary), "penicillin") {
		t.Fatalf("order-sign: %d %s", r.status, r.body)
	}

	r = e.do(http.MethodPost, "/v1/clinical/cds-services/encounter-discharge", token, map[string]any{
		"hook": "encounter-discharge", "hookInstance": uuid.NewString(), "context": map[string]any{"encounterId": enc.ID}})
	env = errorJSON{}
	r.json(t, &env)
	if r.status != http.StatusBadRequest || env.Error != "VALIDATION_FAILED" || len(env.Details) != 1 || env.Details[0].Field != "context.patientId" {
		t.Fatalf("request without a patient: %d %s", r.status, r.body)
	}

	events := readTopic(t, e.stack.KafkaAddress, "zarish.clinical.v1", p.ID, 2)
	if events[1].Type != "allergy.recorded" || events[1].Subject != "AllergyIntolerance/"+pen.ID {
		t.Fatalf("second clinical event %s %s, want allergy.recorded", events[1].Type, events[1].Subject)
	}
}
