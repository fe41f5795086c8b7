package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	alertworkflow "github.com/zarish-sphere/zarish/workflows/alert"
)

// eventually polls check until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestEndToEndAlertEscalation raises an alert through the API and follows it
// on the real stack: level 1 is notified in-app and by email (a real SMTP
// conversation with the dev mail sink), nobody answers, it escalates to level
// 2, a stranger's acknowledgement is refused, the charge nurse's accepted,
// and resolving ends the workflow. The ward's pager gateway reads inboxes,
// acknowledges and resolves for each nurse (X-On-Behalf-Of), and the audit
// trail names her; acting as itself, it acknowledges nothing.
func TestEndToEndAlertEscalation(t *testing.T) {
	// The SMS provider fails twice, then accepts; every call must be signed.
	const secret = "e2e-webhook-secret-0123456789"
	sms := newSMSProvider(t, secret, 2)
	e := startE2E(t, devConfig(t, "SMS_WEBHOOK_URL", sms.URL, "NOTIFY_WEBHOOK_SECRET", secret))
	token := e.token(devClientID, "dev-secret", "")
	gateway := e.actingToken()

	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)

	newPractitioner := func(name, role, email string) string {
		r := e.do(http.MethodPost, "/v1/clinical/practitioners", token, map[string]any{
			"name": name, "roles": []string{role}, "units": []string{"ward-7"},
			"contacts": []map[string]string{{"system": "email", "value": email}, {"system": "phone", "value": "+8801700000007"}},
		})
		var out struct {
			ID string `json:"id"`
		}
		r.json(t, &out)
		if r.status != http.StatusCreated || out.ID == "" {
			t.Fatalf("practitioner: %d %s", r.status, r.body)
		}
		return out.ID
	}
	nurse := newPractitioner("Nurse Rokeya", "nurse", "rokeya@hospital.example")
	charge := newPractitioner("Charge Nurse Hasan", "charge-nurse", "hasan@hospital.example")

	r = e.do(http.MethodPost, "/v1/notifications/policies", token, map[string]any{
		"id": "ward-7-fast", "name": "Ward 7 test policy",
		"levels": []map[string]any{
			{"recipients": []map[string]any{{"kind": "unit-role", "role": "nurse"}}, "channels": []string{"inapp", "email"}, "ackTimeoutSeconds": 3},
			{"recipients": []map[string]any{{"kind": "unit-role", "role": "charge-nurse"}}, "channels": []string{"inapp", "sms"}, "ackTimeoutSeconds": 60},
		},
	})
	if r.status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}

	// The nurse's live stream is open before the alert is raised.
	stream := openStream(t, e, gateway, nurse)

	raise := map[string]any{"patientId": p.ID, "unit": "ward-7", "severity": "critical", "category": "news2-high",
		"message": "NEWS2 score 8", "source": "e2e/observation", "policyId": "ward-7-fast"}
	r = e.do(http.MethodPost, "/v1/notifications/alerts", token, raise)
	var raised struct {
		ID         string `json:"id"`
		WorkflowID string `json:"workflowId"`
	}
	r.json(t, &raised)
	if r.status != http.StatusAccepted || raised.WorkflowID != alertworkflow.WorkflowID(uuid.MustParse(raised.ID)) {
		t.Fatalf("raise: %d %s", r.status, r.body)
	}
	// The same open alert is not raised twice.
	r = e.do(http.MethodPost, "/v1/notifications/alerts", token, raise)
	var again struct {
		ID string `json:"id"`
	}
	r.json(t, &again)
	if again.ID != raised.ID {
		t.Fatalf("raised twice: %s then %s", raised.ID, again.ID)
	}

	inbox := func(who string) int {
		r := e.do(http.MethodGet, "/v1/notifications/inbox", gateway, nil, onBehalfOf(who)...)
		var page struct {
			Data []struct {
				AlertID string `json:"alertId"`
			} `json:"data"`
		}
		r.json(t, &page)
		n := 0
		for _, it := range page.Data {
			if it.AlertID == raised.ID {
				n++
			}
		}
		return n
	}
	eventually(t, 30*time.Second, "level 1 in-app notification", func() bool { return inbox(nurse) == 1 })
	select {
	case data := <-stream:
		if !strings.Contains(data, raised.ID) || !strings.Contains(data, `"severity":"critical"`) {
			t.Fatalf("stream event: %s", data)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the live stream showed no notification")
	}
	eventually(t, 30*time.Second, "level 1 email through SMTP", func() bool {
		entries, _ := os.ReadDir(e.stack.MailDir)
		for _, f := range entries {
			b, _ := os.ReadFile(e.stack.MailDir + "/" + f.Name())
			if strings.Contains(string(b), "rokeya@hospital.example") {
				return true
			}
		}
		return false
	})
	eventually(t, 30*time.Second, "escalation to the charge nurse", func() bool { return inbox(charge) == 1 })
	// The SMS to the charge nurse is retried through the provider's outage
	// and delivered once it recovers.
	eventually(t, 60*time.Second, "SMS delivered after the provider recovered", func() bool { return sms.delivered() == 1 })
	if sms.calls() < 3 || sms.badSignatures() != 0 {
		t.Fatalf("SMS provider saw %d calls, %d badly signed", sms.calls(), sms.badSignatures())
	}

	// Someone who was never notified (the dev stack's physician, on
	// another ward) cannot acknowledge it; nor can a machine client acting
	// as itself, whoever it names.
	ackPath := "/v1/notifications/alerts/" + raised.ID + "/acknowledge"
	r = e.do(http.MethodPost, ackPath, gateway, map[string]string{}, onBehalfOf(demoPractitionerID("dr.karim").String())...)
	var env errorJSON
	r.json(t, &env)
	if r.status != http.StatusForbidden || env.Error != "NOT_A_RECIPIENT" {
		t.Fatalf("stranger's acknowledgement: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, ackPath, token, map[string]string{"practitionerId": charge})
	if r.json(t, &env); r.status != http.StatusForbidden || env.Error != "PERSON_REQUIRED" {
		t.Fatalf("a machine client acknowledging as itself: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, ackPath, gateway, map[string]string{"practitionerId": charge}, onBehalfOf(charge)...)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"acknowledged"`) {
		t.Fatalf("acknowledge: %d %s", r.status, r.body)
	}
	resolvePath := "/v1/notifications/alerts/" + raised.ID + "/resolve"
	r = e.do(http.MethodPost, resolvePath, token, map[string]string{"practitionerId": charge, "note": "reviewed"})
	if r.json(t, &env); r.status != http.StatusForbidden || env.Error != "PERSON_REQUIRED" {
		t.Fatalf("a machine client resolving as itself: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, resolvePath, gateway, map[string]string{"note": "reviewed, observations repeated"}, onBehalfOf(charge)...)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"resolved"`) {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodGet, "/v1/audit/events?entityType=Flag&action=update&patientId="+p.ID+"&limit=200", token, nil)
	var trail struct {
		Data []struct {
			Route  string `json:"route"`
			Status int    `json:"status"`
			Actor  struct {
				ClientID       string `json:"clientId"`
				PractitionerID string `json:"practitionerId"`
				Asserted       bool   `json:"asserted"`
			} `json:"actor"`
		} `json:"data"`
	}
	r.json(t, &trail)
	acted := map[string]bool{}
	for _, rec := range trail.Data {
		if rec.Status == http.StatusOK && rec.Actor.ClientID == actingClientID && rec.Actor.PractitionerID == charge && rec.Actor.Asserted {
			acted[rec.Route] = true
		}
	}
	if !acted["/v1/notifications/alerts/:id/acknowledge"] || !acted["/v1/notifications/alerts/:id/resolve"] {
		t.Fatalf("the audit trail does not name the gateway acting for the charge nurse: %s", r.body)
	}
	eventually(t, 20*time.Second, "read model shows the resolved alert with its deliveries", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts/"+raised.ID, token, nil)
		body := string(r.body)
		return r.status == http.StatusOK && strings.Contains(body, `"status":"resolved"`) &&
			strings.Count(body, `"status":"delivered"`) >= 4
	})
	r = e.do(http.MethodGet, fmt.Sprintf("/v1/notifications/alerts?patientId=%s", p.ID), token, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), raised.ID) {
		t.Fatalf("list alerts: %d %s", r.status, r.body)
	}
}

// openStream subscribes to a practitioner's Server-Sent Events, with the
// token of a machine client acting for them, and returns the data of each
// notification event as it arrives.
func openStream(t testing.TB, e *e2e, token, practitioner string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.stack.APIURL+"/v1/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if practitioner != "" { // a machine client's stream, for practitioner
		req.Header.Set("X-On-Behalf-Of", "Practitioner/"+practitioner)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan string, 16)
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- data
			}
		}
	}()
	return out
}

// smsProvider is an SMS gateway that fails its first calls with 500, then
// accepts, checking each body's HMAC signature.
type smsProvider struct {
	*httptest.Server
	mu                  sync.Mutex
	failFirst           int
	n, ok, badSignature int
}

func newSMSProvider(t *testing.T, secret string, failFirst int) *smsProvider {
	p := &smsProvider{failFirst: failFirst}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		p.mu.Lock()
		defer p.mu.Unlock()
		p.n++
		if !hmac.Equal([]byte(r.Header.Get("X-Zarish-Signature")), []byte(want)) {
			p.badSignature++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if p.n <= p.failFirst {
			http.Error(w, "gateway down", http.StatusInternalServerError)
			return
		}
		p.ok++
		fmt.Fprintf(w, `{"id":"sms-%d"}`, p.n)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *smsProvider) calls() int         { p.mu.Lock(); defer p.mu.Unlock(); return p.n }
func (p *smsProvider) delivered() int     { p.mu.Lock(); defer p.mu.Unlock(); return p.ok }
func (p *smsProvider) badSignatures() int { p.mu.Lock(); defer p.mu.Unlock(); return p.badSignature }
