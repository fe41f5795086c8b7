package fhir

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

// diagnosticReport is a verified glucose report of patient, with one result.
func diagnosticReport(patient, orderer, verifier, obs uuid.UUID, at time.Time) diagnostic.Report {
	verified := at.Add(3 * time.Hour)
	return diagnostic.Report{
		Order: diagnostic.Order{ID: uuid.MustParse("0193c0de-0000-7000-8000-0000000d1a01"), PatientID: patient,
			Priority: diagnostic.PriorityStat, ClinicalInfo: "confusion, known diabetic", SpecimenNotes: "fasting",
			OrdererID: orderer, CreatedAt: at,
			Items: []diagnostic.Item{{Code: "2345-7", System: diagnostic.SystemLOINC, Kind: diagnostic.KindTest,
				Display: "Glucose [Mass/volume] in Serum or Plasma", ResultCodes: []string{"2345-7"}}}},
		Status:     diagnostic.StatusFinal,
		Specimens:  []diagnostic.Specimen{{Accession: "A1", CollectedAt: at.Add(time.Hour)}, {Accession: "A0", CollectedAt: at.Add(30 * time.Minute)}},
		Results:    []diagnostic.Result{{ObservationID: obs, Code: "2345-7", Display: "Glucose"}},
		ResultedAt: refOf(at.Add(2 * time.Hour)),
		Verification: &diagnostic.Verification{By: verifier, At: verified, Conclusion: "Hypoglycaemia",
			Codes: []diagnostic.Coding{{System: diagnostic.SystemSNOMED, Code: "302866003", Display: "Hypoglycemia"}}},
		Conclusion: "Hypoglycaemia",
		Codes:      []diagnostic.Coding{{System: diagnostic.SystemSNOMED, Code: "302866003", Display: "Hypoglycemia"}},
		Versions:   []diagnostic.Version{{Number: 1, Status: diagnostic.StatusFinal, At: verified, By: verifier}},
		Version:    7, UpdatedAt: verified,
	}
}

func refOf[T any](v T) *T { return &v }

func TestFromOrderAndReport(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	patient, orderer, verifier, obs := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	r := diagnosticReport(patient, orderer, verifier, obs, at)
	glucose := CodeableConcept{Coding: []Coding{{System: SystemLOINC, Code: "2345-7", Display: "Glucose [Mass/volume] in Serum or Plasma"}},
		Text: "Glucose [Mass/volume] in Serum or Plasma"}

	sr := FromOrder(r)
	shape(t, sr, "status", "intent", "subject")
	want := ServiceRequest{ResourceType: "ServiceRequest", ID: r.Order.ID.String(),
		Meta: &Meta{VersionID: "7", LastUpdated: "2026-03-01T12:00:00Z"}, Status: "completed", Intent: "order",
		Category: []CodeableConcept{{Coding: []Coding{{System: SystemSNOMED, Code: "108252007", Display: "Laboratory procedure"}}}},
		Priority: "stat", Code: &glucose, Subject: Reference{Reference: "Patient/" + patient.String()},
		AuthoredOn: "2026-03-01T09:00:00Z", Requester: &Reference{Reference: "Practitioner/" + orderer.String()},
		ReasonCode: []CodeableConcept{{Text: "confusion, known diabetic"}}, Note: []Annotation{{Text: "fasting"}}}
	if a, b := mappedJSON(t, sr), mappedJSON(t, want); a != b {
		t.Errorf("order mapped as\n%s\nwant\n%s", a, b)
	}

	dr := FromReport(r)
	shape(t, dr, "status", "code", "subject")
	wantReport := DiagnosticReport{ResourceType: "DiagnosticReport", ID: r.Order.ID.String(),
		Meta:     &Meta{VersionID: "7", LastUpdated: "2026-03-01T12:00:00Z"},
		BasedOn:  []Reference{{Reference: "ServiceRequest/" + r.Order.ID.String()}},
		Status:   "final",
		Category: []CodeableConcept{{Coding: []Coding{{System: SystemDiagnosticService, Code: "LAB", Display: "Laboratory"}}}},
		Code:     glucose, Subject: Reference{Reference: "Patient/" + patient.String()},
		EffectiveDateTime:  "2026-03-01T09:30:00Z",
		Issued:             "2026-03-01T12:00:00Z",
		ResultsInterpreter: []Reference{{Reference: "Practitioner/" + verifier.String()}},
		Result:             []Reference{{Reference: "Observation/" + obs.String(), Display: "Glucose"}},
		Conclusion:         "Hypoglycaemia",
		ConclusionCode: []CodeableConcept{{Coding: []Coding{{System: SystemSNOMED, Code: "302866003", Display: "Hypoglycemia"}},
			Text: "Hypoglycemia"}}}
	if a, b := mappedJSON(t, dr), mappedJSON(t, wantReport); a != b {
		t.Errorf("report mapped as\n%s\nwant\n%s", a, b)
	}

	// An imaging order of two procedures names both, each in orderDetail.
	img := r
	img.Order.Items = []diagnostic.Item{
		{Code: "36643-5", System: diagnostic.SystemLOINC, Kind: diagnostic.KindImaging, Display: "XR Chest 2V",
			BodySite: &diagnostic.Coding{System: diagnostic.SystemSNOMED, Code: "51185008", Display: "Thorax"}},
		{Code: "24627-2", System: diagnostic.SystemLOINC, Kind: diagnostic.KindImaging, Display: "CT Chest"}}
	sr = FromOrder(img)
	if sr.Code.Text != "XR Chest 2V; CT Chest" || sr.Code.Coding != nil || len(sr.OrderDetail) != 2 || sr.OrderDetail[1].Coding[0].Code != "24627-2" ||
		sr.Category[0].Coding[0].Code != "363679005" || len(sr.BodySite) != 1 || sr.BodySite[0].Coding[0].Code != "51185008" {
		t.Errorf("imaging order mapped as %s", mappedJSON(t, sr))
	}
	if dr := FromReport(img); dr.Category[0].Coding[0].Code != "RAD" || dr.Code.Text != "XR Chest 2V; CT Chest" {
		t.Errorf("imaging report mapped as %s", mappedJSON(t, dr))
	}

	// Every status of ours: the report's is its name; the order's is in
	// request-status, and maps back to the statuses that have it.
	wantOrder := map[diagnostic.Status]string{
		diagnostic.StatusRegistered: "active", diagnostic.StatusPartial: "active", diagnostic.StatusPreliminary: "active",
		diagnostic.StatusFinal: "completed", diagnostic.StatusAmended: "completed", diagnostic.StatusCorrected: "completed",
		diagnostic.StatusAppended: "completed", diagnostic.StatusCancelled: "revoked", diagnostic.StatusEnteredInError: "entered-in-error",
	}
	for _, st := range diagnostic.Statuses {
		r.Status = st
		if got := FromReport(r).Status; got != string(st) || !slices.Contains(DiagnosticReportStatuses, got) {
			t.Errorf("report %s is %s", st, got)
		}
		if back, ok := ReportStatusOf(string(st)); !ok || back != st {
			t.Errorf("%s does not map back", st)
		}
		got := FromOrder(r).Status
		if got != wantOrder[st] || !slices.Contains(ServiceRequestStatuses, got) || !slices.Contains(OrderStatusesOf(got), st) {
			t.Errorf("order of %s is %s", st, got)
		}
	}
	if got := OrderStatusesOf("active"); !slices.Equal(got, []diagnostic.Status{diagnostic.StatusRegistered, diagnostic.StatusPartial, diagnostic.StatusPreliminary}) {
		t.Errorf("active is %v", got)
	}
	for _, code := range []string{"draft", "on-hold", "unknown"} {
		if got := OrderStatusesOf(code); got != nil {
			t.Errorf("%s is %v", code, got)
		}
	}
	if _, ok := ReportStatusOf("unknown"); ok {
		t.Error("unknown is a report status of ours")
	}
	for token, want := range map[string]diagnostic.Category{"108252007": diagnostic.CategoryLaboratory,
		SystemSNOMED + "|363679005": diagnostic.CategoryImaging, SystemDiagnosticService + "|LAB": diagnostic.CategoryLaboratory, "RAD": diagnostic.CategoryImaging} {
		if got, ok := OrderCategoryOf(token); !ok || got != want {
			t.Errorf("category %s is %s", token, got)
		}
	}
	if _, ok := OrderCategoryOf(SystemDiagnosticService + "|108252007"); ok {
		t.Error("a code of another system is a category")
	}
}
