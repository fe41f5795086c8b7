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
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// report reads a report's view from an answer.
func reportOf(t *testing.T, what string, r result) DiagnosticReportView {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	var v DiagnosticReportView
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("%s answered %s", what, r.body)
	}
	return v
}

// received orders potassium alone and has its tube collected by the nurse
// and received by the laboratory.
func (d *diagnosticsAPI) received(t *testing.T) uuid.UUID {
	t.Helper()
	id := d.order(t, "stat", "2823-3").Order.ID
	path := ordersPath + "/" + id.String() + "/specimens"
	if r := d.do(t, http.MethodPost, nurseToken, path, `{"container":"sst-gold","accessionId":"A26-0001"}`); r.status != http.StatusOK {
		t.Fatalf("collect: %d %s", r.status, r.body)
	}
	if r := d.do(t, http.MethodPost, labToken, path+"/A26-0001/receive", `{}`); r.status != http.StatusOK {
		t.Fatalf("receive: %d %s", r.status, r.body)
	}
	return id
}

// potassium is a results body of one potassium value.
func potassium(value string) string {
	return `{"observations":[{"code":"2823-3","value":{"value":` + value + `,"unit":"mmol/L"}}]}`
}

// A report goes from its order to its release: the nurse collects, the
// laboratory receives and results (stored first as the patient's
// observation, the request audited once), verifies as a laboratory
// scientist, telephones the critical value — a read-back that does not
// match is 422 naming both values — and a physician releases and opens it.
// The order's view never holds a result.
func TestDiagnosticReportFromOrderToRelease(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	order, report := ordersPath+"/"+id.String(), reportsPath+"/"+id.String()

	r := d.do(t, http.MethodPost, labToken, order+"/results", potassium("6.8"), "X-Request-Id", "dx-results-1")
	v := reportOf(t, "results", r)
	if v.Status != diagnostic.StatusPreliminary || len(v.Results) != 1 || len(v.Callbacks) != 1 || !v.Callbacks[0].Open() ||
		len(v.Missing) != 0 || v.Callbacks[0].Value != "6.8 mmol/L" {
		t.Fatalf("after the results: %s", r.body)
	}
	obs := v.Results[0].ObservationID
	stored, _, err := d.observations.Get(context.Background(), obs)
	if err != nil || stored.PatientID != d.patient || stored.EncounterID == nil || *stored.EncounterID != d.encounter.ID ||
		stored.BasedOn == nil || *stored.BasedOn != id ||
		!stored.Interpretation.Flag.Critical() || stored.Performer.PractitionerID == nil || *stored.Performer.PractitionerID != labID {
		t.Fatalf("stored observation: %+v, %v", stored, err)
	}
	if !stored.EffectiveAt.Equal(v.Specimens[0].CollectedAt.Truncate(time.Microsecond)) {
		t.Errorf("effectiveAt %s, the tube was collected %s", stored.EffectiveAt, v.Specimens[0].CollectedAt)
	}
	sent := d.temporal.sent[len(d.temporal.sent)-1].(*diagnosticflow.RecordResultsRequest)
	if len(sent.Observations) != 1 || sent.Observations[0].ID != obs || sent.By != labID || sent.Audit != nil {
		t.Fatalf("record-results sent %+v", sent)
	}
	if records := recordsFor(t, d.audit, "dx-results-1"); len(records) != 1 || records[0].EntityType != entityObservation ||
		records[0].PatientID == nil || *records[0].PatientID != d.patient || !strings.Contains(records[0].Description, id.String()) {
		t.Fatalf("audit records of the results: %+v", records)
	}

	// Only a laboratory scientist verifies a laboratory report.
	wantCode(t, d.do(t, http.MethodPost, nurseToken, report+"/verify", `{}`), http.StatusForbidden, CodeVerifierRequired)
	wantCode(t, d.do(t, http.MethodPost, physicianToken, report+"/verify", `{}`), http.StatusForbidden, CodeVerifierRequired)
	v = reportOf(t, "verify", d.do(t, http.MethodPost, labToken, report+"/verify", `{"conclusion":"Hyperkalaemia."}`,
		"X-Request-Id", "dx-verify-1"))
	if v.Status != diagnostic.StatusFinal || v.Verification == nil || v.Verification.By != labID ||
		v.Verification.Role != diagnostic.RoleLaboratoryScientist || len(v.Versions) != 1 {
		t.Fatalf("verified: %+v", v.Report)
	}
	if records := recordsFor(t, d.audit, "dx-verify-1"); len(records) != 1 || records[0].Action != audit.ActionUpdate ||
		records[0].EntityType != entityDiagnosticReport || records[0].Actor.PractitionerID != labID.String() {
		t.Fatalf("audit records of the verification: %+v", records)
	}

	// The critical value is telephoned to the physician.
	callback := report + "/callbacks/" + obs.String()
	reportOf(t, "attempt", d.do(t, http.MethodPost, labToken, callback+"/attempt", `{"to":"`+physicianID.String()+`","reached":true}`))
	r = d.do(t, http.MethodPost, labToken, callback+"/confirm", `{"value":"6.9"}`)
	wantCode(t, r, http.StatusUnprocessableEntity, CodeReadBackMismatch)
	if e := decodeErr(t, r); !strings.Contains(e.Message, "6.9") || !strings.Contains(e.Message, "6.8 mmol/L") || len(e.Details) != 2 ||
		e.Details[0].Field != "value" || e.Details[1].Field != "result" || !strings.Contains(e.Details[1].Message, "6.8 mmol/L") {
		t.Fatalf("mismatch: %s", r.body)
	}
	v = reportOf(t, "confirm", d.do(t, http.MethodPost, labToken, callback+"/confirm", `{"value":"6.8 mmol/L"}`))
	if cb := v.Callbacks[0]; cb.Outcome != diagnostic.OutcomeConfirmed || cb.ReadBack == nil || cb.ReadBack.Receiver != physicianID {
		t.Fatalf("confirmed: %+v", cb)
	}

	// A physician releases it to the patient, and opens it.
	wantCode(t, d.do(t, http.MethodPost, labToken, report+"/release", `{}`), http.StatusForbidden, CodeClinicianRequired)
	r = d.do(t, http.MethodPost, physicianToken, report+"/release", `{}`)
	var released DiagnosticOrderView
	if err := json.Unmarshal([]byte(r.body), &released); r.status != http.StatusOK || err != nil || released.Release.At == nil ||
		released.Release.By != physicianID {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	v = reportOf(t, "open", d.do(t, http.MethodPost, physicianToken, report+"/open", `{}`))
	if len(v.Openings) != 1 || v.Openings[0].Who != physicianID || v.Openings[0].Version != 1 {
		t.Fatalf("opened: %+v", v.Openings)
	}
	if i := slices.IndexFunc(v.Stages, func(s StageTime) bool { return s.Stage == diagnostic.StageRead }); i < 0 || v.Stages[i].At == nil {
		t.Fatalf("the read stage: %+v", v.Stages)
	}

	// The order's view tells where it stands, not what was found.
	r = d.do(t, http.MethodGet, nurseToken, order, "")
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.body), &raw); r.status != http.StatusOK || err != nil {
		t.Fatalf("GET order: %d %s", r.status, r.body)
	}
	for _, key := range []string{"results", "callbacks", "conclusion", "versions", "verification", "flags"} {
		if _, ok := raw[key]; ok {
			t.Errorf("the order's view holds %s", key)
		}
	}
	if strings.Contains(r.body, "Hyperkalaemia") || strings.Contains(r.body, "6.8 mmol/L") {
		t.Errorf("the order's view tells a result: %s", r.body)
	}
	got := reportOf(t, "GET report", d.do(t, http.MethodGet, nurseToken, report, ""))
	if got.Version != v.Version || got.Conclusion != "Hyperkalaemia." || len(got.Versions) != 1 {
		t.Fatalf("GET report: version %d (want %d), %+v", got.Version, v.Version, got.Report)
	}
}

// Results the report would refuse are refused before anything is stored:
// from a tube not yet received (409), of a test not ordered (400 naming the
// item), with a unit the code does not take (400 naming its field).
func TestDiagnosticResultsRefusedBeforeStored(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.order(t, "routine", "2823-3").Order.ID
	path := ordersPath + "/" + id.String() + "/results"
	r := d.do(t, http.MethodPost, labToken, path, potassium("4.1"))
	wantCode(t, r, http.StatusConflict, CodeInvalidTransition)
	if !strings.Contains(decodeErr(t, r).Message, "received") {
		t.Errorf("refusal: %s", r.body)
	}
	path = ordersPath + "/" + d.received(t).String() + "/results"
	wantFieldSet(t, "a test not ordered", d.do(t, http.MethodPost, labToken, path,
		`{"observations":[{"code":"2823-3","value":{"value":4.1,"unit":"mmol/L"}},{"code":"2951-2","value":{"value":140,"unit":"mmol/L"},"effectiveAt":"`+
			time.Now().UTC().Format(time.RFC3339)+`"}]}`), "observations[1]")
	wantFieldSet(t, "a unit the code does not take", d.do(t, http.MethodPost, labToken, path,
		`{"observations":[{"code":"2823-3","value":{"value":4.1,"unit":"mg"},"effectiveAt":"`+time.Now().UTC().Format(time.RFC3339)+`"}]}`),
		"observations[0].value.unit")
	wantFieldSet(t, "nothing", d.do(t, http.MethodPost, labToken, path, `{}`), "observations")
	wantFieldSet(t, "an observation that does not exist", d.do(t, http.MethodPost, labToken, path,
		`{"observationIds":["`+uuid.NewString()+`"]}`), "observationIds")
	results := slices.IndexFunc(d.temporal.sent, func(r diagnosticflow.Request) bool { return r.UpdateName() == diagnosticflow.UpdateRecordResults })
	if n := countRows(t, d.pool, `SELECT count(*) FROM observations WHERE patient_id = $1`, d.patient); n != 0 || results >= 0 {
		t.Fatalf("refused results stored %d observations and sent %+v", n, d.temporal.sent)
	}
	// A report that does not exist is 404.
	wantCode(t, d.do(t, http.MethodPost, labToken, ordersPath+"/"+uuid.NewString()+"/results", potassium("4.1")),
		http.StatusNotFound, CodeNotFound)
}

// A repeated Idempotency-Key stores nothing more: the step goes on with
// the observation the first request stored.
func TestDiagnosticResultsIdempotencyKey(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	path := ordersPath + "/" + id.String() + "/results"
	first := reportOf(t, "results", d.do(t, http.MethodPost, labToken, path, potassium("4.1"), "Idempotency-Key", "k-1"))
	r := d.do(t, http.MethodPost, labToken, path, potassium("4.1"), "Idempotency-Key", "k-1")
	again := reportOf(t, "again", r)
	if r.header.Get("Idempotent-Replayed") != "true" || again.Results[0].ObservationID != first.Results[0].ObservationID ||
		again.Version != first.Version {
		t.Fatalf("replay: %s", r.body)
	}
	if n := countRows(t, d.pool, `SELECT count(*) FROM observations WHERE patient_id = $1`, d.patient); n != 1 {
		t.Fatalf("%d observations after the replay", n)
	}
}

// Each refusal is answered by its type, whatever its words: 409, 400, 503,
// and an Update on a report whose run has ended is 409 naming its status.
func TestDiagnosticRefusalsByType(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.order(t, "routine", "1988-5").Order.ID
	path := ordersPath + "/" + id.String() + "/specimens"
	body := `{"container":"sst-gold","accessionId":"A1"}`
	for typ, want := range map[string]struct {
		status int
		code   string
	}{
		diagnosticflow.RefusedInvalidTransition: {http.StatusConflict, CodeInvalidTransition},
		diagnosticflow.RefusedInvalidArgument:   {http.StatusBadRequest, CodeValidationFailed},
		diagnosticflow.RefusedUnreviewedFlags:   {http.StatusConflict, CodeUnreviewedFlags},
		diagnosticflow.RefusedReadBackMismatch:  {http.StatusUnprocessableEntity, CodeReadBackMismatch},
		diagnosticflow.RefusedNotReleased:       {http.StatusConflict, CodeInvalidTransition},
		diagnosticflow.RefusedNotRecorded:       {http.StatusBadRequest, CodeValidationFailed},
		diagnosticflow.RefusedRecordUnavailable: {http.StatusServiceUnavailable, CodeUnavailable},
	} {
		d.temporal.refuse = temporal.NewApplicationError("words nobody matches on", typ)
		wantCode(t, d.do(t, http.MethodPost, nurseToken, path, body), want.status, want.code)
	}
	d.temporal.refuse = nil
	// The order is cancelled: its run ends, and a step is 409 naming the status.
	r := d.do(t, http.MethodPost, physicianToken, ordersPath+"/"+id.String()+"/cancel", `{"reason":"ordered in error"}`)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"status":"cancelled"`) {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	r = d.do(t, http.MethodPost, nurseToken, path, body)
	wantCode(t, r, http.StatusConflict, CodeInvalidTransition)
	if !strings.Contains(r.body, "cancelled") {
		t.Fatalf("closed report: %s", r.body)
	}
	wantCode(t, d.do(t, http.MethodPost, nurseToken, ordersPath+"/"+uuid.NewString()+"/specimens", body), http.StatusNotFound, CodeNotFound)
	// The domain's own refusals, through the workflow's validators.
	other := d.order(t, "routine", "1988-5").Order.ID
	wantCode(t, d.do(t, http.MethodPost, nurseToken, ordersPath+"/"+other.String()+"/specimens",
		`{"container":"edta-lavender","accessionId":"A2"}`), http.StatusBadRequest, CodeValidationFailed)
	wantFieldSet(t, "no reason", d.do(t, http.MethodPost, physicianToken, ordersPath+"/"+other.String()+"/cancel", `{}`), "reason")
	wantFieldSet(t, "a reason not on the list", d.do(t, http.MethodPost, labToken,
		ordersPath+"/"+other.String()+"/specimens/A2/reject", `{"reason":"lost"}`), "reason")
	wantCode(t, d.do(t, http.MethodPost, labToken, reportsPath+"/"+other.String()+"/verify", `{}`), http.StatusConflict, CodeInvalidTransition)
}

// The actor is the token's: a body naming another is 403 ACTOR_MISMATCH,
// a machine client acting as itself 403 PERSON_REQUIRED; neither reaches
// the workflow.
func TestDiagnosticStepActorFromTheToken(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.order(t, "routine", "1988-5").Order.ID
	path := ordersPath + "/" + id.String() + "/specimens"
	wantCode(t, d.do(t, http.MethodPost, nurseToken, path, `{"by":"`+physicianID.String()+`","container":"sst-gold","accessionId":"A1"}`),
		http.StatusForbidden, CodeActorMismatch)
	wantCode(t, d.do(t, http.MethodPost, adminToken, path, `{"container":"sst-gold","accessionId":"A1"}`),
		http.StatusForbidden, CodePersonRequired)
	if len(d.temporal.sent) != 0 {
		t.Fatalf("a refused step reached the workflow: %+v", d.temporal.sent)
	}
	var v DiagnosticOrderView
	r := d.do(t, http.MethodPost, nurseToken, path, `{"by":"`+nurseID.String()+`","container":"sst-gold","accessionId":"A1"}`)
	if err := json.Unmarshal([]byte(r.body), &v); r.status != http.StatusOK || err != nil || v.Specimens[0].CollectorID != nurseID ||
		len(v.Awaiting) != 0 {
		t.Fatalf("collect: %d %s", r.status, r.body)
	}
}

// A rejected tube asks for a recollection, restarts the clock and counts in
// the metrics by its reason; a flag's id travels in the path with ~ for /.
func TestDiagnosticRejectionAndFlagPath(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	r := d.do(t, http.MethodPost, labToken, ordersPath+"/"+id.String()+"/specimens/A26-0001/reject", `{"reason":"haemolysed","note":"pink"}`)
	var v DiagnosticOrderView
	if err := json.Unmarshal([]byte(r.body), &v); r.status != http.StatusOK || err != nil ||
		!slices.Equal(v.Recollect, []string{"sst-gold"}) || v.Specimens[0].Status != diagnostic.SpecimenRejected {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}
	flag := uuid.NewString() + "~2823-3~implausible-change"
	r = d.do(t, http.MethodPost, labToken, reportsPath+"/"+id.String()+"/flags/"+flag+"/review", `{"note":"repeat agrees"}`)
	wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
	sent := d.temporal.sent[len(d.temporal.sent)-1].(*diagnosticflow.ReviewFlagRequest)
	if sent.FlagID != strings.ReplaceAll(flag, "~", "/") {
		t.Fatalf("flag id sent: %q", sent.FlagID)
	}

	m := d.metrics(t, "")
	if m.Rejections.Specimens != 1 || m.Rejections.Rejected != 1 || m.Rejections.Rate != 1 {
		t.Fatalf("rejections: %+v", m.Rejections)
	}
	i := slices.IndexFunc(m.Rejections.ByReason, func(rc diagnostic.ReasonCount) bool { return rc.Reason == diagnostic.RejectHaemolysed })
	if len(m.Rejections.ByReason) != len(diagnostic.RejectionReasons) || i < 0 || m.Rejections.ByReason[i].Count != 1 {
		t.Fatalf("by reason: %+v", m.Rejections.ByReason)
	}
}

func (d *diagnosticsAPI) metrics(t *testing.T, query string) DiagnosticMetrics {
	t.Helper()
	r := d.do(t, http.MethodGet, labToken, "/v1/diagnostics/metrics"+query, "")
	var m DiagnosticMetrics
	if err := json.Unmarshal([]byte(r.body), &m); r.status != http.StatusOK || err != nil {
		t.Fatalf("metrics%s: %d %s", query, r.status, r.body)
	}
	return m
}

// The metrics are the quality measures of the range: per priority, each
// stage's percentiles in minutes; the callbacks; a priority narrows them.
// A token confined to one patient cannot read them.
func TestDiagnosticMetricsShape(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	reportOf(t, "results", d.do(t, http.MethodPost, labToken, ordersPath+"/"+id.String()+"/results", potassium("4.1")))
	reportOf(t, "verify", d.do(t, http.MethodPost, labToken, reportsPath+"/"+id.String()+"/verify", `{}`))
	d.order(t, "routine", "1988-5")

	m := d.metrics(t, "")
	if m.Orders != 2 || len(m.Priorities) != len(diagnostic.Priorities) || m.Corrections.Verified != 1 || m.Capped ||
		!m.To.After(m.From) {
		t.Fatalf("metrics: %+v", m)
	}
	for _, p := range m.Priorities {
		if len(p.Stages) != len(diagnostic.Stages)-1 || p.Stages[0].Stage != diagnostic.StageCollected {
			t.Fatalf("%s stages: %+v", p.Priority, p.Stages)
		}
		want := map[diagnostic.Priority]int{diagnostic.PriorityStat: 1, diagnostic.PriorityRoutine: 1}[p.Priority]
		if p.Orders != want {
			t.Errorf("%s: %d orders, want %d", p.Priority, p.Orders, want)
		}
		if p.Priority == diagnostic.PriorityStat && (p.Total.Count != 1 || p.Stages[0].Count != 1 || p.Total.P50 < 0) {
			t.Errorf("stat turnaround: %+v", p)
		}
	}
	stat := d.metrics(t, "?priority=stat&test=2823-3")
	if stat.Orders != 1 || len(stat.Priorities) != 1 || stat.Priorities[0].Priority != diagnostic.PriorityStat || stat.Test != "2823-3" {
		t.Fatalf("stat only: %+v", stat)
	}
	if none := d.metrics(t, "?from=2020-01-01&to=2020-02-01"); none.Orders != 0 {
		t.Fatalf("an empty range: %+v", none)
	}
	wantFieldSet(t, "bad filters", d.do(t, http.MethodGet, labToken, "/v1/diagnostics/metrics?priority=asap&test=9999-9", ""),
		"priority", "test")
	d.verifier["confined"] = access.Principal{Subject: "u-doc", ClientID: "app", Scopes: []string{"patient/*.*"},
		UserID: "u-doc", PractitionerID: physicianID.String(), Patient: d.patient.String()}
	wantCode(t, d.do(t, http.MethodGet, "confined", "/v1/diagnostics/metrics", ""), http.StatusForbidden, CodePatientContext)
}

// The list filters by patient, status, category and when the order was
// placed, and records every patient it showed.
func TestDiagnosticListFilters(t *testing.T) {
	d := newDiagnosticsAPI(t)
	a := d.order(t, "routine", "1988-5").Order.ID
	d.order(t, "urgent", "58410-2")
	r := d.do(t, http.MethodPost, physicianToken, ordersPath, `{"patientId":"`+d.patient.String()+
		`","tests":["36643-5"],"clinicalInformation":"cough for three weeks"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("imaging order: %d %s", r.status, r.body)
	}
	other := registerPatient(t, postgres.NewPatientStore(d.pool))
	r = d.do(t, http.MethodPost, physicianToken, ordersPath, `{"patientId":"`+other.String()+`","tests":["1988-5"]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("another patient's order: %d %s", r.status, r.body)
	}
	if r := d.do(t, http.MethodPost, physicianToken, ordersPath+"/"+a.String()+"/cancel", `{"reason":"duplicate"}`); r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	list := func(query string) []DiagnosticReportView {
		t.Helper()
		r := d.do(t, http.MethodGet, nurseToken, reportsPath+query, "", "X-Request-Id", "dx-list-"+query)
		var page struct {
			Data []DiagnosticReportView `json:"data"`
			Next *string                `json:"next"`
		}
		if err := json.Unmarshal([]byte(r.body), &page); r.status != http.StatusOK || err != nil {
			t.Fatalf("list%s: %d %s", query, r.status, r.body)
		}
		return page.Data
	}
	for query, want := range map[string]int{
		"":                                   4,
		"?patientId=" + d.patient.String():   3,
		"?patientId=" + other.String():       1,
		"?status=cancelled":                  1,
		"?status=registered&limit=2":         2,
		"?category=imaging":                  1,
		"?category=laboratory":               3,
		"?from=2020-01-01&to=2020-02-01":     0,
		"?patientId=" + uuid.NewString():     0,
		"?status=cancelled&category=imaging": 0,
	} {
		if got := list(query); len(got) != want {
			t.Errorf("list%s: %d reports, want %d", query, len(got), want)
		}
	}
	if got := list("?status=cancelled"); got[0].Order.ID != a || got[0].Status != diagnostic.StatusCancelled {
		t.Errorf("cancelled: %+v", got[0].Report)
	}
	records := recordsFor(t, d.audit, "dx-list-")
	if len(records) != 1 || len(records[0].PatientIDs) != 2 || records[0].Action != audit.ActionSearch {
		t.Fatalf("the list's audit record: %+v", records)
	}
	wantFieldSet(t, "bad filters", d.do(t, http.MethodGet, nurseToken, reportsPath+"?status=done&category=lab&colour=blue", ""),
		"status", "category", "colour")
}

// A token confined to its launch patient opens only that patient's report,
// and writes to none by a report's id alone.
func TestDiagnosticOpenKeptToTheLaunchPatient(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	reportOf(t, "results", d.do(t, http.MethodPost, labToken, ordersPath+"/"+id.String()+"/results", potassium("4.1")))
	other := registerPatient(t, postgres.NewPatientStore(d.pool))
	confined := func(patient uuid.UUID) string {
		token := "confined-" + patient.String()
		d.verifier[token] = access.Principal{Subject: "u-doc", ClientID: "app", Scopes: []string{"patient/*.*"},
			UserID: "u-doc", PractitionerID: physicianID.String(), Patient: patient.String()}
		return token
	}
	path := reportsPath + "/" + id.String()
	wantCode(t, d.do(t, http.MethodPost, confined(other), path+"/open", `{}`), http.StatusForbidden, CodePatientContext)
	wantCode(t, d.do(t, http.MethodGet, confined(other), path, ""), http.StatusForbidden, CodePatientContext)
	wantCode(t, d.do(t, http.MethodPost, confined(d.patient), path+"/verify", `{}`), http.StatusForbidden, CodePatientContext)
	v := reportOf(t, "open", d.do(t, http.MethodPost, confined(d.patient), path+"/open", `{}`))
	if len(v.Openings) != 1 || v.Openings[0].Role != diagnostic.ReaderClinician {
		t.Fatalf("openings: %+v", v.Openings)
	}
}

// An imaging report is a radiologist's: the laboratory may not verify it;
// the study the modality performed is linked (sent again, its record is
// updated, not doubled), and the radiologist's conclusion makes it final.
func TestDiagnosticImagingStudyAndRadiologist(t *testing.T) {
	d := newDiagnosticsAPI(t)
	r := d.do(t, http.MethodPost, physicianToken, ordersPath, `{"patientId":"`+d.patient.String()+
		`","tests":["36643-5"],"clinicalInformation":"cough for three weeks"}`)
	var v DiagnosticOrderView
	if err := json.Unmarshal([]byte(r.body), &v); r.status != http.StatusCreated || err != nil {
		t.Fatalf("imaging order: %d %s", r.status, r.body)
	}
	for _, s := range v.Stages {
		if s.Stage == diagnostic.StageCollected || s.Stage == diagnostic.StageReceived {
			t.Errorf("an imaging order shows the %s stage", s.Stage)
		}
	}
	id := v.Order.ID.String()
	report, studies := reportsPath+"/"+id, ordersPath+"/"+id+"/studies"
	const study = `{"studyUid":"1.2.826.0.1.3680043.8.498.1","procedureCode":"36643-5","modalities":["DX"],` +
		`"series":[{"uid":"1.2.826.0.1.3680043.8.498.1.1","modality":"DX","instances":1}]}`
	wantFieldSet(t, "a bad UID", d.do(t, http.MethodPost, physicianToken, studies, `{"studyUid":"1.02.3","procedureCode":"36643-5","modalities":["DX"]}`), "studyUid")
	wantCode(t, d.do(t, http.MethodPost, physicianToken, studies, `{"studyUid":"1.2.3","procedureCode":"36643-5","modalities":["CT"]}`),
		http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, d.do(t, http.MethodPost, radiologistToken, report+"/verify", `{"conclusion":"Clear lungs."}`), http.StatusConflict, CodeInvalidTransition)
	linked := reportOf(t, "link", d.do(t, http.MethodPost, radiologistToken, studies, study))
	// The second series arrives: the same study, updated.
	linked = reportOf(t, "link again", d.do(t, http.MethodPost, radiologistToken, studies,
		`{"studyUid":"1.2.826.0.1.3680043.8.498.1","procedureCode":"36643-5","modalities":["DX"],"series":[`+
			`{"uid":"1.2.826.0.1.3680043.8.498.1.1","modality":"DX","instances":1},{"uid":"1.2.826.0.1.3680043.8.498.1.2","modality":"DX","instances":1}]}`))
	if len(linked.Studies) != 1 || linked.Studies[0].NumberOfSeries != 2 || linked.Studies[0].NumberOfInstances != 2 ||
		linked.Studies[0].PatientID != d.patient || linked.Studies[0].ID != StudyID(v.Order.ID, "1.2.826.0.1.3680043.8.498.1") {
		t.Fatalf("studies %+v", linked.Studies)
	}
	r = d.do(t, http.MethodPost, labToken, report+"/verify", `{"conclusion":"Clear lungs."}`)
	wantCode(t, r, http.StatusForbidden, CodeVerifierRequired)
	if !strings.Contains(decodeErr(t, r).Message, "radiologist") {
		t.Fatalf("refusal: %s", r.body)
	}
	final := reportOf(t, "verify", d.do(t, http.MethodPost, radiologistToken, report+"/verify", `{"conclusion":"Clear lungs. No consolidation."}`))
	if final.Status != diagnostic.StatusFinal || final.Verification == nil || final.Verification.Role != diagnostic.RoleRadiologist ||
		final.Verification.By != radiologistID {
		t.Fatalf("verified %s %+v", final.Status, final.Verification)
	}
	wantCode(t, d.do(t, http.MethodPost, radiologistToken, studies, study), http.StatusConflict, CodeInvalidTransition)
}

// A verified report is corrected by the laboratory: the new value is
// stored as an observation first, and the corrected version names the
// previous and the new value.
func TestDiagnosticCorrection(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	reportOf(t, "results", d.do(t, http.MethodPost, labToken, ordersPath+"/"+id.String()+"/results", potassium("4.1")))
	report := reportsPath + "/" + id.String()
	reportOf(t, "verify", d.do(t, http.MethodPost, labToken, report+"/verify", `{}`))
	body := `{"reason":"transcription error","observations":[{"code":"2823-3","value":{"value":5.1,"unit":"mmol/L"}}]}`
	wantCode(t, d.do(t, http.MethodPost, physicianToken, report+"/correct", body), http.StatusForbidden, CodeVerifierRequired)
	wantFieldSet(t, "no reason", d.do(t, http.MethodPost, labToken, report+"/correct",
		`{"observations":[{"code":"2823-3","value":{"value":5.1,"unit":"mmol/L"}}]}`), "reason")
	wantFieldSet(t, "unchanged", d.do(t, http.MethodPost, labToken, report+"/correct",
		`{"reason":"again","observations":[{"code":"2823-3","value":{"value":4.1,"unit":"mmol/L"}}]}`), "observations[0]")
	v := reportOf(t, "correct", d.do(t, http.MethodPost, labToken, report+"/correct", body))
	last := v.Versions[len(v.Versions)-1]
	if v.Status != diagnostic.StatusCorrected || len(last.Changes) != 1 || last.Changes[0].Previous != "4.1 mmol/L" ||
		last.Changes[0].New != "5.1 mmol/L" {
		t.Fatalf("corrected: %+v", last)
	}
	if n := countRows(t, d.pool, `SELECT count(*) FROM observations WHERE patient_id = $1 AND current`, d.patient); n != 2 {
		t.Fatalf("%d observations after the correction", n)
	}
	// The amendment adds an addendum: the report is appended.
	v = reportOf(t, "amend", d.do(t, http.MethodPost, labToken, report+"/amend", `{"reason":"advice","addendum":"Repeat in a week."}`))
	if v.Status != diagnostic.StatusAppended || len(v.Versions) != 3 {
		t.Fatalf("amended: %s, %d versions", v.Status, len(v.Versions))
	}
	v = reportOf(t, "withdraw", d.do(t, http.MethodPost, labToken, report+"/withdraw", `{"reason":"wrong patient"}`))
	if v.Status != diagnostic.StatusEnteredInError {
		t.Fatalf("withdrawn: %s", v.Status)
	}
}

// The callbacks' refusals: a close with a confirmed outcome, or without a
// note, names the field; a read-back naming nobody reached is 400.
func TestDiagnosticCallbackRefusals(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	v := reportOf(t, "results", d.do(t, http.MethodPost, labToken, ordersPath+"/"+id.String()+"/results", potassium("6.8")))
	callback := reportsPath + "/" + id.String() + "/callbacks/" + v.Results[0].ObservationID.String()
	wantFieldSet(t, "confirmed by a close", d.do(t, http.MethodPost, labToken, callback+"/close", `{"outcome":"confirmed","note":"x"}`), "outcome")
	wantFieldSet(t, "a close without a note", d.do(t, http.MethodPost, labToken, callback+"/close", `{"outcome":"unable-to-reach"}`), "note")
	wantFieldSet(t, "nobody reached", d.do(t, http.MethodPost, labToken, callback+"/confirm", `{"value":"6.8"}`), "receiver")
	wantFieldSet(t, "nobody tried", d.do(t, http.MethodPost, labToken, callback+"/attempt", `{"reached":true}`), "to")
	wantFieldSet(t, "not an observation", d.do(t, http.MethodPost, labToken, reportsPath+"/"+id.String()+"/callbacks/x/attempt",
		`{"to":"`+physicianID.String()+`"}`), "observationId")
	reportOf(t, "attempt", d.do(t, http.MethodPost, labToken, callback+"/attempt", `{"to":"`+physicianID.String()+`","reached":false}`))
	v = reportOf(t, "close", d.do(t, http.MethodPost, labToken, callback+"/close", `{"outcome":"unable-to-reach","note":"escalated"}`))
	if v.Callbacks[0].Outcome != diagnostic.OutcomeUnableToReach {
		t.Fatalf("closed: %+v", v.Callbacks[0])
	}
	m := d.metrics(t, "")
	if m.Callbacks.Callbacks != 1 || m.Callbacks.Unreached != 1 || m.Callbacks.Open != 0 {
		t.Fatalf("callback metrics: %+v", m.Callbacks)
	}
}

// The receiver reads a critical result back themselves: a laboratory
// scientist is not a receiver (403 RECEIVER_REQUIRED); the nurse's wrong
// value is 422 and records nothing; the right one closes the callback with
// the nurse as receiver, reached and recording.
func TestDiagnosticReadBackInPerson(t *testing.T) {
	d := newDiagnosticsAPI(t)
	id := d.received(t)
	v := reportOf(t, "results", d.do(t, http.MethodPost, labToken, ordersPath+"/"+id.String()+"/results", potassium("6.8")))
	callback := reportsPath + "/" + id.String() + "/callbacks/" + v.Results[0].ObservationID.String()
	wantCode(t, d.do(t, http.MethodPost, labToken, callback+"/read-back", `{"value":"6.8"}`), http.StatusForbidden, CodeReceiverRequired)
	wantFieldSet(t, "no value", d.do(t, http.MethodPost, nurseToken, callback+"/read-back", `{}`), "value")
	wantCode(t, d.do(t, http.MethodPost, nurseToken, callback+"/read-back", `{"value":"8.6 mmol/L"}`), http.StatusUnprocessableEntity, CodeReadBackMismatch)
	v = reportOf(t, "read-back", d.do(t, http.MethodPost, nurseToken, callback+"/read-back", `{"value":"6.8 mmol/L"}`))
	cb := v.Callbacks[0]
	if cb.Outcome != diagnostic.OutcomeConfirmed || cb.ReadBack == nil || cb.ReadBack.Receiver != nurseID || cb.ClosedBy != nurseID ||
		len(cb.Attempts) != 1 || cb.Attempts[0].To != nurseID || !cb.Attempts[0].Reached {
		t.Fatalf("read back in person: %+v", cb)
	}
}
