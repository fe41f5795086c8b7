package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// plan stores a care plan of patient in status, created at.
func (a *fhirAPI) plan(t *testing.T, patient uuid.UUID, status careplan.Status, at time.Time) careplan.CarePlan {
	t.Helper()
	p := careplan.CarePlan{ID: uuid.Must(uuid.NewV7()), PatientID: patient, Title: "Diabetes foot care", Unit: "ward-3",
		Status: status, Period: careplan.Period{Start: at},
		Goals: []careplan.Goal{{ID: uuid.Must(uuid.NewV7()), Description: "No foot ulcer", Status: careplan.GoalActive}},
		Activities: []careplan.Activity{{ID: uuid.Must(uuid.NewV7()), Title: "Inspect both feet", OwnerID: fhirOrderer,
			Status: careplan.ActivityScheduled, Schedule: careplan.Schedule{DueAt: at.Add(24 * time.Hour), Repeat: "P1D"}, History: []careplan.Change{}}},
		Version: 1, CreatedAt: at, UpdatedAt: at}
	if _, _, err := a.carePlans.Create(context.Background(), nil, nil, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// raise stores an alert of patient raised at, resolved when resolved.
func (a *fhirAPI) raise(t *testing.T, patient uuid.UUID, at time.Time, resolved bool) uuid.UUID {
	t.Helper()
	r := alert.Raise{AlertID: uuid.Must(uuid.NewV7()), PatientID: patient, Unit: "ward-3", Severity: alert.SeverityCritical,
		Category: "news2-high", Message: "NEWS2 score 9", Source: "encounter/" + uuid.NewString()}
	ctx := context.Background()
	if err := a.alerts.RecordAlertRaised(ctx, r, "critical-default", at); err != nil {
		t.Fatal(err)
	}
	if resolved {
		if err := a.alerts.RecordResolved(ctx, r.AlertID, fhirOrderer, "Dr. Karim", "seen", at.Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
	}
	return r.AlertID
}

func TestFHIRCarePlansAndFlags(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	jan := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	activePlan := a.plan(t, amina, careplan.StatusActive, jan)
	donePlan := a.plan(t, amina, careplan.StatusCompleted, jan.Add(time.Hour))
	otherPlan := a.plan(t, rahim, careplan.StatusActive, jan.Add(2*time.Hour))
	open := a.raise(t, amina, jan, false)
	resolved := a.raise(t, amina, jan.Add(time.Hour), true)
	otherAlert := a.raise(t, rahim, jan.Add(2*time.Hour), false)

	r := a.as(t, fhirNurseToken, "/fhir/R4/CarePlan/"+activePlan.ID.String(), "cp-read")
	var cp fhir.CarePlan
	if err := json.Unmarshal([]byte(r.body), &cp); err != nil || r.status != http.StatusOK {
		t.Fatalf("care plan read: %d %s", r.status, r.body)
	}
	if cp.Status != "active" || cp.Intent != "plan" || cp.Title != "Diabetes foot care" || len(cp.Contained) != 1 ||
		cp.Goal[0].Reference != "#"+cp.Contained[0].ID || cp.Activity[0].Detail.Status != "scheduled" ||
		cp.Activity[0].Detail.Performer[0].Reference != "Practitioner/"+fhirOrderer.String() || r.header.Get("ETag") != `W/"1"` {
		t.Errorf("care plan read as %s", r.body)
	}
	if rec := a.audited(t, "cp-read"); rec.EntityType != "CarePlan" || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}
	r = a.as(t, fhirNurseToken, "/fhir/R4/Flag/"+resolved.String(), "flag-read")
	var flag fhir.Flag
	if err := json.Unmarshal([]byte(r.body), &flag); err != nil || r.status != http.StatusOK {
		t.Fatalf("flag read: %d %s", r.status, r.body)
	}
	if flag.Status != "inactive" || flag.Code.Text != "NEWS2 score 9" || flag.Code.Coding[0].Code != "news2-high" ||
		flag.Period.Start != "2026-01-10T09:00:00Z" || flag.Period.End != "2026-01-10T10:00:00Z" ||
		flag.Extension[0].ValueCodeableConcept.Coding[0].Code != "PH" || flag.Subject.Reference != "Patient/"+amina.String() {
		t.Errorf("flag read as %s", r.body)
	}
	if rec := a.audited(t, "flag-read"); rec.EntityType != "Flag" || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"CarePlan?patient=" + amina.String(), ids(donePlan.ID, activePlan.ID)},
		{"CarePlan?status=active", ids(otherPlan.ID, activePlan.ID)},
		{"CarePlan?patient=" + amina.String() + "&status=completed", ids(donePlan.ID)},
		{"CarePlan?status=entered-in-error", ids()},
		{"Flag?patient=" + amina.String(), ids(resolved, open)},
		{"Flag?status=active", ids(otherAlert, open)},
		{"Flag?patient=" + amina.String() + "&status=inactive&_sort=-date", ids(resolved)},
		{"Flag?status=entered-in-error", ids()},
	} {
		if got := orEmptyIDs(fhirIDs(t, a.get(t, "/fhir/R4/"+tc.query))); !slices.Equal(got, tc.want) {
			t.Errorf("%s found %v, want %v", tc.query, got, tc.want)
		}
	}
	a.as(t, adminToken, "/fhir/R4/Flag?status=active", "flag-search")
	if rec := a.audited(t, "flag-search"); !slices.Equal(rec.PatientIDs, []uuid.UUID{rahim, amina}) {
		t.Errorf("search audited as %+v", rec)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		code, expr string
	}{
		{"unknown care plan", "/fhir/R4/CarePlan/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"unknown flag", "/fhir/R4/Flag/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"bad care plan status", "/fhir/R4/CarePlan?status=open", 400, fhir.IssueInvalid, "status"},
		{"bad flag status", "/fhir/R4/Flag?status=open", 400, fhir.IssueInvalid, "status"},
		{"ascending flags", "/fhir/R4/Flag?_sort=date", 400, fhir.IssueNotSupported, "_sort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issue := fhirOutcome(t, a.get(t, tc.path), tc.status)
			if issue.Code != tc.code || (tc.expr != "" && !slices.Equal(issue.Expression, []string{tc.expr})) {
				t.Errorf("issue %+v, want %s naming %q", issue, tc.code, tc.expr)
			}
		})
	}
	for _, path := range []string{"/fhir/R4/CarePlan/" + activePlan.ID.String(), "/fhir/R4/Flag/" + open.String()} {
		if r := a.as(t, readerToken, path, "care-reader"); r.status != http.StatusForbidden {
			t.Errorf("%s by a patient reader: %d", path, r.status)
		}
	}
	launched := a.launchedFor(rahim)
	a.refusedOutsideLaunch(t, launched, "/fhir/R4/CarePlan/"+activePlan.ID.String(), amina)
	a.refusedOutsideLaunch(t, launched, "/fhir/R4/Flag/"+open.String(), amina)
	if got := fhirIDs(t, a.as(t, launched, "/fhir/R4/Flag", "flag-own")); !slices.Equal(got, ids(otherAlert)) {
		t.Errorf("launched search found %v", got)
	}
}

// The audit trail is AuditEvents for the auditor alone, searched by
// patient, date and agent; reading it is audited too.
func TestFHIRAuditEvents(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	a.as(t, practitionerToken(fhirOrderer), "/fhir/R4/Patient/"+amina.String(), "read-amina")
	a.as(t, adminToken, "/fhir/R4/Patient/"+rahim.String(), "read-rahim")
	readAmina := a.audited(t, "read-amina")

	r := a.as(t, fhirAuditorToken, "/fhir/R4/AuditEvent/"+readAmina.ID.String(), "audit-read")
	var ev struct {
		ResourceType, ID, Recorded string
		Entity                     []struct{ What *struct{ Reference string } }
	}
	if err := json.Unmarshal([]byte(r.body), &ev); err != nil || r.status != http.StatusOK {
		t.Fatalf("audit event read: %d %s", r.status, r.body)
	}
	if ev.ResourceType != "AuditEvent" || ev.ID != readAmina.ID.String() || ev.Entity[0].What.Reference != "Patient/"+amina.String() {
		t.Errorf("audit event read as %s", r.body)
	}
	if rec := a.audited(t, "audit-read"); rec.EntityType != "AuditEvent" || rec.EntityID != readAmina.ID.String() ||
		rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("the read audited as %+v", rec)
	}
	hourAgo := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// Each search names its patients in a record of its own: the
		// agent keeps to the one record read before.
		{"patient=" + amina.String() + "&agent=Practitioner/" + fhirOrderer.String(), ids(readAmina.ID)},
		{"agent=" + fhirOrderer.String(), ids(readAmina.ID)},
		{"patient=" + amina.String() + "&agent=admin", ids()},
		{"agent=u-" + fhirOrderer.String() + "&date=ge" + hourAgo + "&_sort=-date", ids(readAmina.ID)},
		{"agent=u-" + fhirOrderer.String() + "&date=lt2000-01-01", ids()},
	} {
		if got := orEmptyIDs(fhirIDs(t, a.as(t, fhirAuditorToken, "/fhir/R4/AuditEvent?"+tc.query, "audit-search"))); !slices.Equal(got, tc.want) {
			t.Errorf("%s found %v, want %v", tc.query, got, tc.want)
		}
	}
	// A search discloses the patients of the records it returns.
	b := searchBundle(t, a.as(t, fhirAuditorToken, "/fhir/R4/AuditEvent?agent=admin&_count=200", "audit-disclose"))
	if len(b.Entry) == 0 {
		t.Fatal("no record of the admin")
	}
	if rec := a.audited(t, "audit-disclose"); !slices.Contains(rec.PatientIDs, rahim) || rec.Action != audit.ActionSearch {
		t.Errorf("the search audited as %+v", rec)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		code, expr string
	}{
		{"unknown", "/fhir/R4/AuditEvent/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"bad date", "/fhir/R4/AuditEvent?date=yesterday", 400, fhir.IssueInvalid, "date"},
		{"bad agent", "/fhir/R4/AuditEvent?agent=" + url.QueryEscape("Device/1"), 400, fhir.IssueInvalid, "agent"},
		{"bad _count", "/fhir/R4/AuditEvent?_count=501", 400, fhir.IssueInvalid, "_count"},
		{"oldest first", "/fhir/R4/AuditEvent?_sort=date", 400, fhir.IssueNotSupported, "_sort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issue := fhirOutcome(t, a.as(t, fhirAuditorToken, tc.path, "audit-bad"), tc.status)
			if issue.Code != tc.code || (tc.expr != "" && !slices.Equal(issue.Expression, []string{tc.expr})) {
				t.Errorf("issue %+v, want %s naming %q", issue, tc.code, tc.expr)
			}
		})
	}
	// Clinicians and nurses do not read the audit trail.
	for _, token := range []string{fhirNurseToken, readerToken} {
		if r := a.as(t, token, "/fhir/R4/AuditEvent?patient="+amina.String(), "audit-clinical"); r.status != http.StatusForbidden ||
			strings.Contains(r.body, readAmina.ID.String()) {
			t.Errorf("%s searched the audit trail: %d", token, r.status)
		}
	}
}
