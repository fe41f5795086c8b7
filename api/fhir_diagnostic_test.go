package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

var fhirOrderer = uuid.MustParse("0193c0de-0000-7000-8000-0000000000d3")

// order stores an order of tests for patient placed at, moved on by change
// (nil leaves it registered).
func (a *fhirAPI) order(t *testing.T, patient uuid.UUID, at time.Time, tests []string, change func(diagnostic.Report) diagnostic.Report) diagnostic.Report {
	t.Helper()
	cat, err := diagnostic.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnostic.New(diagnostic.Request{ID: uuid.Must(uuid.NewV7()), PatientID: patient, Tests: tests,
		Priority: diagnostic.PriorityUrgent, OrdererID: fhirOrderer, CreatedAt: at}, cat)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.diagnostics.Create(context.Background(), nil, nil, r); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		r = change(r)
		if err := a.diagnostics.Record(context.Background(), r, nil); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// verifiedWith is r final, resulted by the observations obs.
func verifiedWith(obs ...uuid.UUID) func(diagnostic.Report) diagnostic.Report {
	return func(r diagnostic.Report) diagnostic.Report {
		at := r.Order.CreatedAt.Add(time.Hour)
		for _, id := range obs {
			r.Results = append(r.Results, diagnostic.Result{ObservationID: id, Code: "2345-7", Display: "Glucose"})
		}
		r.Status, r.Conclusion = diagnostic.StatusFinal, "Hypoglycaemia"
		r.Verification = &diagnostic.Verification{By: fhirOrderer, Role: diagnostic.RoleLaboratoryScientist, At: at}
		r.Versions = []diagnostic.Version{{Number: 1, Status: diagnostic.StatusFinal, At: at, By: fhirOrderer}}
		r.Version++
		r.UpdatedAt = at
		r.Timeline = append(r.Timeline, diagnostic.Entry{Seq: r.Version, Kind: diagnostic.EventVerified, At: at, By: fhirOrderer,
			Status: diagnostic.StatusFinal})
		return r
	}
}

// cancelled is r cancelled by its orderer.
func cancelled(t *testing.T) func(diagnostic.Report) diagnostic.Report {
	return func(r diagnostic.Report) diagnostic.Report {
		next, err := r.Cancel(fhirOrderer, "ordered in error", r.Order.CreatedAt.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return next
	}
}

func TestFHIRDiagnosticOrdersAndReports(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	jan := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	glucose := a.record(t, amina, "2345-7", 2.1, "mmol/L", jan)
	final := a.order(t, amina, jan, []string{"2345-7"}, verifiedWith(glucose))
	registered := a.order(t, amina, jan.Add(time.Hour), []string{"58410-2"}, nil)
	revoked := a.order(t, amina, jan.Add(2*time.Hour), []string{"2345-7"}, cancelled(t))
	other := a.order(t, rahim, jan.Add(3*time.Hour), []string{"2345-7"}, nil)

	// The report of the final order names its order and its observation.
	r := a.as(t, fhirNurseToken, "/fhir/R4/DiagnosticReport/"+final.Order.ID.String(), "dr-read")
	var dr fhir.DiagnosticReport
	if err := json.Unmarshal([]byte(r.body), &dr); err != nil || r.status != http.StatusOK {
		t.Fatalf("report read: %d %s", r.status, r.body)
	}
	if dr.Status != "final" || dr.BasedOn[0].Reference != "ServiceRequest/"+final.Order.ID.String() || len(dr.Result) != 1 ||
		dr.Result[0].Reference != "Observation/"+glucose.String() || dr.Code.Coding[0].Code != "2345-7" ||
		dr.Code.Coding[0].System != fhir.SystemLOINC || dr.Conclusion != "Hypoglycaemia" || r.header.Get("ETag") != `W/"2"` {
		t.Errorf("report read as %s", r.body)
	}
	if rec := a.audited(t, "dr-read"); rec.EntityType != "DiagnosticReport" || rec.EntityID != final.Order.ID.String() ||
		rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}
	// The reference resolves: the observation is served.
	if r := a.get(t, "/fhir/R4/"+dr.Result[0].Reference); r.status != http.StatusOK {
		t.Errorf("the result's observation: %d", r.status)
	}
	r = a.as(t, fhirNurseToken, "/fhir/R4/ServiceRequest/"+registered.Order.ID.String(), "sr-read")
	var sr fhir.ServiceRequest
	if err := json.Unmarshal([]byte(r.body), &sr); err != nil || r.status != http.StatusOK {
		t.Fatalf("order read: %d %s", r.status, r.body)
	}
	if sr.Status != "active" || sr.Intent != "order" || sr.Priority != "urgent" || sr.Code.Coding[0].Code != "58410-2" ||
		sr.Category[0].Coding[0].Code != "108252007" || sr.Requester.Reference != "Practitioner/"+fhirOrderer.String() ||
		sr.AuthoredOn != "2026-01-10T09:00:00Z" {
		t.Errorf("order read as %s", r.body)
	}
	if rec := a.audited(t, "sr-read"); rec.EntityType != "ServiceRequest" || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"ServiceRequest?patient=" + amina.String(), ids(revoked.Order.ID, registered.Order.ID, final.Order.ID)},
		{"ServiceRequest?patient=" + amina.String() + "&status=active", ids(registered.Order.ID)},
		{"ServiceRequest?status=active", ids(other.Order.ID, registered.Order.ID)},
		{"ServiceRequest?patient=" + amina.String() + "&status=completed", ids(final.Order.ID)},
		{"ServiceRequest?patient=" + amina.String() + "&status=revoked", ids(revoked.Order.ID)},
		{"ServiceRequest?patient=" + amina.String() + "&status=on-hold", ids()},
		{"ServiceRequest?patient=" + amina.String() + "&category=363679005", ids()},
		{"ServiceRequest?patient=" + amina.String() + "&_sort=-authored&category=" + url.QueryEscape(fhir.SystemSNOMED+"|108252007"),
			ids(revoked.Order.ID, registered.Order.ID, final.Order.ID)},
		{"DiagnosticReport?patient=" + amina.String() + "&status=final", ids(final.Order.ID)},
		{"DiagnosticReport?patient=" + amina.String() + "&status=registered&category=LAB", ids(registered.Order.ID)},
		{"DiagnosticReport?patient=" + amina.String() + "&status=unknown", ids()},
		{"ServiceRequest?patient=" + amina.String() + "&code=58410-2", ids(registered.Order.ID)},
		{"DiagnosticReport?patient=" + amina.String() + "&code=" + url.QueryEscape(fhir.SystemLOINC+"|2345-7"), ids(revoked.Order.ID, final.Order.ID)},
		{"DiagnosticReport?code=2345-7&status=registered", ids(other.Order.ID)},
	} {
		if got := orEmptyIDs(fhirIDs(t, a.get(t, "/fhir/R4/"+tc.query))); !slices.Equal(got, tc.want) {
			t.Errorf("%s found %v, want %v", tc.query, got, tc.want)
		}
	}
	// active stands for three statuses of ours; its pages still come a
	// page at a time, newest first, each order once.
	more := []uuid.UUID{}
	for i := range 3 {
		more = append(more, a.order(t, amina, jan.Add(time.Duration(4+i)*time.Hour), []string{"2345-7"}, func(r diagnostic.Report) diagnostic.Report {
			if i == 1 {
				r.Status = diagnostic.StatusPartial
				r.Version++
				r.Timeline = append(r.Timeline, diagnostic.Entry{Seq: r.Version, Kind: diagnostic.EventResulted, At: r.Order.CreatedAt, Status: r.Status})
			}
			return r
		}).Order.ID)
	}
	want := ids(more[2], more[1], more[0], registered.Order.ID)
	var got []string
	path := "/fhir/R4/ServiceRequest?patient=" + amina.String() + "&status=active&_count=3"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("the pages do not end")
		}
		b := searchBundle(t, a.get(t, path))
		got, path = append(got, fhirIDs(t, a.get(t, path))...), ""
		if len(b.Link) == 2 {
			next, _ := url.Parse(b.Link[1].URL)
			path = next.RequestURI()
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("active a page at a time: %v, want %v", got, want)
	}
	a.as(t, adminToken, "/fhir/R4/DiagnosticReport?status=registered", "dr-search")
	if rec := a.audited(t, "dr-search"); rec.Action != audit.ActionSearch || !slices.Contains(rec.PatientIDs, rahim) || !slices.Contains(rec.PatientIDs, amina) {
		t.Errorf("search audited as %+v", rec)
	}

	for _, tc := range []struct {
		name, path string
		status     int
		code, expr string
	}{
		{"unknown order", "/fhir/R4/ServiceRequest/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"unknown report", "/fhir/R4/DiagnosticReport/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"a report status for an order", "/fhir/R4/ServiceRequest?status=final", 400, fhir.IssueInvalid, "status"},
		{"bad report status", "/fhir/R4/DiagnosticReport?status=verified", 400, fhir.IssueInvalid, "status"},
		{"bad category", "/fhir/R4/DiagnosticReport?category=cardiology", 400, fhir.IssueInvalid, "category"},
		{"code not LOINC", "/fhir/R4/DiagnosticReport?code=" + url.QueryEscape(fhir.SystemSNOMED+"|302866003"), 400, fhir.IssueInvalid, "code"},
		{"no code", "/fhir/R4/ServiceRequest?code=" + url.QueryEscape(fhir.SystemLOINC+"|"), 400, fhir.IssueInvalid, "code"},
		{"no _sort for reports", "/fhir/R4/DiagnosticReport?_sort=-date", 400, fhir.IssueNotSupported, "_sort"},
		{"a merged cursor of other statuses", "/fhir/R4/ServiceRequest?status=active&_cursor=eyJmaW5hbCI6IiJ9", 400, fhir.IssueInvalid, "_cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issue := fhirOutcome(t, a.get(t, tc.path), tc.status)
			if issue.Code != tc.code || (tc.expr != "" && !slices.Equal(issue.Expression, []string{tc.expr})) {
				t.Errorf("issue %+v, want %s naming %q", issue, tc.code, tc.expr)
			}
		})
	}
	if r := a.as(t, readerToken, "/fhir/R4/DiagnosticReport/"+final.Order.ID.String(), "dr-reader"); r.status != http.StatusForbidden {
		t.Errorf("a patient reader's read: %d", r.status)
	}
	launched := a.launchedFor(rahim)
	a.refusedOutsideLaunch(t, launched, "/fhir/R4/ServiceRequest/"+final.Order.ID.String(), amina)
	if got := fhirIDs(t, a.as(t, launched, "/fhir/R4/DiagnosticReport", "dr-own")); !slices.Equal(got, ids(other.Order.ID)) {
		t.Errorf("launched search found %v", got)
	}
}
