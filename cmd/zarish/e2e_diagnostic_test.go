package main

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs username in on the dev app as its sign-in page asks —
// authorization code with PKCE S256, the form posted as a browser posts it
// — and returns the user's access token. The user's role must not ask for
// a second factor.
func (e *e2e) signIn(username, password string) string {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := "e2e-sign-in-" + username + "-" + strings.Repeat("0123456789", 4)
	sum := sha256.Sum256([]byte(verifier))
	redirect := devAppRedirects[0]
	authorize := e.stack.APIURL + "/v1/auth/oauth2/authorize"
	res, err := c.Get(authorize + "?" + url.Values{
		"response_type": {"code"}, "client_id": {devAppClientID}, "redirect_uri": {redirect},
		"scope": {"openid profile fhirUser user/*.*"}, "state": {"e2e-state-" + username}, "nonce": {"e2e-nonce-0123"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		e.t.Fatalf("sign-in page for %s: %d %s", username, res.StatusCode, page)
	}
	res, err = c.PostForm(authorize, url.Values{"csrf": {string(m[1])}, "step": {"password"}, "username": {username}, "password": {password}})
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound || err != nil ||
		!strings.HasPrefix(loc.String(), redirect) || loc.Query().Get("code") == "" {
		e.t.Fatalf("sign-in of %s: %d %s (location %q)", username, res.StatusCode, page, res.Header.Get("Location"))
	}
	tk := e.userToken(url.Values{"grant_type": {"authorization_code"}, "client_id": {devAppClientID},
		"code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}})
	return tk.Access
}

// reportJSON is the part of a diagnostic report's answer the test reads.
type reportJSON struct {
	Order struct {
		ID        string `json:"id"`
		OrdererID string `json:"ordererId"`
	} `json:"order"`
	WorkflowID string            `json:"workflowId"`
	Status     diagnostic.Status `json:"status"`
	Awaiting   []string          `json:"awaiting"`
	Results    []struct {
		ObservationID string `json:"observationId"`
		Code          string `json:"code"`
	} `json:"results"`
	Callbacks []struct {
		ObservationID string `json:"observationId"`
		Outcome       string `json:"outcome"`
		Value         string `json:"value"`
		ReadBack      *struct {
			Receiver string `json:"receiver"`
			Entered  string `json:"entered"`
		} `json:"readBack"`
	} `json:"callbacks"`
	Verification *struct {
		By   string `json:"by"`
		Role string `json:"role"`
	} `json:"verification"`
	Versions   []map[string]any `json:"versions"`
	Recipients []struct {
		Who     string `json:"who"`
		Version int    `json:"version"`
	} `json:"recipients"`
	Openings []struct {
		Who string `json:"who"`
	} `json:"openings"`
}

// A laboratory order from the physician's order to a corrected report,
// over HTTP on the embedded stack, each step by the person signed in for
// it: the physician orders; the laboratory scientist collects, receives and
// results a critical potassium, telephones it and has it read back (a wrong
// read-back is refused); the pathologist verifies. The physician's inbox
// gets the critical-result alert and the final report, the report's events
// go out on Kafka, and a correction reaches everyone sent it before.
func TestEndToEndDiagnosticReportSignedIn(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	doctor := e.signIn("dr.karim", "demo-password-physician")
	scientist := e.signIn("lab.rahim", "demo-password-lab")
	pathologist := e.signIn("path.imran", "demo-password-pathologist")
	doctorID := demoPractitionerID("dr.karim").String()
	stream := openStream(t, e, doctor, "") // the signed-in physician's own

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "inpatient", "reason": "vomiting and weakness", "location": "ward-3"})
	var enc struct {
		ID string `json:"id"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}

	// The physician orders; a body naming someone else as orderer is refused.
	order := map[string]any{"patientId": p.ID, "encounterId": enc.ID, "tests": []string{"2823-3"}, "priority": "stat",
		"clinicalInformation": "weakness; on spironolactone"}
	if r := e.do(http.MethodPost, "/v1/diagnostics/orders", doctor, map[string]any{
		"patientId": p.ID, "tests": []string{"2823-3"}, "ordererId": demoPractitionerID("path.imran").String()}); r.status != http.StatusBadRequest {
		t.Fatalf("an order naming its orderer in the body: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/diagnostics/orders", doctor, order)
	var placed reportJSON
	r.json(t, &placed)
	if r.status != http.StatusCreated || placed.Order.OrdererID != doctorID || placed.WorkflowID != "diagnostic/"+placed.Order.ID ||
		len(placed.Awaiting) != 1 {
		t.Fatalf("order: %d %s", r.status, r.body)
	}
	id := placed.Order.ID
	orderPath, reportPath := "/v1/diagnostics/orders/"+id, "/v1/diagnostics/reports/"+id
	step := func(token, path string, body map[string]any, want int) reportJSON {
		t.Helper()
		r := e.do(http.MethodPost, path, token, body)
		if r.status != want {
			t.Fatalf("POST %s: %d %s, want %d", path, r.status, r.body, want)
		}
		var v reportJSON
		if want == http.StatusOK {
			r.json(t, &v)
		}
		return v
	}

	// The laboratory: the tube, then a critical potassium.
	step(scientist, orderPath+"/specimens", map[string]any{"container": placed.Awaiting[0], "accessionId": "E2E-K-1"}, http.StatusOK)
	step(scientist, orderPath+"/specimens/E2E-K-1/receive", map[string]any{}, http.StatusOK)
	step(pathologist, reportPath+"/verify", map[string]any{"conclusion": "x"}, http.StatusConflict) // not resulted
	v := step(scientist, orderPath+"/results", map[string]any{"observations": []map[string]any{
		{"code": "2823-3", "value": map[string]any{"value": 6.9, "unit": "mmol/L"}}}}, http.StatusOK)
	if v.Status != diagnostic.StatusPreliminary || len(v.Callbacks) != 1 || v.Callbacks[0].Value != "6.9 mmol/L" {
		t.Fatalf("after the critical result: %+v", v)
	}
	obs := v.Callbacks[0].ObservationID

	// The critical-result alert reaches the physician's live stream.
	alertID := ""
	for alertID == "" {
		select {
		case data := <-stream:
			id := fieldOf(data, "alertId")
			if id == "" {
				continue
			}
			r := e.do(http.MethodGet, "/v1/notifications/alerts/"+id, doctor, nil)
			if r.status == http.StatusOK && strings.Contains(string(r.body), `"category":"critical-result"`) {
				alertID = id
			}
		case <-time.After(60 * time.Second):
			t.Fatal("no critical-result notification on the physician's stream within 60s")
		}
	}

	// One alert rings for the value, not two: the observation service's
	// critical-value alert yields to the callback (or is never raised).
	eventually(t, 30*time.Second, "no open critical-value alert beside the callback's", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?status=open&patientId="+p.ID, admin, nil)
		var page struct {
			Data []struct {
				Category string `json:"category"`
			} `json:"data"`
		}
		r.json(t, &page)
		var open []string
		for _, a := range page.Data {
			open = append(open, a.Category)
		}
		return slices.Equal(open, []string{"critical-result"})
	})

	// The call: reached, a wrong read-back refused naming both values, the
	// right one confirms and resolves the alert.
	callback := reportPath + "/callbacks/" + obs
	step(scientist, callback+"/attempt", map[string]any{"to": doctorID, "reached": true}, http.StatusOK)
	r = e.do(http.MethodPost, callback+"/confirm", scientist, map[string]any{"value": "5.9"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "READBACK_MISMATCH") || !strings.Contains(string(r.body), "6.9") {
		t.Fatalf("a wrong read-back: %d %s", r.status, r.body)
	}
	v = step(scientist, callback+"/confirm", map[string]any{"value": "6.9 mmol/L"}, http.StatusOK)
	if v.Callbacks[0].Outcome != string(diagnostic.OutcomeConfirmed) || v.Callbacks[0].ReadBack == nil || v.Callbacks[0].ReadBack.Receiver != doctorID {
		t.Fatalf("confirmed callback: %+v", v.Callbacks)
	}
	eventually(t, 30*time.Second, "the critical-result alert resolved", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts/"+alertID, doctor, nil)
		return strings.Contains(string(r.body), `"status":"resolved"`)
	})

	// Only a verifier verifies; the pathologist does.
	step(doctor, reportPath+"/verify", map[string]any{"conclusion": "Hyperkalaemia."}, http.StatusForbidden)
	v = step(pathologist, reportPath+"/verify", map[string]any{"conclusion": "Hyperkalaemia; repeat after stopping spironolactone."}, http.StatusOK)
	pathologistID := demoPractitionerID("path.imran").String()
	if v.Status != diagnostic.StatusFinal || v.Verification == nil || v.Verification.By != pathologistID || v.Verification.Role != string(diagnostic.RolePathologist) {
		t.Fatalf("verified: %+v", v)
	}
	if len(v.Recipients) != 1 || v.Recipients[0].Who != doctorID || v.Recipients[0].Version != 1 {
		t.Fatalf("recipients: %+v", v.Recipients)
	}
	// The final report lands in the physician's inbox, about the report.
	inboxHas := func(subject string) bool {
		r := e.do(http.MethodGet, "/v1/notifications/inbox", doctor, nil)
		var page struct {
			Data []struct {
				About   string `json:"about"`
				Subject string `json:"subject"`
			} `json:"data"`
		}
		r.json(t, &page)
		return slices.ContainsFunc(page.Data, func(it struct {
			About   string `json:"about"`
			Subject string `json:"subject"`
		}) bool {
			return it.About == "DiagnosticReport/"+id && strings.HasPrefix(it.Subject, subject)
		})
	}
	eventually(t, 30*time.Second, "the final report in the physician's inbox", func() bool { return inboxHas("Final report: ") })
	v = step(doctor, reportPath+"/open", map[string]any{}, http.StatusOK)
	if len(v.Openings) != 1 || v.Openings[0].Who != doctorID {
		t.Fatalf("openings: %+v", v.Openings)
	}

	// The analyser was miscalibrated: the pathologist corrects the value.
	v = step(pathologist, reportPath+"/correct", map[string]any{"reason": "analyser recalibrated",
		"observations": []map[string]any{{"code": "2823-3", "value": map[string]any{"value": 5.2, "unit": "mmol/L"}}}}, http.StatusOK)
	if v.Status != diagnostic.StatusCorrected || len(v.Versions) != 2 {
		t.Fatalf("corrected: %+v", v)
	}
	eventually(t, 30*time.Second, "the correction in the physician's inbox", func() bool { return inboxHas("Report corrected: ") })

	// Downstream systems hear of it on Kafka: final, then corrected with
	// the value before and after.
	var (
		kinds            []string
		final, corrected bool
	)
	for _, ev := range readEvents(t, e.stack.KafkaAddress, p.ID, 0) {
		kinds = append(kinds, ev.Type)
		switch ev.Type {
		case "diagnostic-report.final":
			final = true
		case "diagnostic-report.corrected":
			corrected = strings.Contains(string(ev.Data), "6.9 mmol/L") && strings.Contains(string(ev.Data), "5.2 mmol/L")
		}
	}
	if !final || !corrected {
		t.Fatalf("clinical events of the patient %v: want diagnostic-report.final and .corrected with both values", kinds)
	}
}

// fieldOf is the string value of a JSON field in a stream's data line.
func fieldOf(data, field string) string {
	_, after, ok := strings.Cut(data, `"`+field+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}
