//go:build faults

package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/notification"
)

// TestFaultSMSFailing points the dispatcher at an SMS provider that answers
// 503, with NOTIFY_MAX_ATTEMPTS=3 and a 1 s backoff doubling up to 2 s.
// Unavailable for its first two requests, the provider gets the alert's SMS
// on the third and last attempt, each retry after its backoff, and takes it
// once. Unavailable throughout, the provider sees exactly three attempts of
// the next SMS, which is then dead: kept in the delivery log with the
// provider's answer and counted on /metrics, until an operator, the
// provider back, requeues it through the API and it is delivered once. The
// counts by status and the requests the provider received match exactly.
func TestFaultSMSFailing(t *testing.T) {
	const secret = "fault-sms-webhook-secret-0123456789"
	const maxAttempts = 3
	base, maxBackoff := time.Second, 2*time.Second
	sms := newFlakySMSProvider(t, secret)
	cfg := faultConfig(t, "SMS_WEBHOOK_URL", sms.URL, "NOTIFY_WEBHOOK_SECRET", secret,
		"NOTIFY_MAX_ATTEMPTS", fmt.Sprint(maxAttempts), "NOTIFY_BASE_BACKOFF", base.String(), "NOTIFY_MAX_BACKOFF", maxBackoff.String())
	if n := cfg.Notify; n.MaxAttempts != maxAttempts || n.BaseBackoff != base || n.MaxBackoff != maxBackoff {
		t.Fatalf("the configuration's retry limits: %+v", n)
	}
	e := startFaultStack(t, cfg)
	admin := e.token(devClientID, "dev-secret", "")

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	smsWard(t, e, admin, "ward-11", "Nurse Nasrin", "+8801700000011", 3600)

	// deliveryLog is the SMS delivery log filtered by query.
	deliveryLog := func(query string) []notification.Delivery {
		r := e.do(http.MethodGet, "/v1/notifications/deliveries?limit=200&channel=sms&"+query, admin, nil)
		var page struct {
			Data []notification.Delivery `json:"data"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != http.StatusOK {
			t.Fatalf("deliveries?%s: %d %s", query, r.status, r.body)
		}
		return page.Data
	}
	byID := func(id string) notification.Delivery {
		for _, d := range deliveryLog("") {
			if d.ID.String() == id {
				return d
			}
		}
		t.Fatalf("no SMS delivery %s", id)
		return notification.Delivery{}
	}
	history := func(d notification.Delivery) string {
		var out []string
		for _, h := range d.History {
			out = append(out, fmt.Sprintf("%d.%d %s", h.Round, h.Attempt, h.Outcome))
		}
		return strings.Join(out, ", ")
	}
	// alertSMS raises a critical alert on ward 11 and returns the id of its
	// one notification, an SMS to the nurse.
	alertSMS := func(source string) string {
		r := e.do(http.MethodPost, "/v1/notifications/alerts", admin, map[string]any{
			"patientId": p.ID, "unit": "ward-11", "severity": "critical", "category": "lab-critical-value",
			"message": "Potassium 6.9 mmol/L", "source": source, "policyId": "ward-11-sms",
		})
		var raised struct {
			ID string `json:"id"`
		}
		r.json(t, &raised)
		if r.status != http.StatusAccepted {
			t.Fatalf("raise: %d %s", r.status, r.body)
		}
		var id string
		eventually(t, 60*time.Second, "the alert's SMS queued", func() bool {
			if ds := deliveryLog("alertId=" + raised.ID); len(ds) == 1 {
				id = ds[0].ID.String()
			}
			return id != ""
		})
		return id
	}

	// Unavailable for two requests: retried after each backoff, delivered
	// on the last attempt allowed, and taken once.
	sms.refuseNext(2)
	first := alertSMS("fault/sms-recovers")
	eventually(t, 60*time.Second, "the SMS delivered on its third attempt", func() bool {
		return byID(first).Status == notification.StatusDelivered
	})
	if d := byID(first); d.Attempts != maxAttempts || d.Round != 0 || history(d) != "0.1 failed, 0.2 failed, 0.3 delivered" {
		t.Fatalf("the recovered SMS: attempt %d of round %d, history %s; want delivered on attempt 3 of round 0 after two failures",
			d.Attempts, d.Round, history(d))
	}
	// Each retry waited at least the shortest backoff jitter allows: half
	// of 1 s after the first failure, half of 2 s after the second.
	arrived := sms.requestsOf(first)
	if len(arrived) != 3 {
		t.Fatalf("the provider received the recovered SMS %d times, want 3", len(arrived))
	}
	for i, least := range []time.Duration{base / 2, min(2*base, maxBackoff) / 2} {
		if gap := arrived[i+1].Sub(arrived[i]); gap < least {
			t.Errorf("attempt %d came %s after attempt %d, before its backoff of at least %s", i+2, gap, i+1, least)
		}
	}
	t.Logf("a provider unavailable twice cost %s: delivered on attempt 3", arrived[2].Sub(arrived[0]).Round(time.Millisecond))

	// Unavailable throughout: dead after exactly three attempts, kept with
	// the provider's answer, and counted.
	sms.setDown(true)
	second := alertSMS("fault/sms-down")
	eventually(t, 60*time.Second, "the SMS dead-lettered", func() bool {
		return byID(second).Status == notification.StatusDead
	})
	dead := byID(second)
	if dead.Attempts != maxAttempts || history(dead) != "0.1 failed, 0.2 failed, 0.3 dead" || !strings.Contains(dead.LastError, "503") {
		t.Fatalf("the dead SMS: %d attempts, history %s, last error %q; want dead on attempt 3 after two failures, saying 503",
			dead.Attempts, history(dead), dead.LastError)
	}
	if n := len(sms.requestsOf(second)); n != maxAttempts {
		t.Fatalf("the provider received the dead SMS %d times, want %d", n, maxAttempts)
	}
	if ds := deliveryLog("status=dead"); len(ds) != 1 || ds[0].ID.String() != second {
		t.Fatalf("dead SMS deliveries %+v, want the second alone", ds)
	}
	eventually(t, 30*time.Second, "the dead letter counted on /metrics", func() bool {
		r := e.do(http.MethodGet, "/metrics", "", nil)
		return strings.Contains(string(r.body), `zarish_notify_dead_letters{channel="sms"} 1`)
	})

	// The provider is back; the operator requeues; delivered once.
	sms.setDown(false)
	r = e.do(http.MethodPost, "/v1/notifications/deliveries/"+second+"/retry", admin, map[string]any{"reason": "SMS gateway back in service"})
	if r.status != http.StatusOK {
		t.Fatalf("requeue: %d %s", r.status, r.body)
	}
	eventually(t, 60*time.Second, "the requeued SMS delivered", func() bool {
		return byID(second).Status == notification.StatusDelivered
	})
	if d := byID(second); d.Round != 1 || d.Attempts != 1 ||
		history(d) != "0.1 failed, 0.2 failed, 0.3 dead, 1.0 requeued, 1.1 delivered" {
		t.Errorf("the requeued SMS: round %d, attempt %d, history %s; want delivered on the first attempt of round 1",
			d.Round, d.Attempts, history(d))
	}
	eventually(t, 30*time.Second, "the dead-letter gauge back to 0", func() bool {
		r := e.do(http.MethodGet, "/metrics", "", nil)
		return strings.Contains(string(r.body), `zarish_notify_dead_letters{channel="sms"} 0`)
	})

	// Counts by status, and what the provider received: three requests of
	// the first SMS (one taken), four of the second (one taken), nothing
	// else, every one signed.
	for status, want := range map[string]int{
		notification.StatusDelivered: 2, notification.StatusDead: 0, notification.StatusFailed: 0, notification.StatusQueued: 0,
	} {
		if n := len(deliveryLog("status=" + status)); n != want {
			t.Errorf("%d %s SMS deliveries, want %d", n, status, want)
		}
	}
	got := sms.counts()
	want := smsCounts{requests: 7, refused: 5, taken: map[string]int{first: 1, second: 1},
		perNotification: map[string]int{first: 3, second: 4}}
	if got.requests != want.requests || got.refused != want.refused || got.badSignatures != 0 ||
		!maps.Equal(got.taken, want.taken) || !maps.Equal(got.perNotification, want.perNotification) {
		t.Errorf("the provider saw %+v, want %+v", got, want)
	}
}

// flakySMSProvider is an SMS gateway that answers 503 while down, or to
// the next requests it is told to refuse, and 200 with a message id
// otherwise; it checks each body's signature and records when each
// notification's requests arrived.
type flakySMSProvider struct {
	*httptest.Server
	mu      sync.Mutex
	down    bool
	refuse  int
	arrived map[string][]time.Time
	seen    smsCounts
}

// smsCounts is what the provider received.
type smsCounts struct {
	requests, refused, badSignatures int
	taken, perNotification           map[string]int
}

func newFlakySMSProvider(t *testing.T, secret string) *flakySMSProvider {
	t.Helper()
	p := &flakySMSProvider{arrived: map[string][]time.Time{},
		seen: smsCounts{taken: map[string]int{}, perNotification: map[string]int{}}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		var msg struct {
			NotificationID string `json:"notificationId"`
		}
		_ = json.Unmarshal(body, &msg)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.seen.requests++
		if !hmac.Equal([]byte(r.Header.Get("X-Zarish-Signature")), []byte(want)) || msg.NotificationID == "" ||
			r.Header.Get("X-Zarish-Notification-Id") != msg.NotificationID {
			p.seen.badSignatures++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		p.arrived[msg.NotificationID] = append(p.arrived[msg.NotificationID], at)
		p.seen.perNotification[msg.NotificationID]++
		if p.down || p.refuse > 0 {
			if p.refuse > 0 {
				p.refuse--
			}
			p.seen.refused++
			http.Error(w, `{"error":"service unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		p.seen.taken[msg.NotificationID]++
		fmt.Fprintf(w, `{"id":"sms-%d"}`, p.seen.requests)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *flakySMSProvider) refuseNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = n
}

func (p *flakySMSProvider) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

func (p *flakySMSProvider) requestsOf(id string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.arrived[id]...)
}

func (p *flakySMSProvider) counts() smsCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.seen
	c.taken, c.perNotification = maps.Clone(c.taken), maps.Clone(c.perNotification)
	return c
}
