package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEndToEndDeadLetterRequeue follows a critical alert's SMS that the
// provider refuses outright (400, permanent): it is dead-lettered at once and
// counted on /metrics; an operator finds it in the delivery log, the number
// is fixed at the provider, and the operator requeues it through the API. The
// running dispatcher delivers it, and the log shows every attempt and the
// requeue.
func TestEndToEndDeadLetterRequeue(t *testing.T) {
	const secret = "e2e-webhook-secret-dead-letter-0123"
	sms := newRefusingSMSProvider(t, secret)
	e := startE2E(t, devConfig(t, "SMS_WEBHOOK_URL", sms.URL, "NOTIFY_WEBHOOK_SECRET", secret))
	token := e.token(devClientID, "dev-secret", "")

	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)
	smsWard(t, e, token, "ward-9", "Nurse Shirin", "+8801700000099", 600)
	r = e.do(http.MethodPost, "/v1/notifications/alerts", token, map[string]any{
		"patientId": p.ID, "unit": "ward-9", "severity": "critical", "category": "lab-critical-value",
		"message": "Potassium 6.9 mmol/L", "source": "e2e/lab", "policyId": "ward-9-sms",
	})
	var raised struct {
		ID string `json:"id"`
	}
	r.json(t, &raised)
	if r.status != http.StatusAccepted {
		t.Fatalf("raise: %d %s", r.status, r.body)
	}

	type delivery struct {
		ID        string `json:"id"`
		AlertID   string `json:"alertId"`
		Status    string `json:"status"`
		Attempts  int    `json:"attempts"`
		Round     int    `json:"round"`
		LastError string `json:"lastError"`
		History   []struct {
			Round   int    `json:"round"`
			Attempt int    `json:"attempt"`
			Outcome string `json:"outcome"`
			Detail  string `json:"detail"`
			By      string `json:"by"`
		} `json:"history"`
	}
	deliveries := func(query string) []delivery {
		r := e.do(http.MethodGet, "/v1/notifications/deliveries?"+query, token, nil)
		var page struct {
			Data []delivery `json:"data"`
		}
		r.json(t, &page)
		if r.status != http.StatusOK {
			t.Fatalf("delivery log: %d %s", r.status, r.body)
		}
		return page.Data
	}

	// Dead at once: a 400 is not retried.
	var dead delivery
	eventually(t, 60*time.Second, "the SMS dead-lettered", func() bool {
		found := deliveries("status=dead&channel=sms&alertId=" + raised.ID)
		if len(found) == 1 {
			dead = found[0]
		}
		return len(found) == 1
	})
	if dead.Attempts != 1 || !strings.Contains(dead.LastError, "400") || len(dead.History) != 1 || dead.History[0].Outcome != "dead" {
		t.Fatalf("dead letter: %+v", dead)
	}
	eventually(t, 30*time.Second, "the dead letter counted on /metrics", func() bool {
		r := e.do(http.MethodGet, "/metrics", "", nil)
		return strings.Contains(string(r.body), `zarish_notify_dead_letters{channel="sms"} 1`)
	})
	if sms.calls() != 1 {
		t.Fatalf("provider called %d times before the requeue, want 1", sms.calls())
	}

	// The number is fixed at the provider; the operator requeues.
	sms.fix()
	retry := "/v1/notifications/deliveries/" + dead.ID + "/retry"
	r = e.do(http.MethodPost, retry, token, map[string]string{"reason": "number re-enabled at the SMS gateway"})
	var requeued delivery
	r.json(t, &requeued)
	if r.status != http.StatusOK || requeued.Status != "queued" || requeued.Attempts != 0 || requeued.Round != 1 {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	// Asking again changes nothing: it is waiting, or already delivered.
	r = e.do(http.MethodPost, retry, token, nil)
	var env errorJSON
	r.json(t, &env)
	if r.status != http.StatusConflict || (env.Error != "DELIVERY_PENDING" && env.Error != "DELIVERY_ALREADY_DELIVERED") {
		t.Fatalf("second retry: %d %s", r.status, r.body)
	}

	var done delivery
	eventually(t, 30*time.Second, "the requeued SMS delivered", func() bool {
		found := deliveries("status=delivered&alertId=" + raised.ID)
		if len(found) == 1 {
			done = found[0]
		}
		return len(found) == 1
	})
	var outcomes []string
	for _, h := range done.History {
		outcomes = append(outcomes, fmt.Sprintf("%d.%d %s", h.Round, h.Attempt, h.Outcome))
	}
	if got := strings.Join(outcomes, ", "); got != "0.1 dead, 1.0 requeued, 1.1 delivered" {
		t.Fatalf("history: %s", got)
	}
	if h := done.History[1]; h.By != devClientID || h.Detail != "number re-enabled at the SMS gateway" {
		t.Errorf("requeue entry: %+v", h)
	}
	if sms.calls() != 2 || sms.delivered() != 1 || sms.badSignatures() != 0 {
		t.Errorf("provider: %d calls, %d delivered, %d badly signed", sms.calls(), sms.delivered(), sms.badSignatures())
	}
	r = e.do(http.MethodGet, "/v1/notifications/alerts/"+raised.ID, token, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"delivered"`) {
		t.Errorf("alert's delivery log: %d %s", r.status, r.body)
	}
	eventually(t, 30*time.Second, "the dead-letter gauge back to 0", func() bool {
		r := e.do(http.MethodGet, "/metrics", "", nil)
		return strings.Contains(string(r.body), `zarish_notify_dead_letters{channel="sms"} 0`)
	})
}

// refusingSMSProvider is an SMS gateway that refuses every message with 400
// until fix is called, then accepts, checking each body's HMAC signature.
type refusingSMSProvider struct {
	*httptest.Server
	mu                  sync.Mutex
	fixed               bool
	n, ok, badSignature int
}

func newRefusingSMSProvider(t *testing.T, secret string) *refusingSMSProvider {
	p := &refusingSMSProvider{}
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
		if !p.fixed {
			http.Error(w, `{"error":"number barred"}`, http.StatusBadRequest)
			return
		}
		p.ok++
		fmt.Fprintf(w, `{"id":"sms-%d"}`, p.n)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *refusingSMSProvider) fix()           { p.mu.Lock(); defer p.mu.Unlock(); p.fixed = true }
func (p *refusingSMSProvider) calls() int     { p.mu.Lock(); defer p.mu.Unlock(); return p.n }
func (p *refusingSMSProvider) delivered() int { p.mu.Lock(); defer p.mu.Unlock(); return p.ok }
func (p *refusingSMSProvider) badSignatures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.badSignature
}

// smsWard registers a nurse of unit reached by SMS at phone, and the
// policy <unit>-sms that pages the unit's nurses by SMS alone, acknowledged
// within ackSeconds.
func smsWard(t *testing.T, e *e2e, token, unit, nurse, phone string, ackSeconds int) {
	t.Helper()
	r := e.do(http.MethodPost, "/v1/clinical/practitioners", token, map[string]any{
		"name": nurse, "roles": []string{"nurse"}, "units": []string{unit},
		"contacts": []map[string]string{{"system": "phone", "value": phone}},
	})
	if r.status != http.StatusCreated {
		t.Fatalf("practitioner: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/notifications/policies", token, map[string]any{
		"id": unit + "-sms", "name": unit + " SMS only",
		"levels": []map[string]any{
			{"recipients": []map[string]any{{"kind": "unit-role", "role": "nurse"}}, "channels": []string{"sms"}, "ackTimeoutSeconds": ackSeconds},
		},
	})
	if r.status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
}
