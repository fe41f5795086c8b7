package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// observationAPI serves the observation routes alone (with the care-team
// directory, which X-On-Behalf-Of names practitioners from) on a fresh
// database, for the nurse and physician signed in, the pager gateway, and
// the admin and reader clients.
type observationAPI struct {
	srv   *httptest.Server
	pool  *pgxpool.Pool
	audit *postgres.AuditStore
}

func newObservationAPI(t *testing.T) *observationAPI {
	t.Helper()
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	d.Observations = postgres.NewObservationStore(pool)
	d.CareTeam = postgres.NewCareTeamStore(pool)
	verifier := peopleVerifier()
	maps.Copy(verifier, d.Verifier.(stubVerifier))
	verifier[readerObsToken] = access.Principal{Subject: readerObsToken, ClientID: readerObsToken, Scopes: []string{"system/Observation.read"}}
	d.Verifier = verifier
	registerPractitioners(t, pool, nurseID)
	return &observationAPI{srv: serveRouter(t, d), pool: pool, audit: auditStore}
}

// patient registers a patient of the sex and birth date.
func (a *observationAPI) patient(t *testing.T, sex, birthDate string) uuid.UUID {
	t.Helper()
	p, _, err := postgres.NewPatientStore(a.pool).Register(context.Background(), nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, patient.Details{
			Name: patient.Name{Given: []string{"Obs"}, Family: "Patient"}, BirthDate: birthDate, Sex: sex}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (a *observationAPI) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := a.pool.QueryRow(context.Background(), `SELECT count(*) FROM observations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ago is a time minutes before now, as RFC 3339.
func ago(minutes int) string {
	return time.Now().UTC().Add(-time.Duration(minutes) * time.Minute).Truncate(time.Second).Format(time.RFC3339)
}

func quantityJSON(patientID uuid.UUID, code string, value float64, unit, at string) string {
	return fmt.Sprintf(`{"patientId":%q,"code":%q,"value":{"value":%v,"unit":%q},"effectiveAt":%q}`, patientID, code, value, unit, at)
}

func panelJSON(patientID uuid.UUID, sys, dia float64, at string) string {
	return fmt.Sprintf(`{"patientId":%q,"code":"85354-9","components":[{"code":"8480-6","value":%v,"unit":"mm[Hg]"},`+
		`{"code":"8462-4","value":%v,"unit":"mmHg"}],"effectiveAt":%q}`, patientID, sys, dia, at)
}

func acvpuJSON(patientID uuid.UUID, answer, at string) string {
	return fmt.Sprintf(`{"patientId":%q,"code":"67775-7","value":{"code":%q},"effectiveAt":%q}`, patientID, answer, at)
}

func batchJSON(items ...string) string { return `{"items":[` + strings.Join(items, ",") + `]}` }

func decodeObservation(t *testing.T, r result) observation.Observation {
	t.Helper()
	var o observation.Observation
	if err := json.Unmarshal([]byte(r.body), &o); err != nil || o.ID == uuid.Nil {
		t.Fatalf("not an observation: %d %s", r.status, r.body)
	}
	return o
}

func decodeBatch(t *testing.T, r result) ObservationBatch {
	t.Helper()
	var b ObservationBatch
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || r.status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	return b
}

func fieldsOf(t *testing.T, r result) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range decodeErr(t, r).Details {
		out[f.Field] = f.Message
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// One observation: a temperature sent in °F is stored in °C and returned as
// sent (or canonical on request), interpreted for the patient, performed by
// the nurse signed in, and audited naming the patient.
func TestObservationRecordOne(t *testing.T) {
	api := newObservationAPI(t)
	p := api.patient(t, "female", "1987-04-12")

	r := call(t, api.srv, "POST", "/v1/observations", nurseToken, quantityJSON(p, "8310-5", 98.6, "[degF]", ago(5)), "X-Request-Id", "obs-one")
	if r.status != http.StatusCreated {
		t.Fatalf("record: %d %s", r.status, r.body)
	}
	o := decodeObservation(t, r)
	q := o.Value.Quantity
	if q.Value != 98.6 || q.Unit != "[degF]" || q.Canonical.Unit != "Cel" || !near(q.Canonical.Value, 37) {
		t.Errorf("quantity %+v, want 98.6 [degF] as sent and 37 Cel canonical", q)
	}
	if o.Interpretation.Flag != observation.FlagNormal || o.Interpretation.Range == nil || o.Interpretation.Range.Source == "" {
		t.Errorf("interpretation %+v, want N with its cited range", o.Interpretation)
	}
	if o.Performer.PractitionerID == nil || *o.Performer.PractitionerID != nurseID || o.Performer.Asserted || o.Status != observation.StatusFinal ||
		o.Category != observation.CategoryVitalSigns || o.Subject.Sex != observation.SexFemale {
		t.Errorf("recorded %+v", o)
	}
	if r.header.Get("Location") != "/v1/observations/"+o.ID.String() || r.header.Get("ETag") != `"1"` {
		t.Errorf("headers %v", r.header)
	}
	recs := recordsFor(t, api.audit, "obs-one")
	if len(recs) != 1 || recs[0].Action != audit.ActionCreate || recs[0].EntityType != "Observation" || recs[0].EntityID != o.ID.String() ||
		recs[0].PatientID == nil || *recs[0].PatientID != p || recs[0].Actor.PractitionerID != nurseID.String() {
		t.Errorf("audit of the record: %+v", recs)
	}

	r = call(t, api.srv, "GET", "/v1/observations/"+o.ID.String()+"?units=canonical", readerToken, "")
	if r.status != http.StatusForbidden {
		t.Errorf("read without the Observation scope: %d", r.status)
	}
	r = call(t, api.srv, "GET", "/v1/observations/"+o.ID.String()+"?units=canonical", adminToken, "", "X-Request-Id", "obs-read")
	if r.status != http.StatusOK || r.header.Get("ETag") != `"1"` {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	got := decodeObservation(t, r)
	if q := got.Value.Quantity; q.Unit != "Cel" || !near(q.Value, 37) {
		t.Errorf("units=canonical: %+v", q)
	}
	if recs := recordsFor(t, api.audit, "obs-read"); len(recs) != 1 || recs[0].PatientID == nil || *recs[0].PatientID != p {
		t.Errorf("audit of the read: %+v", recs)
	}
	if r := call(t, api.srv, "GET", "/v1/observations/"+o.ID.String(), adminToken, "", "If-None-Match", `"1"`); r.status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.status)
	}
	wantCode(t, call(t, api.srv, "GET", "/v1/observations/"+o.ID.String()+"?units=metric", adminToken, ""), http.StatusBadRequest, CodeValidationFailed)

	// Idempotency-Key: the same request again answers the first observation.
	keyed := quantityJSON(p, "8867-4", 72, "/min", ago(3))
	first := decodeObservation(t, call(t, api.srv, "POST", "/v1/observations", nurseToken, keyed, "Idempotency-Key", "obs-key-1"))
	r = call(t, api.srv, "POST", "/v1/observations", nurseToken, keyed, "Idempotency-Key", "obs-key-1")
	if again := decodeObservation(t, r); again.ID != first.ID || r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %s, first %s", r.status, r.body, first.ID)
	}
	wantCode(t, call(t, api.srv, "GET", "/v1/observations/"+uuid.NewString(), adminToken, ""), http.StatusNotFound, CodeNotFound)

	// A value that cannot exist, a unit the engine does not know, a unit of
	// another dimension and an unknown patient are refused, each on its
	// field with the reason; nothing is stored.
	before := api.rows(t)
	for _, c := range []struct {
		body, field, reason string
	}{
		{quantityJSON(p, "8310-5", 60, "Cel", ago(1)), "value.value", "outside what is possible"},
		{quantityJSON(p, "8310-5", 37, "furlongs", ago(1)), "value.unit", "furlongs"},
		{quantityJSON(p, "8310-5", 37, "kg", ago(1)), "value.unit", "temperature"},
		{quantityJSON(p, "8867-4", 72, "/min", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), "effectiveAt", "future"},
		{quantityJSON(p, "1234-5", 1, "/min", ago(1)), "code", "catalogue"},
		{quantityJSON(uuid.New(), "8867-4", 72, "/min", ago(1)), "patientId", "not a registered patient"},
		{panelJSON(p, 80, 120, ago(1)), "components", "below diastolic"},
	} {
		r := call(t, api.srv, "POST", "/v1/observations", nurseToken, c.body)
		wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
		if msg, ok := fieldsOf(t, r)[c.field]; !ok || !strings.Contains(msg, c.reason) {
			t.Errorf("%s: want %s refused with %q, got %s", c.body, c.field, c.reason, r.body)
		}
	}
	if n := api.rows(t); n != before {
		t.Errorf("refusals stored %d rows", n-before)
	}
}

// A batch is stored whole, its observations in the order sent, with one
// audit record naming every patient; a batch with one bad item stores
// nothing and names that item's index and field; Idempotency-Key replays
// the first answer.
func TestObservationBatch(t *testing.T) {
	api := newObservationAPI(t)
	p1, p2 := api.patient(t, "female", "1987-04-12"), api.patient(t, "male", "1950-01-30")
	items := []string{
		quantityJSON(p1, "8867-4", 135, "/min", ago(10)),
		panelJSON(p2, 150, 95, ago(9)),
		quantityJSON(p2, "59408-5", 97, "%", ago(8)),
	}
	r := call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, batchJSON(items...), "X-Request-Id", "obs-batch", "Idempotency-Key", "ward-3-0800")
	b := decodeBatch(t, r)
	if b.Count != 3 || len(b.Data) != 3 || b.Data[0].Code != "8867-4" || b.Data[1].Code != "85354-9" || b.Data[2].Code != "59408-5" {
		t.Fatalf("batch answer: %s", r.body)
	}
	// Interpretation flags: a pulse of 135 is beyond NEWS2's critical 131;
	// 150/95 is high on both components.
	if f := b.Data[0].Interpretation.Flag; f != observation.FlagCriticalHigh {
		t.Errorf("pulse 135 flagged %q, want HH", f)
	}
	if c := b.Data[1].Components; len(c) != 2 || c[0].Interpretation.Flag != observation.FlagHigh || c[1].Interpretation.Flag != observation.FlagHigh ||
		b.Data[1].Interpretation.Flag != observation.FlagHigh {
		t.Errorf("panel 150/95: %+v", b.Data[1])
	}
	if !(bytes.Compare(b.Data[0].ID[:], b.Data[1].ID[:]) < 0 && bytes.Compare(b.Data[1].ID[:], b.Data[2].ID[:]) < 0) {
		t.Errorf("ids are not in the items' order: %s %s %s", b.Data[0].ID, b.Data[1].ID, b.Data[2].ID)
	}
	// Prefer: return=minimal answers each observation as its events carry it.
	r = call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, batchJSON(items[0]), "Prefer", "return=minimal")
	var minimal ObservationBatchMinimal
	if err := json.Unmarshal([]byte(r.body), &minimal); err != nil || r.status != http.StatusCreated || r.header.Get("Preference-Applied") != "return=minimal" ||
		len(minimal.Data) != 1 || minimal.Data[0].Interpretation.Flag != observation.FlagCriticalHigh || minimal.Data[0].Quantity.Value != 135 {
		t.Errorf("return=minimal: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, api.audit, "obs-batch")
	if len(recs) != 1 || recs[0].Action != audit.ActionCreate || !slices.Contains(recs[0].PatientIDs, p1) || !slices.Contains(recs[0].PatientIDs, p2) {
		t.Errorf("audit of the batch: %+v", recs)
	}
	rows := api.rows(t)

	// The same key and body: the first answer, nothing stored again.
	r = call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, batchJSON(items...), "Idempotency-Key", "ward-3-0800")
	replay := decodeBatch(t, r)
	if r.header.Get("Idempotent-Replayed") != "true" || len(replay.Data) != 3 || replay.Data[2].ID != b.Data[2].ID || api.rows(t) != rows {
		t.Errorf("replay: %s %s, rows %d → %d", r.header, r.body, rows, api.rows(t))
	}
	wantCode(t, call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, batchJSON(items[:2]...), "Idempotency-Key", "ward-3-0800"),
		http.StatusUnprocessableEntity, CodeIdempotencyMismatch)

	// One bad unit and an unknown patient: nothing of the batch is stored.
	bad := batchJSON(quantityJSON(p1, "8867-4", 80, "/min", ago(5)), quantityJSON(p1, "8867-4", 80, "mm[Hg]", ago(5)),
		quantityJSON(uuid.New(), "8867-4", 80, "/min", ago(5)), quantityJSON(p2, "8867-4", 80, "/min", ago(5)))
	r = call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, bad)
	wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
	fields := fieldsOf(t, r)
	if _, ok := fields["items[1].value.unit"]; !ok || len(fields) != 2 {
		t.Errorf("refusal names %v, want items[1].value.unit and items[2].patientId", fields)
	}
	if msg := fields["items[2].patientId"]; !strings.Contains(msg, "not a registered patient") {
		t.Errorf("unknown patient: %q", msg)
	}
	if e := decodeErr(t, r); !strings.Contains(e.Message, "2 of the 4 items") {
		t.Errorf("message %q", e.Message)
	}
	if api.rows(t) != rows {
		t.Errorf("a refused batch stored %d rows", api.rows(t)-rows)
	}
	wantCode(t, call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, `{"items":[]}`), http.StatusBadRequest, CodeValidationFailed)
	// The batch route takes up to 16 MiB; every other route 1 MiB.
	padded := `{"patientId":"` + p1.String() + `","code":"8867-4","value":{"value":80,"unit":"/min"},"effectiveAt":"` + ago(1) + `"` +
		strings.Repeat(" ", 1<<20) + `}`
	wantCode(t, call(t, api.srv, "POST", "/v1/observations", nurseToken, padded), http.StatusRequestEntityTooLarge, CodePayloadTooLarge)
	big := make([]string, 8000)
	for i := range big {
		big[i] = quantityJSON(p1, "8867-4", float64(60+i%40), "/min", ago(60+i%600))
	}
	body := batchJSON(big...)
	if len(body) < 1<<20 {
		t.Fatalf("the big batch is only %d bytes", len(body))
	}
	if b := decodeBatch(t, call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, body)); b.Count != len(big) {
		t.Errorf("big batch stored %d", b.Count)
	}
	r = call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, `{"items":[`+strings.Repeat(" ", 16<<20)+`]}`)
	wantCode(t, r, http.StatusRequestEntityTooLarge, CodePayloadTooLarge)
	if !strings.Contains(r.body, "16777216") {
		t.Errorf("413 does not name the cap: %s", r.body)
	}
}

// The performer is the person acting: a machine client acting as itself
// records nothing, one acting for the nurse records her as the performer
// (asserted), and a body naming someone else is refused.
func TestObservationPerformerIsThePersonActing(t *testing.T) {
	api := newObservationAPI(t)
	p := api.patient(t, "female", "1987-04-12")
	one := quantityJSON(p, "8867-4", 72, "/min", ago(2))
	wantCode(t, call(t, api.srv, "POST", "/v1/observations", adminToken, one), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, api.srv, "POST", "/v1/observations/batch", gatewayToken, batchJSON(one)), http.StatusForbidden, CodePersonRequired)
	r := call(t, api.srv, "POST", "/v1/observations/batch", gatewayToken, batchJSON(one), headerOnBehalfOf, "Practitioner/"+nurseID.String())
	o := decodeBatch(t, r).Data[0]
	if o.Performer.PractitionerID == nil || *o.Performer.PractitionerID != nurseID || !o.Performer.Asserted || o.Performer.ClientID != gatewayClient {
		t.Errorf("performer %+v", o.Performer)
	}
	named := strings.Replace(one, `"code"`, `"performer":"`+physicianID.String()+`","code"`, 1)
	wantCode(t, call(t, api.srv, "POST", "/v1/observations", nurseToken, named), http.StatusForbidden, CodeActorMismatch)
	r = call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, batchJSON(one, named))
	wantCode(t, r, http.StatusForbidden, CodeActorMismatch)
	if _, ok := fieldsOf(t, r)["items[1].performer"]; !ok {
		t.Errorf("mismatch not named on its item: %s", r.body)
	}
	if api.rows(t) != 1 {
		t.Errorf("%d rows, want the one the gateway recorded", api.rows(t))
	}
}

// Amending keeps the previous version and needs If-Match and a reason;
// voiding withdraws the observation, which then counts no more.
func TestObservationAmendAndVoid(t *testing.T) {
	api := newObservationAPI(t)
	p := api.patient(t, "male", "1950-01-30")
	o := decodeObservation(t, call(t, api.srv, "POST", "/v1/observations", physicianToken, quantityJSON(p, "2823-3", 4.0, "mmol/L", ago(30))))
	path := "/v1/observations/" + o.ID.String()
	amend := `{"value":{"value":4.4,"unit":"mmol/L"},"reason":"transcription error: 4.4 on the analyser print-out"}`

	wantCode(t, call(t, api.srv, "POST", path+"/amend", physicianToken, amend), http.StatusPreconditionRequired, CodePreconditionRequired)
	wantCode(t, call(t, api.srv, "POST", path+"/amend", physicianToken, `{"value":{"value":4.4,"unit":"mmol/L"}}`, "If-Match", `"1"`),
		http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, api.srv, "POST", path+"/amend", adminToken, amend, "If-Match", `"1"`), http.StatusForbidden, CodePersonRequired)
	r := call(t, api.srv, "POST", path+"/amend", physicianToken, amend, "If-Match", `"1"`, "X-Request-Id", "obs-amend")
	if r.status != http.StatusOK || r.header.Get("ETag") != `"2"` {
		t.Fatalf("amend: %d %s", r.status, r.body)
	}
	v2 := decodeObservation(t, r)
	if v2.ID != o.ID || v2.Version != 2 || v2.Status != observation.StatusAmended || v2.Value.Quantity.Value != 4.4 ||
		!v2.EffectiveAt.Equal(o.EffectiveAt) || v2.Reason == "" {
		t.Errorf("amended %+v", v2)
	}
	if recs := recordsFor(t, api.audit, "obs-amend"); len(recs) != 1 || recs[0].Action != audit.ActionUpdate || recs[0].PatientID == nil || *recs[0].PatientID != p {
		t.Errorf("audit of the amendment: %+v", recs)
	}
	wantCode(t, call(t, api.srv, "POST", path+"/amend", physicianToken, amend, "If-Match", `"1"`), http.StatusPreconditionFailed, CodePreconditionFailed)
	wantCode(t, call(t, api.srv, "POST", path+"/amend", physicianToken, strings.Replace(amend, `{`, `{"code":"2951-2",`, 1), "If-Match", `"2"`),
		http.StatusBadRequest, CodeValidationFailed)

	var rec ObservationRecord
	r = call(t, api.srv, "GET", path, adminToken, "")
	if err := json.Unmarshal([]byte(r.body), &rec); err != nil || rec.Version != 2 || len(rec.Versions) != 2 ||
		rec.Versions[0].Value.Quantity.Value != 4.0 || rec.Versions[0].Status != observation.StatusFinal || rec.Versions[1].Version != 2 {
		t.Fatalf("versions: %d %s", r.status, r.body)
	}

	r = call(t, api.srv, "POST", path+"/void", physicianToken, `{"reason":"wrong patient"}`, "If-Match", `"2"`)
	if r.status != http.StatusOK || decodeObservation(t, r).Status != observation.StatusEnteredInError || r.header.Get("ETag") != `"3"` {
		t.Fatalf("void: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, api.srv, "POST", path+"/void", physicianToken, `{"reason":"again"}`, "If-Match", `"3"`), http.StatusConflict, CodeConflict)
	wantCode(t, call(t, api.srv, "POST", path+"/amend", physicianToken, amend, "If-Match", `"3"`), http.StatusConflict, CodeConflict)
	wantCode(t, call(t, api.srv, "POST", "/v1/observations/"+uuid.NewString()+"/void", physicianToken, `{"reason":"x"}`, "If-Match", `"1"`),
		http.StatusNotFound, CodeNotFound)

	list := func(query string) int {
		t.Helper()
		var page struct {
			Data []observation.Observation `json:"data"`
		}
		r := call(t, api.srv, "GET", "/v1/observations?patientId="+p.String()+query, adminToken, "")
		if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK {
			t.Fatalf("list%s: %d %s", query, r.status, r.body)
		}
		return len(page.Data)
	}
	if n := list(""); n != 0 {
		t.Errorf("a withdrawn observation is listed: %d", n)
	}
	if n := list("&status=entered-in-error"); n != 1 {
		t.Errorf("entered-in-error listed %d", n)
	}
	if r := call(t, api.srv, "GET", "/v1/observations/latest?patientId="+p.String()+"&codes=2823-3", adminToken, ""); !strings.Contains(r.body, `"data":[]`) {
		t.Errorf("latest after void: %s", r.body)
	}
}

// The delta checks compare each result with the patient's stored results
// and with the earlier items of the same batch.
func TestObservationDeltaChecks(t *testing.T) {
	api := newObservationAPI(t)
	p := api.patient(t, "male", "1950-01-30")
	decodeObservation(t, call(t, api.srv, "POST", "/v1/observations", physicianToken, quantityJSON(p, "2823-3", 4.0, "mmol/L", ago(120))))
	r := call(t, api.srv, "POST", "/v1/observations/batch", physicianToken, batchJSON(
		quantityJSON(p, "2823-3", 6.8, "mmol/L", ago(10)),
		quantityJSON(p, "2160-0", 88, "umol/L", ago(26*60)),
		quantityJSON(p, "2160-0", 1.6, "mg/dL", ago(5)),
	))
	b := decodeBatch(t, r)
	k := b.Data[0]
	if k.Interpretation.Flag != observation.FlagCriticalHigh || len(k.DeltaFlags) != 1 || k.DeltaFlags[0].Code != observation.DeltaImplausible ||
		!near(k.DeltaFlags[0].Previous.Value, 4.0) {
		t.Errorf("potassium 4.0 → 6.8: flag %s, delta %+v", k.Interpretation.Flag, k.DeltaFlags)
	}
	var codes []observation.DeltaCode
	for _, f := range b.Data[2].DeltaFlags {
		codes = append(codes, f.Code)
	}
	if !slices.Contains(codes, observation.DeltaAKIAbsolute) || !slices.Contains(codes, observation.DeltaAKIRelative) || len(b.Data[1].DeltaFlags) != 0 {
		t.Errorf("creatinine 88 µmol/L then 1.6 mg/dL a day later: %v (first: %v)", codes, b.Data[1].DeltaFlags)
	}
	// The trend of potassium names the flagged result.
	var trend TrendView
	r = call(t, api.srv, "GET", "/v1/observations/trends?patientId="+p.String()+"&code=2823-3", adminToken, "")
	if err := json.Unmarshal([]byte(r.body), &trend); err != nil || trend.Count != 2 || len(trend.DeltaFlags) != 1 || trend.DeltaFlags[0].ObservationID != k.ID {
		t.Errorf("trend: %d %s", r.status, r.body)
	}
}

// Lists, latest values, trends and the catalogue.
func TestObservationQueries(t *testing.T) {
	api := newObservationAPI(t)
	p, other := api.patient(t, "female", "1987-04-12"), api.patient(t, "female", "1990-01-01")
	var items []string
	for i := range 6 { // heart rate every 20 minutes, rising by 2
		items = append(items, quantityJSON(p, "8867-4", float64(70+2*i), "/min", ago(120-20*i)))
	}
	items = append(items, panelJSON(p, 130, 80, ago(15)), quantityJSON(p, "8310-5", 37.2, "Cel", ago(14)),
		quantityJSON(p, "2823-3", 4.1, "mmol/L", ago(13)), quantityJSON(other, "8867-4", 99, "/min", ago(1)))
	decodeBatch(t, call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, batchJSON(items...)))

	type page struct {
		Data []observation.Observation `json:"data"`
		Next *string                   `json:"next"`
	}
	get := func(path string, v any, requestID string) result {
		t.Helper()
		r := call(t, api.srv, "GET", path, adminToken, "", "X-Request-Id", requestID)
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), v) != nil {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		return r
	}
	var all page
	get("/v1/observations?patientId="+p.String(), &all, "obs-list")
	if len(all.Data) != 9 || all.Data[0].Code != "2823-3" || all.Next != nil {
		t.Fatalf("list: %d, first %s", len(all.Data), all.Data[0].Code)
	}
	if recs := recordsFor(t, api.audit, "obs-list"); len(recs) != 1 || recs[0].Action != audit.ActionSearch || recs[0].PatientID == nil || *recs[0].PatientID != p {
		t.Errorf("audit of the list: %+v", recs)
	}
	var vitals page
	get("/v1/observations?patientId="+p.String()+"&category=vital-signs&limit=5", &vitals, "")
	var rest page
	get("/v1/observations?patientId="+p.String()+"&category=vital-signs&limit=5&cursor="+*vitals.Next, &rest, "")
	if len(vitals.Data) != 5 || len(rest.Data) != 3 || rest.Next != nil {
		t.Errorf("vital signs by pages of 5: %d then %d", len(vitals.Data), len(rest.Data))
	}
	var systolic page
	get("/v1/observations?patientId="+p.String()+"&code=8480-6", &systolic, "")
	if len(systolic.Data) != 1 || systolic.Data[0].Code != "85354-9" {
		t.Errorf("systolic finds the panel: %+v", systolic.Data)
	}
	for _, q := range []string{"", "?patientId=nope", "?patientId=" + p.String() + "&code=99-9", "?patientId=" + p.String() + "&from=yesterday",
		"?patientId=" + p.String() + "&status=gone", "?patientId=" + p.String() + "&limit=500", "?patientId=" + p.String() + "&sort=asc"} {
		wantCode(t, call(t, api.srv, "GET", "/v1/observations"+q, adminToken, ""), http.StatusBadRequest, CodeValidationFailed)
	}

	var latest struct {
		Data []observation.Observation `json:"data"`
	}
	get("/v1/observations/latest?patientId="+p.String()+"&codes=8867-4,8480-6,2345-7,8310-5&units=canonical", &latest, "")
	if len(latest.Data) != 3 || latest.Data[0].Value.Quantity.Value != 80 || latest.Data[1].Code != "85354-9" || latest.Data[2].Code != "8310-5" {
		t.Errorf("latest: %+v", latest.Data)
	}
	wantCode(t, call(t, api.srv, "GET", "/v1/observations/latest?patientId="+p.String(), adminToken, ""), http.StatusBadRequest, CodeValidationFailed)

	var points, hourly TrendView
	get("/v1/observations/trends?patientId="+p.String()+"&code=8867-4&from="+ago(180)+"&to="+ago(0), &points, "")
	if points.Count != 6 || len(points.Points) != 6 || points.SlopePerHour == nil || math.Abs(*points.SlopePerHour-6) > 1e-6 ||
		*points.Min != 70 || *points.Max != 80 || points.Unit != "/min" {
		t.Errorf("points: %+v", points)
	}
	get("/v1/observations/trends?patientId="+p.String()+"&code=8867-4&bucket=PT1H&from="+ago(180)+"&to="+ago(0), &hourly, "")
	if hourly.Bucket != "PT1H" || len(hourly.Points) != 0 || len(hourly.Buckets) < 2 || hourly.Count != 6 {
		t.Errorf("hourly: %+v", hourly)
	}
	total := 0
	for _, b := range hourly.Buckets {
		total += b.Count
		if b.Min > b.Mean || b.Mean > b.Max {
			t.Errorf("bucket %+v", b)
		}
	}
	if total != 6 {
		t.Errorf("buckets hold %d results", total)
	}
	var systolicTrend TrendView
	get("/v1/observations/trends?patientId="+p.String()+"&code=8480-6", &systolicTrend, "")
	if systolicTrend.Count != 1 || systolicTrend.Points[0].Value != 130 {
		t.Errorf("systolic trend from the panel: %+v", systolicTrend)
	}
	for _, q := range []string{"&code=8867-4&bucket=P1M", "&code=8867-4&bucket=soon", "&code=85354-9", "&code=67775-7", "&code=8867-4&bucket=PT1S",
		"&code=8867-4&from=" + ago(0) + "&to=" + ago(60)} {
		wantCode(t, call(t, api.srv, "GET", "/v1/observations/trends?patientId="+p.String()+q, adminToken, ""), http.StatusBadRequest, CodeValidationFailed)
	}

	var cat struct {
		Data   []CatalogueEntry `json:"data"`
		Notice string           `json:"notice"`
	}
	get("/v1/observations/codes", &cat, "")
	if !strings.Contains(cat.Notice, "LOINC") || len(cat.Data) != len(observation.Catalogue()) {
		t.Fatalf("catalogue: %d codes, notice %q", len(cat.Data), cat.Notice)
	}
	for _, d := range cat.Data {
		if d.Code == "8310-5" && (d.Unit != "Cel" || len(d.Units) != 2 || d.Units[1].Code != "[degF]" || len(d.Ranges) == 0 || d.Ranges[0].Source == "") {
			t.Errorf("temperature: %+v", d.Definition)
		}
		if d.Code == "29463-7" && (d.Delta == nil || d.Delta.Window != "P7D") {
			t.Errorf("weight delta: %+v", d.Delta)
		}
	}
	var labs struct {
		Data []CatalogueEntry `json:"data"`
	}
	get("/v1/observations/codes?category=laboratory", &labs, "")
	if len(labs.Data) == 0 || slices.ContainsFunc(labs.Data, func(e CatalogueEntry) bool { return e.Category != observation.CategoryLaboratory }) {
		t.Errorf("laboratory codes: %d", len(labs.Data))
	}
}

// news2Calc posts a set to the calculator.
func news2Calc(t *testing.T, api *observationAPI, body string) (NEWS2Answer, result) {
	t.Helper()
	r := call(t, api.srv, "POST", "/v1/observations/news2/calculate", readerObsToken, body)
	var a NEWS2Answer
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &a); err != nil {
			t.Fatal(err)
		}
	}
	return a, r
}

// readerObsToken reads observations only (the calculator needs no more).
const readerObsToken = "obs-reader"

// NEWS2 by the published bands (RCP 2017, Charts 1 and 2), without storing anything.
func TestNEWS2Calculate(t *testing.T) {
	api := newObservationAPI(t)
	set := func(rr, spo2 float64, scale int, oxygen bool, sbp, pulse float64, acvpu string, temp float64) string {
		return fmt.Sprintf(`{"respirationRate":%v,"spo2":%v,"spo2Scale":%d,"supplementalOxygen":%v,"systolicBP":%v,"pulse":%v,"consciousness":%q,"temperature":%v}`,
			rr, spo2, scale, oxygen, sbp, pulse, acvpu, temp)
	}
	for _, c := range []struct {
		name, body string
		total      int
		risk       observation.NEWS2Risk
		threshold  string
	}{
		{"all normal", set(16, 97, 1, false, 120, 70, "A", 37.0), 0, observation.RiskLow, "Ward-based response"},
		{"a red score alone", set(25, 97, 1, false, 120, 70, "A", 37.0), 3, observation.RiskLowMedium, "Urgent ward-based response"},
		{"medium", set(21, 95, 1, false, 105, 95, "A", 38.5), 6, observation.RiskMedium, "Key threshold for urgent response"},
		{"new confusion on oxygen", set(22, 93, 1, true, 100, 112, "C", 39.2), 2 + 2 + 2 + 2 + 2 + 3 + 2, observation.RiskHigh, "Urgent or emergency response"},
		{"scale 2, 97% on oxygen", set(16, 97, 2, true, 120, 70, "A", 37.0), 3 + 2, observation.RiskMedium, "Key threshold for urgent response"},
		{"scale 2, 90% on air", set(16, 90, 2, false, 120, 70, "A", 37.0), 0, observation.RiskLow, "Ward-based response"},
	} {
		a, r := news2Calc(t, api, c.body)
		if r.status != http.StatusOK || a.Status != observation.CombinedComplete || a.Total == nil || *a.Total != c.total || a.Risk != c.risk ||
			a.Response == nil || a.Response.Threshold != c.threshold || len(a.Parameters) != 7 {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
			continue
		}
		sum := 0
		for _, p := range a.Parameters {
			sum += *p.Score
		}
		if sum != c.total {
			t.Errorf("%s: sub-scores add up to %d, total %d", c.name, sum, c.total)
		}
	}
	if a, _ := news2Calc(t, api, set(16, 97, 1, false, 120, 70, "A", 37.0)); a.Response.Every != "PT12H" {
		t.Errorf("score 0 monitoring every %q, want PT12H", a.Response.Every)
	}
	_, r := news2Calc(t, api, `{"respirationRate":200,"spo2":97,"spo2Scale":3,"supplementalOxygen":false,"systolicBP":120,"consciousness":"X","temperature":37}`)
	wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
	fields := fieldsOf(t, r)
	if _, ok := fields["pulse"]; !ok {
		t.Errorf("missing pulse not named: %v", fields)
	}
	_, r = news2Calc(t, api, set(200, 97, 3, false, 120, 70, "X", 37))
	fields = fieldsOf(t, r)
	for _, f := range []string{"respirationRate", "spo2Scale", "consciousness"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("%s not named: %v", f, fields)
		}
	}
	if api.rows(t) != 0 {
		t.Error("the calculator stored observations")
	}
}

// A patient's NEWS2 combines the newest reading of each parameter, recorded
// minutes apart; a stale parameter makes it incomplete, a missing one too;
// the SpO2 scale is the one a clinician decided for the patient.
func TestNEWS2OfAPatient(t *testing.T) {
	api := newObservationAPI(t)
	set := func(p uuid.UUID, tempAgo int, spo2 float64) []string {
		return []string{
			quantityJSON(p, "9279-1", 21, "/min", ago(12)),           // 2
			quantityJSON(p, "59408-5", spo2, "%", ago(11)),           // 95: 1 on Scale 1, 0 on Scale 2 (on air)
			quantityJSON(p, "3150-0", 21, "%", ago(10)),              // air: 0
			panelJSON(p, 105, 70, ago(9)),                            // 1
			quantityJSON(p, "8867-4", 95, "/min", ago(8)),            // 1
			acvpuJSON(p, "A", ago(7)),                                // 0
			quantityJSON(p, "8310-5", 101.3, "[degF]", ago(tempAgo)), // 38.5 °C: 1
		}
	}
	complete, stale, missing := api.patient(t, "female", "1950-01-30"), api.patient(t, "male", "1948-06-01"), api.patient(t, "male", "1960-02-02")
	items := append(set(complete, 6, 95), set(stale, 180, 95)...)
	items = append(items, set(missing, 6, 95)[:6]...)
	b := decodeBatch(t, call(t, api.srv, "POST", "/v1/observations/batch", nurseToken, batchJSON(items...)))

	news2 := func(p uuid.UUID, requestID string) NEWS2Answer {
		t.Helper()
		r := call(t, api.srv, "GET", "/v1/observations/news2?patientId="+p.String(), adminToken, "", "X-Request-Id", requestID)
		var a NEWS2Answer
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &a) != nil {
			t.Fatalf("news2: %d %s", r.status, r.body)
		}
		return a
	}
	a := news2(complete, "news2-read")
	if a.Status != observation.CombinedComplete || a.Total == nil || *a.Total != 6 || a.Risk != observation.RiskMedium || a.Scale != 1 ||
		len(a.Parameters) != 7 || a.NextDueAt == nil || a.Overdue == nil || *a.Overdue {
		t.Fatalf("complete set: %+v", a)
	}
	for _, p := range a.Parameters {
		if p.Score == nil || p.Time == nil || p.SourceID == nil || (p.Value == nil && p.Answer == "") {
			t.Errorf("parameter %+v lacks its score, time, value or source", p)
		}
		if p.Parameter == observation.ParamSystolicBP && (*p.SourceID != b.Data[3].ID || *p.Value != 105 || *p.Score != 1) {
			t.Errorf("systolic from the panel: %+v", p)
		}
		if p.Parameter == observation.ParamTemperature && (*p.Score != 1 || math.Abs(*p.Value-38.5) > 1e-9) {
			t.Errorf("temperature: %+v", p)
		}
	}
	if recs := recordsFor(t, api.audit, "news2-read"); len(recs) != 1 || recs[0].EntityType != entityNEWS2 || recs[0].PatientID == nil || *recs[0].PatientID != complete {
		t.Errorf("audit of the NEWS2 read: %+v", recs)
	}

	if a := news2(stale, ""); a.Status != observation.CombinedIncomplete || a.Total != nil || a.Response != nil ||
		!slices.Equal(a.Stale, []observation.NEWS2Parameter{observation.ParamTemperature}) || len(a.Missing) != 0 {
		t.Errorf("a stale temperature: %+v", a)
	}
	if a := news2(missing, ""); a.Status != observation.CombinedIncomplete || a.Total != nil ||
		!slices.Equal(a.Missing, []observation.NEWS2Parameter{observation.ParamTemperature}) {
		t.Errorf("a missing temperature: %+v", a)
	}
	wantCode(t, call(t, api.srv, "GET", "/v1/observations/news2?patientId="+uuid.NewString(), adminToken, ""), http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, api.srv, "GET", "/v1/observations/news2", adminToken, ""), http.StatusBadRequest, CodeValidationFailed)

	// The history is the sets scored as they were completed: save the
	// complete one as the observation service's consumer does.
	store := postgres.NewObservationStore(api.pool)
	readings, err := store.NEWS2Readings(context.Background(), complete, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	combined, err := observation.CombineNEWS2(readings, observation.SpO2Scale1, 0)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := store.SaveNEWS2(context.Background(), nil, complete, combined)
	if err != nil {
		t.Fatal(err)
	}
	var history struct {
		Data []NEWS2Point `json:"data"`
	}
	r := call(t, api.srv, "GET", "/v1/observations/news2/history?patientId="+complete.String(), readerObsToken, "", "X-Request-Id", "news2-history")
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &history) != nil || len(history.Data) != 1 ||
		history.Data[0].ID != saved.ID || history.Data[0].Total != 6 || history.Data[0].Risk != observation.RiskMedium || !history.Data[0].WindowEnd.Equal(saved.WindowEnd) {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	if recs := recordsFor(t, api.audit, "news2-history"); len(recs) != 1 || recs[0].PatientID == nil || *recs[0].PatientID != complete {
		t.Errorf("audit of the history read: %+v", recs)
	}
	old := time.Now().Add(-72 * time.Hour).UTC().Format(time.RFC3339)
	if r := call(t, api.srv, "GET", "/v1/observations/news2/history?patientId="+complete.String()+"&to="+old, adminToken, ""); r.status != http.StatusOK ||
		json.Unmarshal([]byte(r.body), &history) != nil || len(history.Data) != 0 {
		t.Errorf("history of three days ago: %d %s", r.status, r.body)
	}
	if fields := fieldsOf(t, call(t, api.srv, "GET", "/v1/observations/news2/history?patientId="+complete.String()+"&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", adminToken, "")); fields["from"] == "" {
		t.Errorf("a range of two months is not refused on from: %v", fields)
	}
	wantCode(t, call(t, api.srv, "GET", "/v1/observations/news2/history?patientId="+uuid.NewString(), adminToken, ""), http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, api.srv, "GET", "/v1/observations/news2/history", adminToken, ""), http.StatusBadRequest, CodeValidationFailed)

	// Scale 2 only once a clinician has decided it; who and when are kept.
	scalePath := "/v1/patients/" + complete.String() + "/spo2-scale"
	var scale SpO2ScaleView
	if r := call(t, api.srv, "GET", scalePath, adminToken, ""); json.Unmarshal([]byte(r.body), &scale) != nil || scale.Scale != 1 || scale.ID != nil {
		t.Errorf("no decision: %s", r.body)
	}
	decision := `{"scale":2,"reason":"type 2 respiratory failure (COPD); target 88-92%"}`
	wantCode(t, call(t, api.srv, "POST", scalePath, adminToken, decision), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, api.srv, "POST", scalePath, physicianToken, `{"scale":3,"reason":"x"}`), http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, api.srv, "POST", scalePath, physicianToken, `{"scale":2}`), http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, api.srv, "POST", "/v1/patients/"+uuid.NewString()+"/spo2-scale", physicianToken, decision), http.StatusNotFound, CodeNotFound)
	r = call(t, api.srv, "POST", scalePath, physicianToken, decision, "X-Request-Id", "spo2-decide")
	if r.status != http.StatusCreated || json.Unmarshal([]byte(r.body), &scale) != nil || scale.Scale != 2 || scale.DecidedBy == nil ||
		*scale.DecidedBy != physicianID || scale.DecidedAt == nil || scale.Reason == "" {
		t.Fatalf("decide: %d %s", r.status, r.body)
	}
	if recs := recordsFor(t, api.audit, "spo2-decide"); len(recs) != 1 || recs[0].EntityType != entitySpO2Scale || recs[0].PatientID == nil ||
		*recs[0].PatientID != complete || recs[0].Actor.PractitionerID != physicianID.String() {
		t.Errorf("audit of the decision: %+v", recs)
	}
	if r := call(t, api.srv, "GET", scalePath, adminToken, ""); json.Unmarshal([]byte(r.body), &scale) != nil || scale.Scale != 2 || *scale.DecidedBy != physicianID {
		t.Errorf("decision in force: %s", r.body)
	}
	if a := news2(complete, ""); a.Scale != 2 || a.Total == nil || *a.Total != 5 || a.ScaleDecision == nil || a.ScaleDecision.ID == nil {
		t.Errorf("on Scale 2, SpO2 95%% on air scores 0: %+v", a)
	}
}

// The documented limits of the observation bodies are the domain's.
func TestObservationLimitsAreTheDomains(t *testing.T) {
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	body := func(method, path string) *openapi3.Schema {
		return doc.Paths.Find(path).GetOperation(method).RequestBody.Value.Content.Get("application/json").Schema.Value
	}
	batch := body("POST", "/v1/observations/batch")
	item := items(property(batch, "items"))
	one := body("POST", "/v1/observations")
	for _, c := range []struct {
		name string
		s    *openapi3.Schema
		max  int
	}{
		{"items", property(batch, "items"), observation.MaxBatch},
		{"items[].method", property(item, "method"), observation.MaxTextLen},
		{"method", property(one, "method"), observation.MaxTextLen},
		{"device", property(one, "device"), observation.MaxTextLen},
		{"value.text", property(property(one, "value"), "text"), observation.MaxValueTextLen},
		{"amend reason", property(body("POST", "/v1/observations/{id}/amend"), "reason"), observation.MaxReasonLen},
		{"void reason", property(body("POST", "/v1/observations/{id}/void"), "reason"), observation.MaxReasonLen},
		{"spo2-scale reason", property(body("POST", "/v1/patients/{id}/spo2-scale"), "reason"), observation.MaxScaleReasonLen},
	} {
		l := limitsOf(c.s)
		got := l.maxLength
		if c.s != nil && c.s.Type.Is("array") {
			got = l.maxItems
		}
		if got == nil || *got != uint64(c.max) {
			t.Errorf("%s: documented %v, the domain says %d", c.name, got, c.max)
		}
	}
	specs, err := inputSpecs(Routes())
	if err != nil {
		t.Fatal(err)
	}
	if got := specs["POST /v1/observations/batch"].maxBody; got != 16<<20 {
		t.Errorf("batch body cap %d, want 16 MiB", got)
	}
	if got := specs["POST /v1/observations"].maxBody; got != 0 {
		t.Errorf("single observation body cap %d, want the default", got)
	}
}

// consecutiveIDs count up from the first, whatever its low bytes hold.
func TestConsecutiveIDs(t *testing.T) {
	first := uuid.MustParse("0193c0de-0000-7000-9fff-ffffffffff00")
	ids := consecutiveIDs(first, 600)
	for i := 1; i < len(ids); i++ {
		if bytes.Compare(ids[i-1][:], ids[i][:]) >= 0 || ids[i].Version() != 7 || ids[i].Variant() != uuid.RFC4122 {
			t.Fatalf("id %d %s after %s", i, ids[i], ids[i-1])
		}
	}
	if ids[0].String()[:18] != first.String()[:18] || ids[599].String()[:14] != first.String()[:14] {
		t.Errorf("first %s, last %s", ids[0], ids[599])
	}
}
