package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

const recorder = "0193c0de-0000-7000-8000-0000000000aa"

// recorderToken is the recorder signed in: who records every allergy here.
var recorderToken = practitionerToken(uuid.MustParse(recorder))

// allergyJSON is a valid POST/PUT body for a medication allergy.
func allergyJSON(substance, criticality string) string {
	return fmt.Sprintf(`{"substance":{"text":%q},"category":"medication","criticality":%q,
		"reactions":[{"manifestations":["hives"],"severity":"moderate"}],"recordedBy":%q}`, substance, criticality, recorder)
}

func decodeAllergy(t *testing.T, r result) allergy.Allergy {
	t.Helper()
	var a allergy.Allergy
	if err := json.Unmarshal([]byte(r.body), &a); err != nil || a.ID == uuid.Nil {
		t.Fatalf("not an allergy: %d %s", r.status, r.body)
	}
	return a
}

// newPatient reads the id of a patient the API just registered.
func newPatient(t *testing.T, r result) string {
	t.Helper()
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.body), &p); err != nil || r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	return p.ID
}

func TestAllergyRecordReadRevise(t *testing.T) {
	srv, store := newAuditedAPI(t, nil)
	pid := newPatient(t, call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Allergic", "Patient")))
	listPath := "/v1/patients/" + pid + "/allergies"

	r := call(t, srv, "POST", listPath, recorderToken, `{"substance":{"text":"Penicillin","code":{"system":"http://snomed.info/sct",
		"code":"764146007"}},"category":"medication","criticality":"high","verificationStatus":"confirmed",
		"reactions":[{"manifestations":["anaphylaxis"],"severity":"severe"}],"onset":"2019-04","recordedBy":"`+recorder+`"}`,
		"X-Request-Id", "allergy-create")
	if r.status != http.StatusCreated {
		t.Fatalf("record: %d %s", r.status, r.body)
	}
	pen := decodeAllergy(t, r)
	if pen.PatientID.String() != pid || pen.RecordedBy.String() != recorder || pen.ClinicalStatus != allergy.ClinicalActive || pen.Type != allergy.TypeAllergy ||
		r.header.Get("Location") != "/v1/clinical/allergies/"+pen.ID.String() || r.header.Get("ETag") != `"1"` {
		t.Fatalf("recorded %+v, headers %v", pen, r.header)
	}
	recs := recordsFor(t, store, "allergy-create")
	if len(recs) != 1 || recs[0].EntityType != "AllergyIntolerance" || recs[0].EntityID != pen.ID.String() ||
		recs[0].PatientID == nil || recs[0].PatientID.String() != pid || recs[0].Action != audit.ActionCreate {
		t.Fatalf("audit of the record: %+v", recs)
	}

	// The same code, or the same text in another case, is a duplicate naming the first.
	for _, body := range []string{
		`{"substance":{"text":"Benzylpenicillin","code":{"system":"http://snomed.info/sct","code":"764146007"}},"category":"medication","criticality":"low","recordedBy":"` + recorder + `"}`,
		allergyJSON("PENICILLIN", "low"),
	} {
		r = call(t, srv, "POST", listPath, recorderToken, body)
		wantCode(t, r, http.StatusConflict, CodeDuplicateAllergy)
		if !strings.Contains(r.body, pen.ID.String()) {
			t.Fatalf("duplicate does not name %s: %s", pen.ID, r.body)
		}
	}

	wantCode(t, call(t, srv, "POST", "/v1/patients/"+uuid.NewString()+"/allergies", recorderToken, allergyJSON("Latex", "low")),
		http.StatusNotFound, CodeNotFound)
	// Who records is the person acting: a machine client acting as itself
	// records nothing, and recordedBy names the recorder or no one.
	wantCode(t, call(t, srv, "POST", listPath, adminToken, allergyJSON("Latex", "low")), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "POST", listPath, practitionerToken(uuid.New()), allergyJSON("Latex", "low")),
		http.StatusForbidden, CodeActorMismatch)
	r = call(t, srv, "POST", listPath, recorderToken, `{"substance":{"text":""},"category":"drug","criticality":"high",
		"reactions":[{"manifestations":[],"severity":"deadly"}]}`)
	wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
	var fields []string
	for _, f := range decodeErr(t, r).Details {
		fields = append(fields, f.Field)
	}
	if want := []string{"substance.text", "category", "reactions[0].manifestations", "reactions[0].severity"}; !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}

	latex := decodeAllergy(t, call(t, srv, "POST", listPath, recorderToken, allergyJSON("Latex", "low")))
	itemPath := "/v1/clinical/allergies/" + latex.ID.String()
	r = call(t, srv, "GET", itemPath, readerToken, "")
	if r.status != http.StatusForbidden {
		t.Fatalf("read without the AllergyIntolerance scope: %d", r.status)
	}
	r = call(t, srv, "GET", itemPath, adminToken, "")
	if r.status != http.StatusOK || decodeAllergy(t, r).Substance.Text != "Latex" || r.header.Get("ETag") != `"1"` {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", itemPath, adminToken, "", "If-None-Match", `"1"`); r.status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.status)
	}

	resolve := strings.Replace(allergyJSON("Latex", "low"), `"category"`, `"clinicalStatus":"resolved","category"`, 1)
	wantCode(t, call(t, srv, "PUT", itemPath, recorderToken, resolve), http.StatusPreconditionRequired, CodePreconditionRequired)
	wantCode(t, call(t, srv, "PUT", itemPath, recorderToken, resolve, "If-Match", `"4"`), http.StatusPreconditionFailed, CodePreconditionFailed)
	wantCode(t, call(t, srv, "PUT", itemPath, adminToken, resolve, "If-Match", `"1"`), http.StatusForbidden, CodePersonRequired)
	r = call(t, srv, "PUT", itemPath, recorderToken, resolve, "If-Match", `"1"`)
	if r.status != http.StatusOK || decodeAllergy(t, r).ClinicalStatus != allergy.ClinicalResolved || r.header.Get("ETag") != `"2"` {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	// Renaming it to penicillin while active again would duplicate.
	r = call(t, srv, "PUT", itemPath, recorderToken, allergyJSON("penicillin", "low"), "If-Match", `"2"`)
	wantCode(t, r, http.StatusConflict, CodeDuplicateAllergy)
	wantCode(t, call(t, srv, "PUT", "/v1/clinical/allergies/"+uuid.NewString(), recorderToken, resolve, "If-Match", `"1"`),
		http.StatusNotFound, CodeNotFound)

	list := func(query string) []string {
		t.Helper()
		r := call(t, srv, "GET", listPath+query, adminToken, "")
		var body AllergyList
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != http.StatusOK {
			t.Fatalf("list%s: %d %s", query, r.status, r.body)
		}
		var out []string
		for _, a := range body.Data {
			out = append(out, a.Substance.Text)
		}
		return out
	}
	if got := list(""); !slices.Equal(got, []string{"Penicillin", "Latex"}) {
		t.Fatalf("all: %v", got)
	}
	if got := list("?clinicalStatus=active"); !slices.Equal(got, []string{"Penicillin"}) {
		t.Fatalf("active: %v", got)
	}
	if got := list("?clinicalStatus=resolved"); !slices.Equal(got, []string{"Latex"}) {
		t.Fatalf("resolved: %v", got)
	}
	wantCode(t, call(t, srv, "GET", listPath+"?clinicalStatus=gone", adminToken, ""), http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, srv, "GET", "/v1/patients/"+uuid.NewString()+"/allergies", adminToken, ""), http.StatusNotFound, CodeNotFound)
}

// The allergy routes need only the allergy store and the patient register:
// an allergy is recorded with its audit record, and a patient the register
// does not know is refused.
func TestAllergyRoutesOnTheirOwn(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	d.Allergies, d.Patients = postgres.NewAllergyStore(pool), postgres.NewPatientStore(pool)
	srv := serveRouter(t, d)
	patient := registerPatient(t, postgres.NewPatientStore(pool))

	r := call(t, srv, "POST", "/v1/patients/"+patient.String()+"/allergies", recorderToken, allergyJSON("Latex", "low"),
		"X-Request-Id", "allergy-alone")
	if r.status != http.StatusCreated {
		t.Fatalf("record: %d %s", r.status, r.body)
	}
	a := decodeAllergy(t, r)
	recs := recordsFor(t, auditStore, "allergy-alone")
	if len(recs) != 1 || recs[0].Action != audit.ActionCreate || recs[0].EntityType != "AllergyIntolerance" ||
		recs[0].EntityID != a.ID.String() || recs[0].PatientID == nil || *recs[0].PatientID != patient ||
		recs[0].Actor.PractitionerID != recorder {
		t.Errorf("audit record of the allergy: %+v", recs)
	}
	if r := call(t, srv, "GET", "/v1/clinical/allergies/"+a.ID.String(), adminToken, ""); r.status != http.StatusOK ||
		decodeAllergy(t, r).PatientID != patient {
		t.Errorf("read: %d %s", r.status, r.body)
	}

	r = call(t, srv, "POST", "/v1/patients/"+uuid.NewString()+"/allergies", recorderToken, allergyJSON("Latex", "low"))
	wantCode(t, r, http.StatusNotFound, CodeNotFound)
}
