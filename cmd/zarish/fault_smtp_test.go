//go:build faults

package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestFaultSMTPFailing points the dispatcher at an SMTP server that
// refuses. Refused for now (451), the fallback contact's email is retried
// with backoff and delivered once the server accepts; refused outright
// (550), it is dead at once, kept, requeued by an operator and then
// delivered. No notification is lost or sent twice: the counts by status
// and the messages the server took match.
func TestFaultSMTPFailing(t *testing.T) {
	mail := startRefusingSMTP(t)
	_, port, _ := net.SplitHostPort(mail.addr)
	cfg := faultConfig(t, "SMTP_HOST", "127.0.0.1", "SMTP_PORT", port, "SMTP_TLS", "none", "SMTP_FROM", "zarish@localhost",
		"ALERT_FALLBACK_CONTACT", devFallbackContact)
	e := startFaultStack(t, cfg)
	admin := e.token(devClientID, "dev-secret", "")
	engine := e.actingToken()
	clinician := onBehalfOf(demoPractitionerID("dr.karim").String())
	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	// overdueEmail has an encounter on ed-resus, where nobody is on call,
	// miss its triage deadline: the alert's one notification is an email
	// to the fallback contact. It returns that delivery.
	overdueEmail := func() delivery {
		r := e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
			"patientId": p.ID, "class": "emergency", "reason": "fall", "location": "ed-resus", "triageDeadlineMinutes": 0.05})
		var enc struct {
			ID string `json:"id"`
		}
		r.json(t, &enc)
		if r.status != http.StatusCreated {
			t.Fatalf("start encounter: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodPost, "/v1/clinical/encounters/"+enc.ID+"/arrive", engine, map[string]any{}, clinician...); r.status != http.StatusOK {
			t.Fatalf("arrive: %d %s", r.status, r.body)
		}
		var d delivery
		eventually(t, 30*time.Second, "the overdue alert's email queued", func() bool {
			for _, a := range overdueAlerts(t, e, admin, p.ID) {
				if a.EncounterID != nil && a.EncounterID.String() == enc.ID {
					ds := deliveries(t, e, admin, "alertId="+a.ID.String())
					if len(ds) == 1 {
						d = ds[0]
						return true
					}
				}
			}
			return false
		})
		if d.Channel != "email" {
			t.Fatalf("the overdue alert's delivery %+v, want an email", d)
		}
		return d
	}
	byID := func(id string) delivery {
		for _, d := range deliveries(t, e, admin, "channel=email") {
			if d.NotificationID == id {
				return d
			}
		}
		t.Fatalf("no delivery %s", id)
		return delivery{}
	}

	// Refused for now: retried, then delivered once the server takes it.
	mail.set(451)
	first := overdueEmail()
	began := time.Now()
	eventually(t, 30*time.Second, "a second attempt, refused too", func() bool {
		d := byID(first.NotificationID)
		return d.Status == "failed" && d.Attempts == 2
	})
	mail.set(250)
	eventually(t, 60*time.Second, "the email delivered on the third attempt", func() bool {
		return byID(first.NotificationID).Status == "delivered"
	})
	t.Logf("a temporary refusal cost %s: delivered on attempt %d", time.Since(began).Round(time.Millisecond), byID(first.NotificationID).Attempts)
	if d := byID(first.NotificationID); d.Attempts != 3 {
		t.Errorf("delivered after %d attempts, want 3 (two refused)", d.Attempts)
	}

	// Refused outright: dead at once, requeued, delivered.
	mail.set(550)
	second := overdueEmail()
	eventually(t, 30*time.Second, "the refused email dead-lettered", func() bool {
		return byID(second.NotificationID).Status == "dead"
	})
	if d := byID(second.NotificationID); d.Attempts != 1 {
		t.Errorf("dead after %d attempts, want 1 (a permanent refusal is not retried)", d.Attempts)
	}
	if ds := deliveries(t, e, admin, "status=dead"); len(ds) != 1 || ds[0].NotificationID != second.NotificationID {
		t.Fatalf("dead deliveries %+v, want the refused email alone", ds)
	}
	mail.set(250)
	r = e.do(http.MethodPost, "/v1/notifications/deliveries/"+second.NotificationID+"/retry", admin, map[string]any{"reason": "mailbox restored"})
	if r.status != http.StatusOK {
		t.Fatalf("requeue: %d %s", r.status, r.body)
	}
	eventually(t, 30*time.Second, "the requeued email delivered", func() bool {
		return byID(second.NotificationID).Status == "delivered"
	})
	if d := byID(second.NotificationID); d.Round != 1 || d.Attempts != 1 {
		t.Errorf("the requeued email: round %d, attempt %d; want round 1, delivered on its first attempt", d.Round, d.Attempts)
	}
	if d := byID(first.NotificationID); d.Round != 0 {
		t.Errorf("the retried email was requeued %d times, want 0", d.Round)
	}

	// Counts by status, and what the server took: each email once.
	for status, want := range map[string]int{"delivered": 2, "dead": 0, "failed": 0, "queued": 0} {
		if n := len(deliveries(t, e, admin, "status="+status)); n != want {
			t.Errorf("%d %s deliveries, want %d", n, status, want)
		}
	}
	got := mail.accepted()
	if len(got) != 2 || got[0] != first.NotificationID || got[1] != second.NotificationID {
		t.Errorf("the SMTP server took %v, want %s then %s, once each", got, first.NotificationID, second.NotificationID)
	}
	if n := mail.refusals(); n != 3 {
		t.Errorf("the SMTP server refused %d times, want 3 (two 451, one 550)", n)
	}
}

type delivery struct {
	NotificationID string `json:"id"`
	Channel        string `json:"channel"`
	Status         string `json:"status"`
	Attempts       int    `json:"attempts"` // of the current round
	Round          int    `json:"round"`    // requeues
}

// deliveries lists the delivery log filtered by query.
func deliveries(t *testing.T, e *e2e, token, query string) []delivery {
	t.Helper()
	r := e.do(http.MethodGet, "/v1/notifications/deliveries?limit=200&"+query, token, nil)
	var page struct {
		Data []delivery `json:"data"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || r.status != http.StatusOK {
		t.Fatalf("deliveries?%s: %d %s", query, r.status, r.body)
	}
	return page.Data
}

// refusingSMTP is an SMTP server that answers each recipient with the code
// set (250 accepts) and keeps the notification id of each message taken.
type refusingSMTP struct {
	addr  string
	mu    sync.Mutex
	code  int
	taken []string
	nos   int
}

func startRefusingSMTP(t *testing.T) *refusingSMTP {
	t.Helper()
	s := &refusingSMTP{code: 250}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &refusingSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *refusingSMTP) set(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code = code
}

func (s *refusingSMTP) accepted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.taken...)
}

func (s *refusingSMTP) refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nos
}

type refusingSession struct{ s *refusingSMTP }

func (r *refusingSession) Mail(string, *smtp.MailOptions) error { return nil }

func (r *refusingSession) Rcpt(string, *smtp.RcptOptions) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.s.code == 250 {
		return nil
	}
	r.s.nos++
	return &smtp.SMTPError{Code: r.s.code, EnhancedCode: smtp.EnhancedCode{r.s.code / 100, 1, 1}, Message: "refused (" + strconv.Itoa(r.s.code) + ")"}
}

func (r *refusingSession) Data(rd io.Reader) error {
	raw, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	id := ""
	for _, line := range strings.Split(string(raw), "\r\n") {
		if v, ok := strings.CutPrefix(line, "X-Zarish-Notification-Id: "); ok {
			id = strings.TrimSpace(v)
		}
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.taken = append(r.s.taken, id)
	return nil
}

func (r *refusingSession) Reset()        {}
func (r *refusingSession) Logout() error { return nil }
