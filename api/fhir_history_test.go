package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// An observation keeps every version: its history lists them newest first,
// and each is read by its version id.
func TestFHIRObservationHistory(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	jan := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	id := a.record(t, amina, observation.CodeHeartRate, 72, "/min", jan)
	first, _, err := a.observations.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	amended, err := observation.Amend(first, observation.Input{PatientID: amina, Code: observation.CodeHeartRate, EffectiveAt: jan,
		Value: &observation.ValueInput{Value: fl(127), Unit: "/min"}}, observation.Subject{Sex: observation.SexFemale, AgeMonths: 400},
		"transcription error", observation.Performer{ClientID: "monitor"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.observations.Amend(context.Background(), nil, amended); err != nil {
		t.Fatal(err)
	}

	r := a.as(t, fhirNurseToken, "/fhir/R4/Observation/"+id.String()+"/_history", "history")
	var b struct {
		Type  string
		Total *int
		Entry []struct {
			Resource fhir.Observation
			Request  fhir.BundleEntryRequest
			Response fhir.BundleEntryResponse
		}
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || r.status != http.StatusOK {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	if b.Type != "history" || b.Total == nil || *b.Total != 2 || len(b.Entry) != 2 ||
		b.Entry[0].Resource.Meta.VersionID != "2" || b.Entry[0].Resource.ValueQuantity.Value != 127 || b.Entry[0].Resource.Status != "amended" ||
		b.Entry[0].Request.Method != "PUT" || b.Entry[0].Response.Etag != `W/"2"` ||
		b.Entry[1].Resource.Meta.VersionID != "1" || b.Entry[1].Resource.ValueQuantity.Value != 72 ||
		b.Entry[1].Request.Method != "POST" || b.Entry[1].Response.Status != "201 Created" {
		t.Errorf("history %s", r.body)
	}
	if rec := a.audited(t, "history"); rec.EntityType != "Observation" || rec.EntityID != id.String() || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}
	r = a.get(t, "/fhir/R4/Observation/"+id.String()+"/_history/1")
	var v1 fhir.Observation
	if err := json.Unmarshal([]byte(r.body), &v1); err != nil || r.status != http.StatusOK || v1.Meta.VersionID != "1" ||
		v1.ValueQuantity.Value != 72 || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("vread 1: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"no such version", "/fhir/R4/Observation/" + id.String() + "/_history/3", 404, fhir.IssueNotFound},
		{"a version that is no number", "/fhir/R4/Observation/" + id.String() + "/_history/latest", 404, fhir.IssueNotFound},
		{"unknown observation", "/fhir/R4/Observation/" + uuid.NewString() + "/_history", 404, fhir.IssueNotFound},
		{"a parameter", "/fhir/R4/Observation/" + id.String() + "/_history?_count=1", 400, fhir.IssueNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if issue := fhirOutcome(t, a.get(t, tc.path), tc.status); issue.Code != tc.code {
				t.Errorf("issue %+v, want %s", issue, tc.code)
			}
		})
	}
	a.refusedOutsideLaunch(t, a.launchedFor(rahim), "/fhir/R4/Observation/"+id.String()+"/_history", amina)
	if r := a.as(t, readerToken, "/fhir/R4/Observation/"+id.String()+"/_history/1", "history-reader"); r.status != http.StatusForbidden {
		t.Errorf("a patient reader's vread: %d", r.status)
	}
	// Observation alone serves its history, and the CapabilityStatement
	// says so.
	for _, rt := range (&fhirRoutes{}).routes() {
		if strings.Contains(rt.Path, "/_history") && !strings.HasPrefix(rt.Path, fhirBase+"/Observation/") {
			t.Errorf("%s is served", rt.Path)
		}
	}
	var cs fhir.CapabilityStatement
	_ = json.Unmarshal([]byte(call(t, a.srv, http.MethodGet, "/fhir/R4/metadata", "", "").body), &cs)
	for _, res := range cs.Rest[0].Resource {
		var codes []string
		for _, in := range res.Interaction {
			codes = append(codes, in.Code)
		}
		history := slices.Contains(codes, fhir.InteractionHistory) || slices.Contains(codes, fhir.InteractionVRead)
		if history != (res.Type == "Observation") || (res.Versioning == "versioned") != (res.Type == "Observation") {
			t.Errorf("%s lists %v, versioning %q", res.Type, codes, res.Versioning)
		}
	}
}
