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

	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
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
		v1.ValueQuantity.Value != 72 || r.header.Get("ETag") != `W/"1"` ||
		r.header.Get("Last-Modified") != first.RecordedAt.UTC().Format(http.TimeFormat) {
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
	// Observation, Patient and AllergyIntolerance alone serve their
	// history, and the CapabilityStatement says so.
	versioned := []string{"Observation", "Patient", "AllergyIntolerance"}
	for _, rt := range (&fhirRoutes{}).routes() {
		typ, _, _ := strings.Cut(strings.TrimPrefix(rt.Path, fhirBase+"/"), "/")
		if strings.Contains(rt.Path, "/_history") && !slices.Contains(versioned, typ) {
			t.Errorf("%s is served", rt.Path)
		}
	}
	var cs fhir.CapabilityStatement
	_ = json.Unmarshal([]byte(call(t, a.srv, http.MethodGet, "/fhir/R4/metadata", "", "").body), &cs)
	seen := 0
	for _, res := range cs.Rest[0].Resource {
		var codes []string
		for _, in := range res.Interaction {
			codes = append(codes, in.Code)
		}
		want := slices.Contains(versioned, res.Type)
		if want {
			seen++
		}
		if slices.Contains(codes, fhir.InteractionHistory) != want || slices.Contains(codes, fhir.InteractionVRead) != want ||
			(res.Versioning == "versioned") != want {
			t.Errorf("%s lists %v, versioning %q", res.Type, codes, res.Versioning)
		}
	}
	if seen != len(versioned) {
		t.Errorf("the CapabilityStatement lists %d of the versioned types %v", seen, versioned)
	}
}

// historyOf decodes a history Bundle, failing on anything else.
func historyOf[R any](t *testing.T, r result) (total int, entries []historyEntry[R]) {
	t.Helper()
	var b struct {
		ResourceType, Type string
		Total              *int
		Link               []fhir.BundleLink
		Entry              []historyEntry[R]
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || r.status != http.StatusOK || b.ResourceType != "Bundle" ||
		b.Type != "history" || b.Total == nil || len(b.Link) != 1 || b.Link[0].Relation != "self" {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	return *b.Total, b.Entry
}

// historyEntry is one entry of a history Bundle.
type historyEntry[R any] struct {
	FullURL  string
	Resource R
	Request  fhir.BundleEntryRequest
	Response fhir.BundleEntryResponse
}

// A patient keeps every version: a registration and two updates are three
// versions, newest first, each read by its version id.
func TestFHIRPatientHistory(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	registered := a.register(t, "Amina", "Begum", "1988-02-29")
	amina := registered.ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	renamed, err := a.patients.Update(context.Background(), amina, nil, func(cur patient.Patient) (patient.Patient, error) {
		return cur.Replace(patient.Details{Name: patient.Name{Given: []string{"Amina"}, Family: "Rahman"}, BirthDate: "1988-02-29", Sex: "female"},
			registered.UpdatedAt.Add(time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	deactivated, err := a.patients.Update(context.Background(), amina, nil, func(cur patient.Patient) (patient.Patient, error) {
		next, _ := cur.Deactivate(renamed.UpdatedAt.Add(time.Hour))
		return next, nil
	})
	if err != nil || deactivated.Version != 3 {
		t.Fatalf("deactivate: %+v %v", deactivated, err)
	}

	path := "/fhir/R4/Patient/" + amina.String() + "/_history"
	r := a.as(t, fhirNurseToken, path, "patient-history")
	total, entries := historyOf[fhir.Patient](t, r)
	if total != 3 || len(entries) != 3 {
		t.Fatalf("history of %d, %d entries: %s", total, len(entries), r.body)
	}
	for i, want := range []struct {
		version, family, method, url, status string
		active                               bool
		at                                   time.Time
	}{
		{"3", "Rahman", "PUT", "Patient/" + amina.String(), "200 OK", false, deactivated.UpdatedAt},
		{"2", "Rahman", "PUT", "Patient/" + amina.String(), "200 OK", true, renamed.UpdatedAt},
		{"1", "Begum", "POST", "Patient", "201 Created", true, registered.UpdatedAt},
	} {
		e := entries[i]
		if e.Resource.ID != amina.String() || e.Resource.Meta.VersionID != want.version || e.Resource.Name[0].Family != want.family ||
			e.Resource.Active != want.active || e.Request.Method != want.method || e.Request.URL != want.url ||
			e.Response.Status != want.status || e.Response.Etag != `W/"`+want.version+`"` ||
			e.Response.LastModified != want.at.UTC().Format(time.RFC3339Nano) || !strings.HasSuffix(e.FullURL, "/fhir/R4/Patient/"+amina.String()) {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if rec := a.audited(t, "patient-history"); rec.EntityType != "Patient" || rec.EntityID != amina.String() ||
		rec.PatientID == nil || *rec.PatientID != amina || rec.Status != http.StatusOK {
		t.Errorf("audited as %+v", rec)
	}

	r = a.as(t, fhirNurseToken, path+"/1", "patient-vread")
	var v1 fhir.Patient
	if err := json.Unmarshal([]byte(r.body), &v1); err != nil || r.status != http.StatusOK || v1.Meta.VersionID != "1" ||
		v1.Name[0].Family != "Begum" || !v1.Active || r.header.Get("ETag") != `W/"1"` ||
		r.header.Get("Last-Modified") != registered.UpdatedAt.UTC().Format(http.TimeFormat) {
		t.Errorf("vread 1: %d %v %s", r.status, r.header, r.body)
	}
	if rec := a.audited(t, "patient-vread"); rec.EntityType != "Patient" || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("vread audited as %+v", rec)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		code       string
	}{
		{"no such version", path + "/9", 404, fhir.IssueNotFound},
		{"a version that is no number", path + "/first", 404, fhir.IssueNotFound},
		{"unknown patient", "/fhir/R4/Patient/" + uuid.NewString() + "/_history", 404, fhir.IssueNotFound},
		{"a parameter", path + "?_since=2026-01-01", 400, fhir.IssueNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if issue := fhirOutcome(t, a.get(t, tc.path), tc.status); issue.Code != tc.code {
				t.Errorf("issue %+v, want %s", issue, tc.code)
			}
		})
	}
	a.refusedOutsideLaunch(t, a.launchedFor(rahim), path, amina)
	a.refusedOutsideLaunch(t, a.launchedFor(rahim), path+"/1", amina)
	if r := a.as(t, a.launchedFor(amina), path+"/2", "patient-launched"); r.status != http.StatusOK {
		t.Errorf("the launch patient's own vread: %d %s", r.status, r.body)
	}
}

// An allergy keeps every version: a recording and two revisions are three
// versions, newest first, each read by its version id.
func TestFHIRAllergyHistory(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	details := func(c allergy.Criticality) allergy.Details {
		return allergy.Details{Substance: allergy.Substance{Text: "Penicillin"}, Category: allergy.CategoryMedication, Criticality: c,
			RecordedBy: uuid.MustParse("0190f3c4-0000-7000-8000-0000000000a1")}
	}
	recorded, err := allergy.New(uuid.Must(uuid.NewV7()), amina, details(allergy.CriticalityLow), time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.routes.allergies.Create(context.Background(), nil, recorded); err != nil {
		t.Fatal(err)
	}
	revise := func(c allergy.Criticality, at time.Time) allergy.Allergy {
		t.Helper()
		next, err := a.routes.allergies.Update(context.Background(), recorded.ID, nil, func(cur allergy.Allergy) (allergy.Allergy, error) {
			return cur.Revise(details(c), at)
		})
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
	v2 := revise(allergy.CriticalityHigh, time.Now().Add(-time.Hour))
	v3 := revise(allergy.CriticalityUnableToAssess, time.Now())

	path := "/fhir/R4/AllergyIntolerance/" + recorded.ID.String() + "/_history"
	r := a.as(t, fhirNurseToken, path, "allergy-history")
	total, entries := historyOf[fhir.AllergyIntolerance](t, r)
	if total != 3 || len(entries) != 3 {
		t.Fatalf("history of %d, %d entries: %s", total, len(entries), r.body)
	}
	for i, want := range []struct {
		version, criticality, method, url, status string
		at                                        time.Time
	}{
		{"3", "unable-to-assess", "PUT", "AllergyIntolerance/" + recorded.ID.String(), "200 OK", v3.UpdatedAt},
		{"2", "high", "PUT", "AllergyIntolerance/" + recorded.ID.String(), "200 OK", v2.UpdatedAt},
		{"1", "low", "POST", "AllergyIntolerance", "201 Created", recorded.UpdatedAt},
	} {
		e := entries[i]
		if e.Resource.Meta.VersionID != want.version || e.Resource.Criticality != want.criticality ||
			e.Resource.Patient.Reference != "Patient/"+amina.String() || e.Request.Method != want.method || e.Request.URL != want.url ||
			e.Response.Status != want.status || e.Response.Etag != `W/"`+want.version+`"` ||
			e.Response.LastModified != want.at.UTC().Format(time.RFC3339Nano) {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if rec := a.audited(t, "allergy-history"); rec.EntityType != "AllergyIntolerance" || rec.EntityID != recorded.ID.String() ||
		rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}
	r = a.get(t, path+"/1")
	var v1 fhir.AllergyIntolerance
	if err := json.Unmarshal([]byte(r.body), &v1); err != nil || r.status != http.StatusOK || v1.Meta.VersionID != "1" ||
		v1.Criticality != "low" || r.header.Get("ETag") != `W/"1"` ||
		r.header.Get("Last-Modified") != recorded.UpdatedAt.UTC().Format(http.TimeFormat) {
		t.Errorf("vread 1: %d %v %s", r.status, r.header, r.body)
	}
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"no such version", path + "/9", 404},
		{"unknown allergy", "/fhir/R4/AllergyIntolerance/" + uuid.NewString() + "/_history/1", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if issue := fhirOutcome(t, a.get(t, tc.path), tc.status); issue.Code != fhir.IssueNotFound {
				t.Errorf("issue %+v", issue)
			}
		})
	}
	a.refusedOutsideLaunch(t, a.launchedFor(rahim), path, amina)
	a.refusedOutsideLaunch(t, a.launchedFor(rahim), path+"/3", amina)
	if r := a.as(t, readerToken, path, "allergy-reader"); r.status != http.StatusForbidden {
		t.Errorf("a patient reader's history: %d", r.status)
	}
}
