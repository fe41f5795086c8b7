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

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// Tokens of the FHIR tests: a nurse and an auditor, by their roles' scopes.
const (
	fhirNurseToken   = "fhir-nurse"
	fhirAuditorToken = "fhir-auditor"
)

// withRoleTokens lets the nurse's and the auditor's tokens in.
func (a *fhirAPI) withRoleTokens() *fhirAPI {
	a.tokens[fhirNurseToken] = access.Principal{Subject: "ward-app", ClientID: "ward-app", Scopes: access.RoleNurse.Scopes(),
		Roles: []string{string(access.RoleNurse)}}
	a.tokens[fhirAuditorToken] = access.Principal{Subject: "audit-desk", ClientID: "audit-desk", Scopes: access.RoleAuditor.Scopes(),
		Roles: []string{string(access.RoleAuditor)}}
	return a
}

// launchedFor is a token confined to patient, as a SMART app launched for
// them holds.
func (a *fhirAPI) launchedFor(patient uuid.UUID) string {
	token := "launched-" + patient.String()
	a.tokens[token] = access.Principal{Subject: "u-launched", ClientID: "app", Scopes: []string{"patient/*.read"},
		UserID: uuid.NewString(), PractitionerID: uuid.NewString(), Patient: patient.String()}
	return token
}

// as is a GET with token, under request id rid.
func (a *fhirAPI) as(t *testing.T, token, path, rid string) result {
	t.Helper()
	return call(t, a.srv, http.MethodGet, path, token, "", "X-Request-Id", rid)
}

// refusedOutsideLaunch checks that token, confined to its launch patient,
// is refused a read of path, which is of patient, and that the refusal is
// audited naming that patient.
func (a *fhirAPI) refusedOutsideLaunch(t *testing.T, token, path string, patient uuid.UUID) {
	t.Helper()
	rid := "outside-" + uuid.NewString()
	r := a.as(t, token, path, rid)
	if r.status != http.StatusForbidden || strings.Contains(r.body, patient.String()) ||
		!strings.Contains(r.body, `"resourceType":"OperationOutcome"`) {
		t.Errorf("a read outside the launch patient: %d %s", r.status, r.body)
	}
	if rec := a.audited(t, rid); rec.Status != http.StatusForbidden || rec.PatientID == nil || *rec.PatientID != patient {
		t.Errorf("the refusal audited as %+v", rec)
	}
}

// audited is the one audit record of request rid.
func (a *fhirAPI) audited(t *testing.T, rid string) audit.Record {
	t.Helper()
	recs := recordsFor(t, a.audit, rid)
	if len(recs) != 1 {
		t.Fatalf("%d audit records of %s", len(recs), rid)
	}
	return recs[0]
}

var fhirPrescriber = uuid.MustParse("0193c0de-0000-7000-8000-0000000000d1")

// prescribe stores an order of paracetamol for patient written at, moved on
// by change (nil leaves it a draft).
func (a *fhirAPI) prescribe(t *testing.T, patient uuid.UUID, at time.Time, change func(prescription.Prescription) prescription.Prescription) prescription.Prescription {
	t.Helper()
	p, err := prescription.New(prescription.Details{
		ID: uuid.Must(uuid.NewV7()), PatientID: patient,
		Order:        medication.Order{Code: "161", Name: "paracetamol", Dose: 1, DoseUnit: "g", Route: "oral", Frequency: "q6h", DurationDays: 5},
		Drug:         medication.Resolution{ID: "paracetamol", Name: "paracetamol", Ingredients: []string{"paracetamol"}},
		PrescriberID: fhirPrescriber, CreatedAt: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.prescriptions.Create(context.Background(), nil, nil, p); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		p = change(p)
		if err := a.prescriptions.Record(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// activated is p after checks that found nothing.
func activated(p prescription.Prescription) prescription.Prescription {
	next, _, _ := p.Checked(medication.Result{Version: "t"}, prescription.Context{}, prescription.ReasonOrdered, p.UpdatedAt.Add(time.Minute))
	return next
}

// ids are the ids as text.
func ids(list ...uuid.UUID) []string {
	out := []string{}
	for _, id := range list {
		out = append(out, id.String())
	}
	return out
}

// orEmptyIDs is got, [] for none.
func orEmptyIDs(got []string) []string {
	if got == nil {
		return []string{}
	}
	return got
}

func TestFHIRMedicationRequests(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	jan := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	draft := a.prescribe(t, amina, jan, nil)
	active := a.prescribe(t, amina, jan.Add(time.Hour), activated)
	other := a.prescribe(t, rahim, jan.Add(2*time.Hour), activated)

	// A read: the order as ordered, its version as the ETag; audited as a
	// read of the prescription and its patient.
	r := a.as(t, fhirNurseToken, "/fhir/R4/MedicationRequest/"+active.Details.ID.String(), "rx-read")
	if r.status != http.StatusOK || r.header.Get("ETag") != `W/"2"` {
		t.Fatalf("read by a nurse: %d %s %s", r.status, r.header.Get("ETag"), r.body)
	}
	var got fhir.MedicationRequest
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "active" || got.Intent != "order" || got.Subject.Reference != "Patient/"+amina.String() ||
		got.MedicationCodeableConcept.Text != "paracetamol" || got.MedicationCodeableConcept.Coding[1].System != fhir.SystemRxNorm ||
		got.MedicationCodeableConcept.Coding[1].Code != "161" || got.Requester.Reference != "Practitioner/"+fhirPrescriber.String() ||
		got.DosageInstruction[0].Route.Coding[0].Code != "26643006" || got.AuthoredOn != "2026-01-10T09:00:00Z" {
		t.Errorf("read as %s", r.body)
	}
	if rec := a.audited(t, "rx-read"); rec.Action != audit.ActionRead || rec.EntityType != "MedicationRequest" ||
		rec.EntityID != active.Details.ID.String() || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"patient=" + amina.String(), ids(active.Details.ID, draft.Details.ID)},
		{"patient=Patient/" + amina.String() + "&status=active", ids(active.Details.ID)},
		{"status=" + url.QueryEscape("http://hl7.org/fhir/CodeSystem/medicationrequest-status|active"), ids(other.Details.ID, active.Details.ID)},
		{"patient=" + amina.String() + "&status=entered-in-error", ids()},
		{"patient=" + amina.String() + "&_sort=-authoredon", ids(active.Details.ID, draft.Details.ID)},
	} {
		if got := orEmptyIDs(fhirIDs(t, a.get(t, "/fhir/R4/MedicationRequest?"+tc.query))); !slices.Equal(got, tc.want) {
			t.Errorf("%s found %v, want %v", tc.query, got, tc.want)
		}
	}
	// A page at a time.
	first := searchBundle(t, a.get(t, "/fhir/R4/MedicationRequest?patient="+amina.String()+"&_count=1"))
	if len(first.Entry) != 1 || len(first.Link) != 2 || first.Link[1].Relation != "next" || first.Total != nil {
		t.Fatalf("first page: %+v", first.Bundle)
	}
	next, _ := url.Parse(first.Link[1].URL)
	if got := fhirIDs(t, a.get(t, next.RequestURI())); !slices.Equal(got, ids(draft.Details.ID)) {
		t.Errorf("second page %v", got)
	}
	// The search discloses the patients it returns.
	a.as(t, adminToken, "/fhir/R4/MedicationRequest?status=active", "rx-search")
	if rec := a.audited(t, "rx-search"); rec.Action != audit.ActionSearch || rec.EntityType != "MedicationRequest" ||
		!slices.Equal(rec.PatientIDs, []uuid.UUID{rahim, amina}) {
		t.Errorf("search audited as %+v", rec)
	}

	for _, tc := range []struct {
		name, path string
		status     int
		code, expr string
	}{
		{"unknown", "/fhir/R4/MedicationRequest/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"bad status", "/fhir/R4/MedicationRequest?status=dispensed", 400, fhir.IssueInvalid, "status"},
		{"another system", "/fhir/R4/MedicationRequest?status=" + url.QueryEscape("http://example.org|active"), 400, fhir.IssueInvalid, "status"},
		{"bad patient", "/fhir/R4/MedicationRequest?patient=Group/1", 400, fhir.IssueInvalid, "patient"},
		{"bad _count", "/fhir/R4/MedicationRequest?_count=201", 400, fhir.IssueInvalid, "_count"},
		{"a _sort not served", "/fhir/R4/MedicationRequest?_sort=authoredon", 400, fhir.IssueNotSupported, "_sort"},
		{"bad cursor", "/fhir/R4/MedicationRequest?_cursor=nonsense", 400, fhir.IssueInvalid, "_cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issue := fhirOutcome(t, a.get(t, tc.path), tc.status)
			if issue.Code != tc.code || (tc.expr != "" && !slices.Equal(issue.Expression, []string{tc.expr})) {
				t.Errorf("issue %+v, want %s naming %q", issue, tc.code, tc.expr)
			}
		})
	}
	// The scope: a token reading patients only, and the auditor, are refused.
	for _, token := range []string{readerToken, fhirAuditorToken} {
		if r := a.as(t, token, "/fhir/R4/MedicationRequest/"+active.Details.ID.String(), "rx-"+token); r.status != http.StatusForbidden {
			t.Errorf("%s read: %d %s", token, r.status, r.body)
		}
	}
	// A token launched for Amina reads hers, and nobody else's.
	launched := a.launchedFor(amina)
	if r := a.as(t, launched, "/fhir/R4/MedicationRequest/"+active.Details.ID.String(), "rx-own"); r.status != http.StatusOK {
		t.Errorf("launched read of her own: %d %s", r.status, r.body)
	}
	a.refusedOutsideLaunch(t, launched, "/fhir/R4/MedicationRequest/"+other.Details.ID.String(), rahim)
	if got := fhirIDs(t, a.as(t, launched, "/fhir/R4/MedicationRequest?status=active", "rx-own-search")); !slices.Equal(got, ids(active.Details.ID)) {
		t.Errorf("launched search found %v", got)
	}
	if issue := fhirOutcome(t, a.as(t, launched, "/fhir/R4/MedicationRequest?patient="+rahim.String(), "rx-other-search"), http.StatusForbidden); !slices.Equal(issue.Expression, []string{"patient"}) {
		t.Errorf("launched search of another: %+v", issue)
	}
}
