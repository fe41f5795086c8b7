package audit_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
)

func TestFHIRAuditEvent(t *testing.T) {
	patient := uuid.MustParse("0192f4a0-0000-7000-8000-000000000001")
	other := uuid.MustParse("0192f4a0-0000-7000-8000-000000000002")
	base := audit.Record{
		ID:        uuid.MustParse("0192f4a0-0000-7000-8000-0000000000aa"),
		Time:      time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("x", 3600)),
		Actor:     audit.Actor{Subject: "dr.rahman", ClientID: "ward-app", Roles: []string{"clinician"}},
		SourceIP:  "10.1.2.3",
		RequestID: "req-1",
		Method:    "GET",
		Route:     "/v1/patients/:id",
		Status:    200,
		Purpose:   "treatment",
		Outcome:   audit.OutcomeSuccess,
	}
	with := func(change func(*audit.Record)) audit.Record {
		r := base
		change(&r)
		return r
	}
	dcm := func(code string) string { return audit.SystemDICOM + "|" + code }

	tests := []struct {
		name     string
		record   audit.Record
		typ      string   // system|code
		subtypes []string // codes
		action   string
		outcome  string
		purposes []string // codes or text
		entities []string // what.reference or what.type
	}{
		{
			name: "patient read",
			record: with(func(r *audit.Record) {
				r.Action, r.EntityType, r.EntityID, r.PatientID = audit.ActionRead, "Patient", patient.String(), &patient
			}),
			typ: dcm("110110"), subtypes: []string{"read"}, action: "R", outcome: "0",
			purposes: []string{"TREAT"}, entities: []string{"Patient/" + patient.String()},
		},
		{
			name: "observation created for a patient",
			record: with(func(r *audit.Record) {
				r.Action, r.Method, r.Status = audit.ActionCreate, "POST", 201
				r.EntityType, r.EntityID, r.PatientID = "Observation", "obs-9", &patient
			}),
			typ: dcm("110110"), subtypes: []string{"create"}, action: "C", outcome: "0",
			purposes: []string{"TREAT"}, entities: []string{"Patient/" + patient.String(), "Observation/obs-9"},
		},
		{
			name: "update",
			record: with(func(r *audit.Record) {
				r.Action, r.Method, r.EntityType, r.EntityID, r.PatientID = audit.ActionUpdate, "PUT", "Patient", patient.String(), &patient
			}),
			typ: dcm("110110"), subtypes: []string{"update"}, action: "U", outcome: "0",
			purposes: []string{"TREAT"}, entities: []string{"Patient/" + patient.String()},
		},
		{
			name: "delete that failed",
			record: with(func(r *audit.Record) {
				r.Action, r.Method, r.Status, r.Outcome = audit.ActionDelete, "DELETE", 500, audit.OutcomeFailure
				r.EntityType, r.EntityID = "Appointment", "a-1"
			}),
			typ: dcm("110110"), subtypes: []string{"delete"}, action: "D", outcome: "8",
			purposes: []string{"TREAT"}, entities: []string{"Appointment/a-1"},
		},
		{
			name: "search returning two patients",
			record: with(func(r *audit.Record) {
				r.Action, r.EntityType, r.PatientIDs, r.Purpose = audit.ActionSearch, "Patient", []uuid.UUID{patient, other}, "HOPERAT"
			}),
			typ: dcm("110112"), subtypes: []string{"search-type"}, action: "E", outcome: "0",
			purposes: []string{"HOPERAT"},
			entities: []string{"Patient/" + patient.String(), "Patient/" + other.String(), "Patient"},
		},
		{
			name: "login",
			record: with(func(r *audit.Record) {
				r.Action, r.Method, r.EntityType, r.Purpose = audit.ActionLogin, "POST", "Client", ""
			}),
			typ: dcm("110114"), subtypes: []string{"110122"}, action: "E", outcome: "0",
			entities: []string{"Client"},
		},
		{
			name: "refused login",
			record: with(func(r *audit.Record) {
				r.Action, r.Method, r.Status, r.Outcome, r.EntityType, r.Purpose = audit.ActionLogin, "POST", 401, audit.OutcomeDenied, "Client", ""
			}),
			typ: dcm("110114"), subtypes: []string{"110122"}, action: "E", outcome: "4",
			entities: []string{"Client"},
		},
		{
			name: "denied read",
			record: with(func(r *audit.Record) {
				r.Action, r.Status, r.Outcome = audit.ActionDenied, 403, audit.OutcomeDenied
				r.EntityType, r.EntityID, r.PatientID = "Patient", patient.String(), &patient
			}),
			typ: dcm("110113"), subtypes: []string{"read"}, action: "R", outcome: "4",
			purposes: []string{"TREAT"}, entities: []string{"Patient/" + patient.String()},
		},
		{
			name: "break-the-glass read",
			record: with(func(r *audit.Record) {
				r.Action, r.EntityType, r.EntityID, r.PatientID = audit.ActionRead, "Patient", patient.String(), &patient
				r.Purpose, r.BreakGlass = "emergency", "unconscious patient in ED"
			}),
			typ: dcm("110113"), subtypes: []string{"read", "110127"}, action: "R", outcome: "0",
			purposes: []string{"ETREAT", "BTG"}, entities: []string{"Patient/" + patient.String()},
		},
		{
			name: "export",
			record: with(func(r *audit.Record) {
				r.Action, r.EntityType, r.EntityID, r.Purpose = audit.ActionExport, "AuditEvent", "disclosures", "legal"
			}),
			typ: dcm("110106"), action: "R", outcome: "0",
			purposes: []string{"HLEGAL"}, entities: []string{"AuditEvent/disclosures"},
		},
		{
			name: "admin action with an unknown purpose",
			record: with(func(r *audit.Record) {
				r.Action, r.Method, r.EntityType, r.EntityID, r.Purpose = audit.ActionAdmin, "POST", "Client", "lab-gw", "onboarding"
			}),
			typ: dcm("110100"), action: "E", outcome: "0",
			purposes: []string{"onboarding"}, entities: []string{"Client/lab-gw"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.record.FHIR()
			if ev.ResourceType != "AuditEvent" || ev.ID != tt.record.ID.String() {
				t.Errorf("resourceType/id = %q/%q", ev.ResourceType, ev.ID)
			}
			if got := ev.Type.System + "|" + ev.Type.Code; got != tt.typ {
				t.Errorf("type = %s, want %s", got, tt.typ)
			}
			var subtypes []string
			for _, c := range ev.Subtype {
				subtypes = append(subtypes, c.Code)
			}
			if !reflect.DeepEqual(subtypes, tt.subtypes) {
				t.Errorf("subtypes = %v, want %v", subtypes, tt.subtypes)
			}
			if ev.Action != tt.action {
				t.Errorf("action = %q, want %q", ev.Action, tt.action)
			}
			if ev.Outcome != tt.outcome {
				t.Errorf("outcome = %q, want %q", ev.Outcome, tt.outcome)
			}
			if ev.Recorded != "2026-03-04T04:06:07.123456Z" {
				t.Errorf("recorded = %q, want UTC RFC 3339", ev.Recorded)
			}
			var purposes []string
			for _, p := range ev.PurposeOfEvent {
				if len(p.Coding) > 0 {
					if p.Coding[0].System != audit.SystemPurposeOfUse {
						t.Errorf("purpose system = %q", p.Coding[0].System)
					}
					purposes = append(purposes, p.Coding[0].Code)
				} else {
					purposes = append(purposes, p.Text)
				}
			}
			if !reflect.DeepEqual(purposes, tt.purposes) {
				t.Errorf("purposes = %v, want %v", purposes, tt.purposes)
			}
			var entities []string
			for _, e := range ev.Entity {
				if e.What.Reference != "" {
					entities = append(entities, e.What.Reference)
				} else {
					entities = append(entities, e.What.Type)
				}
			}
			if !reflect.DeepEqual(entities, tt.entities) {
				t.Errorf("entities = %v, want %v", entities, tt.entities)
			}
			if ev.Source.Observer.Display != "zarish" {
				t.Errorf("source observer = %+v", ev.Source.Observer)
			}
			a := ev.Agent[0]
			if !a.Requestor || a.Who.Identifier == nil || a.Who.Identifier.Value != "dr.rahman" ||
				a.Network == nil || a.Network.Address != "10.1.2.3" || a.Network.Type != "2" {
				t.Errorf("requesting agent = %+v", a)
			}
			if len(ev.Agent) != 2 || ev.Agent[1].Requestor || ev.Agent[1].Who.Identifier.Value != "ward-app" {
				t.Errorf("client agent = %+v", ev.Agent)
			}
		})
	}
}

func TestFHIRBreakGlassReasonAndPatientRole(t *testing.T) {
	p := uuid.New()
	r := audit.Record{ID: uuid.New(), Time: time.Now(), Actor: audit.Actor{Subject: "svc", ClientID: "svc"},
		Action: audit.ActionRead, EntityType: "Patient", EntityID: p.String(), PatientID: &p,
		Outcome: audit.OutcomeSuccess, BreakGlass: "cardiac arrest", RequestID: "r-7"}
	b, err := json.Marshal(r.FHIR())
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	purposes := ev["purposeOfEvent"].([]any)
	btg := purposes[len(purposes)-1].(map[string]any)
	if btg["text"] != "cardiac arrest" || btg["coding"].([]any)[0].(map[string]any)["code"] != "BTG" {
		t.Errorf("break-the-glass purpose = %v", btg)
	}
	agents := ev["agent"].([]any)
	if len(agents) != 1 {
		t.Fatalf("a client acting for itself is one agent, got %v", agents)
	}
	if typ := agents[0].(map[string]any)["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]; typ != "110150" {
		t.Errorf("a client acting for itself is typed Application, got %v", typ)
	}
	entity := ev["entity"].([]any)[0].(map[string]any)
	if entity["role"].(map[string]any)["code"] != "1" || entity["type"].(map[string]any)["code"] != "1" {
		t.Errorf("patient entity = %v", entity)
	}
	if d := entity["detail"].([]any)[0].(map[string]any); d["type"] != "requestId" || d["valueString"] != "r-7" {
		t.Errorf("patient entity detail = %v", d)
	}
}

func TestFHIRUnidentifiedActorHasNoEmptyValues(t *testing.T) {
	r := audit.Record{ID: uuid.New(), Time: time.Now(), Action: audit.ActionLogin, EntityType: "Client",
		Outcome: audit.OutcomeDenied, Purpose: ""}
	ev := r.FHIR()
	if len(ev.Agent) != 1 || ev.Agent[0].Who.Identifier != nil || ev.Agent[0].Who.Display == "" || !ev.Agent[0].Requestor {
		t.Errorf("agent of an unidentified caller = %+v", ev.Agent)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`""`)) {
		t.Errorf("FHIR forbids empty strings: %s", b)
	}
}
