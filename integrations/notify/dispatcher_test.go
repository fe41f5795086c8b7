package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	gomail "github.com/wneessen/go-mail"

	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/notify"
)

var secret = []byte("provider-shared-secret")

// smtpSink is a real SMTP server (STARTTLS, AUTH PLAIN) keeping what it
// receives.
type smtpSink struct {
	addr string
	port int
	ca   *x509.CertPool

	mu   sync.Mutex
	msgs []sunkMail
}

type sunkMail struct {
	user string
	from string
	to   []string
	msg  *mail.Message
	body string
}

func startSMTPSink(tb testing.TB, user, pass string) *smtpSink {
	return startSMTPSinkMode(tb, user, pass, notify.TLSStartTLS)
}

// startSMTPSinkMode starts a sink speaking mode: TLSStartTLS, TLSImplicit
// or TLSNone (where AUTH is allowed in the clear).
func startSMTPSinkMode(tb testing.TB, user, pass, mode string) *smtpSink {
	tb.Helper()
	cert, pool := selfSigned(tb)
	sink := &smtpSink{ca: pool}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: sink, wantUser: user, wantPass: pass}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.AllowInsecureAuth = mode == notify.TLSNone // else AUTH only over TLS
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	var ln net.Listener
	var err error
	if mode == notify.TLSImplicit {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		tb.Fatal(err)
	}
	if mode == notify.TLSNone {
		srv.TLSConfig = nil // no STARTTLS offered
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	sink.addr = ln.Addr().String()
	sink.port = ln.Addr().(*net.TCPAddr).Port
	return sink
}

func (s *smtpSink) received() []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

type sinkSession struct {
	sink               *smtpSink
	wantUser, wantPass string
	user, from         string
	to                 []string
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.wantUser || password != s.wantPass {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, sunkMail{user: s.user, from: s.from, to: s.to, msg: msg, body: string(body)})
	s.sink.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.from, s.to = "", nil }
func (s *sinkSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestEmailIsSentOverSMTPWithStartTLSAndAuth(t *testing.T) {
	e := newEnv(t)
	sink := startSMTPSink(t, "notify", "s3cret")
	smtpCfg := notify.SMTPConfig{
		Host: "127.0.0.1", Port: sink.port, Username: "notify", Password: "s3cret",
		From: "ZARISH Alerts <alerts@zarish.example>", TLS: notify.TLSStartTLS,
	}
	email, err := notify.NewEmailSender(smtpCfg, gomail.WithTLSConfig(&tls.Config{RootCAs: sink.ca, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, notify.Config{SMTP: smtpCfg}, notify.WithSender(notification.ChannelEmail, email))

	ev, req := request(notification.ChannelEmail, "dr.rahman@hospital.example")
	bad, badReq := request(notification.ChannelEmail, "nobody@hospital.example")
	none, noneReq := request(notification.ChannelEmail, "")
	e.publish(t, ev, bad, none)

	n := e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	if n.Attempts != 1 || !slices.Equal(outcomes(n), []string{notification.AttemptDelivered}) || n.Receipt == "" {
		t.Errorf("delivered notification: attempts %d, log %v, receipt %q", n.Attempts, outcomes(n), n.Receipt)
	}
	msgs := sink.received()
	if len(msgs) != 1 {
		t.Fatalf("sink received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.user != "notify" || m.from != "alerts@zarish.example" || !slices.Equal(m.to, []string{"dr.rahman@hospital.example"}) {
		t.Errorf("envelope: user %q from %q to %v", m.user, m.from, m.to)
	}
	if got := m.msg.Header.Get("Subject"); got != req.Subject {
		t.Errorf("Subject = %q, want %q", got, req.Subject)
	}
	if got := m.msg.Header.Get("To"); !strings.Contains(got, "dr.rahman@hospital.example") {
		t.Errorf("To = %q", got)
	}
	if got := m.msg.Header.Get("X-Zarish-Notification-Id"); got != req.NotificationID.String() {
		t.Errorf("X-Zarish-Notification-Id = %q", got)
	}
	if !strings.Contains(m.body, "potassium 6.8 mmol/L") {
		t.Errorf("body = %q", m.body)
	}

	// A recipient the server refuses (550) is permanent: dead after one attempt.
	d := e.waitStatus(t, badReq.NotificationID, notification.StatusDead)
	if d.Attempts != 1 || !strings.Contains(d.LastError, "550") {
		t.Errorf("refused recipient: attempts %d, last error %q", d.Attempts, d.LastError)
	}
	// So is a practitioner with no email address: kept, and dead, not dropped.
	d = e.waitStatus(t, noneReq.NotificationID, notification.StatusDead)
	if d.Attempts != 1 || len(sink.received()) != 1 {
		t.Errorf("no address: attempts %d, last error %q", d.Attempts, d.LastError)
	}
}

func TestEmailSenderTLSModes(t *testing.T) {
	for _, mode := range []string{notify.TLSNone, notify.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			sink := startSMTPSinkMode(t, "notify", "pw", mode)
			email, err := notify.NewEmailSender(notify.SMTPConfig{
				Host: "127.0.0.1", Port: sink.port, Username: "notify", Password: "pw",
				From: "alerts@zarish.example", TLS: mode,
			}, gomail.WithTLSConfig(&tls.Config{RootCAs: sink.ca, ServerName: "127.0.0.1"}))
			if err != nil {
				t.Fatal(err)
			}
			_, req := request(notification.ChannelEmail, "nurse@hospital.example")
			n := notification.Notification{ID: req.NotificationID, Channel: req.Channel, Address: req.Address, Subject: req.Subject, Body: req.Body}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			receipt, err := email.Send(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			got := sink.received()
			if len(got) != 1 || got[0].msg.Header.Get("Subject") != req.Subject || got[0].user != "notify" ||
				!strings.Contains(receipt, req.NotificationID.String()) {
				t.Errorf("receipt %q, sink got %+v", receipt, got)
			}
		})
	}
	if _, err := notify.NewEmailSender(notify.SMTPConfig{Host: "h", From: "a@b.example", TLS: "ssl3"}); err == nil {
		t.Error("unknown TLS mode accepted")
	}
}

// provider is an SMS/push provider webhook whose answers the test scripts.
type provider struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	status []int // answers in order; the last repeats
	hits   []notify.WebhookMessage
}

func startProvider(t *testing.T, status ...int) *provider {
	p := &provider{t: t, status: status}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *provider) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get(notify.HeaderSignature); !hmac.Equal([]byte(got), []byte(want)) {
		p.t.Errorf("signature %q, want %q", got, want)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m notify.WebhookMessage
	if err := json.Unmarshal(body, &m); err != nil {
		p.t.Errorf("webhook body: %v", err)
	}
	if got := r.Header.Get(notify.HeaderNotificationID); got != m.NotificationID {
		p.t.Errorf("%s = %q, body says %q", notify.HeaderNotificationID, got, m.NotificationID)
	}
	p.mu.Lock()
	p.hits = append(p.hits, m)
	status := p.status[min(len(p.hits), len(p.status))-1]
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status < 300 {
		_, _ = io.WriteString(w, `{"id":"prov-`+m.NotificationID[:8]+`"}`)
	} else {
		_, _ = io.WriteString(w, `{"error":"unavailable"}`)
	}
}

func (p *provider) received() []notify.WebhookMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.hits)
}

func fastRetries(smsURL, pushURL string) notify.Config {
	return notify.Config{
		SMSWebhookURL:  smsURL,
		PushWebhookURL: pushURL,
		WebhookSecret:  secret,
		MaxAttempts:    4,
		BaseBackoff:    50 * time.Millisecond,
		MaxBackoff:     200 * time.Millisecond,
	}
}

func TestWebhookIsSignedAndRetriedUntilTheProviderRecovers(t *testing.T) {
	e := newEnv(t)
	sms := startProvider(t, 500, 503, 200)
	push := startProvider(t, 429, 200)
	r := e.run(t, fastRetries(sms.srv.URL, push.srv.URL))

	smsEv, smsReq := request(notification.ChannelSMS, "+8801711000000")
	pushEv, pushReq := request(notification.ChannelPush, "push-token-abc")
	e.publish(t, smsEv, pushEv)

	n := e.waitStatus(t, smsReq.NotificationID, notification.StatusDelivered)
	if want := []string{"failed", "failed", "delivered"}; !slices.Equal(outcomes(n), want) || n.Attempts != 3 {
		t.Errorf("sms attempts %d, log %v, want %v", n.Attempts, outcomes(n), want)
	}
	if want := "prov-" + smsReq.NotificationID.String()[:8]; n.Receipt != want || n.AttemptLog[2].Detail != want {
		t.Errorf("sms receipt %q, want %q", n.Receipt, want)
	}
	if !strings.Contains(n.AttemptLog[0].Detail, "500") || n.DeliveredAt == nil {
		t.Errorf("sms first attempt detail %q, delivered at %v", n.AttemptLog[0].Detail, n.DeliveredAt)
	}
	hits := sms.received()
	if len(hits) != 3 || hits[2].To != "+8801711000000" || hits[2].Body != smsReq.Body || hits[2].Channel != "sms" {
		t.Errorf("sms provider got %+v", hits)
	}

	p := e.waitStatus(t, pushReq.NotificationID, notification.StatusDelivered)
	if p.Attempts != 2 || len(push.received()) != 2 || push.received()[1].To != "push-token-abc" {
		t.Errorf("push attempts %d, provider got %+v", p.Attempts, push.received())
	}

	eventually(t, 5*time.Second, "metrics", func() bool {
		return r.metric(t, "zarish_notify_delivered_total", "channel", "sms") == 1 &&
			r.metric(t, "zarish_notify_delivered_total", "channel", "push") == 1 &&
			r.metric(t, "zarish_notify_failed_attempts_total") == 3
	})

	statuses, err := e.store.DeliveryStatus(context.Background(), smsReq.AlertID)
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 1 || statuses[0].Status != "delivered" || statuses[0].Attempts != 3 {
		t.Errorf("delivery status %+v", statuses)
	}
}

func TestPermanentRejectionIsDeadAtOnceAndExhaustedRetriesDeadLetter(t *testing.T) {
	e := newEnv(t)
	sms := startProvider(t, 400)
	push := startProvider(t, 503)
	r := e.run(t, fastRetries(sms.srv.URL, push.srv.URL))

	smsEv, smsReq := request(notification.ChannelSMS, "+8801711000001")
	pushEv, pushReq := request(notification.ChannelPush, "push-token-def")
	e.publish(t, smsEv, pushEv)

	n := e.waitStatus(t, smsReq.NotificationID, notification.StatusDead)
	if n.Attempts != 1 || !slices.Equal(outcomes(n), []string{"dead"}) || !strings.Contains(n.LastError, "400") {
		t.Errorf("400: attempts %d, log %v, last error %q", n.Attempts, outcomes(n), n.LastError)
	}
	p := e.waitStatus(t, pushReq.NotificationID, notification.StatusDead)
	if want := []string{"failed", "failed", "failed", "dead"}; !slices.Equal(outcomes(p), want) {
		t.Errorf("503 forever: log %v, want %v", outcomes(p), want)
	}
	time.Sleep(300 * time.Millisecond) // no attempt after dead
	if len(sms.received()) != 1 || len(push.received()) != 4 {
		t.Errorf("provider hits: sms %d, push %d", len(sms.received()), len(push.received()))
	}
	if got := r.metric(t, "zarish_notify_dead_lettered_total"); got != 2 {
		t.Errorf("dead-lettered = %v, want 2", got)
	}
}

func TestChannelNotConfiguredDelaysRatherThanDrops(t *testing.T) {
	e := newEnv(t)
	cfg := fastRetries("", "")
	cfg.MaxAttempts = 100
	first := e.run(t, cfg)
	ev, req := request(notification.ChannelSMS, "+8801711000002")
	e.publish(t, ev)
	eventually(t, 30*time.Second, "failed attempts", func() bool {
		n, err := e.store.Get(context.Background(), req.NotificationID)
		return err == nil && n.Status == notification.StatusFailed && n.Attempts >= 2
	})
	first.stop(t)

	sms := startProvider(t, 200)
	e.run(t, fastRetries(sms.srv.URL, ""))
	n := e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	if len(sms.received()) != 1 || n.AttemptLog[len(n.AttemptLog)-1].Outcome != "delivered" {
		t.Errorf("after recovery: provider hits %d, log %v", len(sms.received()), outcomes(n))
	}
}

func TestTheSameNotificationPublishedTwiceIsDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	sms := startProvider(t, 200)
	r := e.run(t, fastRetries(sms.srv.URL, ""))

	ev, req := request(notification.ChannelSMS, "+8801711000003")
	e.publish(t, ev, ev) // twice in a row, before delivery
	e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	e.publish(t, ev) // and again after delivery
	eventually(t, 30*time.Second, "duplicates seen", func() bool {
		return r.metric(t, "zarish_notify_requests_total", "result", "duplicate") == 2
	})
	time.Sleep(200 * time.Millisecond)
	if got := len(sms.received()); got != 1 {
		t.Errorf("provider received %d requests, want 1", got)
	}
	n, err := e.store.Get(context.Background(), req.NotificationID)
	if err != nil {
		t.Fatal(err)
	}
	if n.Attempts != 1 {
		t.Errorf("attempts %d, want 1", n.Attempts)
	}
}

func TestInAppNotificationLandsInTheInboxAndIsAnnounced(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := e.store.ListenInbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := e.run(t, notify.Config{})

	ev, req := request(notification.ChannelInApp, "")
	e.publish(t, ev)

	select {
	case got := <-events:
		if got.PractitionerID != req.Recipient.PractitionerID {
			t.Errorf("inbox event for %q, want %q", got.PractitionerID, req.Recipient.PractitionerID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no inbox event within 30s")
	}
	items, next, err := e.store.ListInbox(ctx, req.Recipient.PractitionerID, true, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || next != "" {
		t.Fatalf("inbox: %d items, next %q", len(items), next)
	}
	it := items[0]
	if it.NotificationID != req.NotificationID || it.AlertID != req.AlertID || it.Subject != req.Subject || it.Severity != "critical" {
		t.Errorf("inbox item %+v", it)
	}
	n := e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	if n.Attempts != 1 || !strings.HasPrefix(n.Receipt, "inbox:") {
		t.Errorf("inapp notification: attempts %d, receipt %q", n.Attempts, n.Receipt)
	}
	// The delivery is counted just after it commits: wait for the count.
	eventually(t, 5*time.Second, "the in-app delivery counted", func() bool {
		return r.metric(t, "zarish_notify_delivered_total", "channel", "inapp") == 1
	})
}

// A notification about a report, not an alert, reaches the inbox naming
// what it is about.
func TestANotificationAboutAReportLandsInTheInbox(t *testing.T) {
	e := newEnv(t)
	e.run(t, notify.Config{})
	_, req := request(notification.ChannelInApp, "")
	req.AlertID, req.About, req.Severity = uuid.Nil, "DiagnosticReport/"+uuid.NewString(), "info"
	e.publish(t, event(notify.EventNotificationRequested, req.PatientID.String(), req))
	e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	items, _, err := e.store.ListInbox(context.Background(), req.Recipient.PractitionerID, true, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].About != req.About || items[0].AlertID != uuid.Nil || items[0].Severity != "info" {
		t.Fatalf("inbox %+v", items)
	}
	raw, err := json.Marshal(items[0])
	if err != nil || strings.Contains(string(raw), "alertId") || !strings.Contains(string(raw), `"about":"DiagnosticReport/`) {
		t.Fatalf("the item as the API shows it: %s, %v", raw, err)
	}
}

func TestOtherEventTypesAreSkippedAndCommitted(t *testing.T) {
	e := newEnv(t)
	sms := startProvider(t, 200)
	first := e.run(t, fastRetries(sms.srv.URL, ""))

	patient := "0190a3a0-0000-7000-8000-000000000001"
	breakGlass := event("alert.break-glass", patient, map[string]string{"patientId": patient, "practitionerId": "prac-1"})
	malformed := event(notify.EventNotificationRequested, patient, map[string]string{"channel": "fax"})
	ev, req := request(notification.ChannelSMS, "+8801711000004")
	e.publish(t, breakGlass, malformed, ev)
	e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	eventually(t, 10*time.Second, "skip counted", func() bool {
		return first.metric(t, "zarish_notify_requests_total", "result", "skipped") == 1 &&
			first.metric(t, "zarish_notify_requests_total", "result", "rejected") == 1
	})
	first.stop(t)

	// A new dispatcher in the group starts after the committed offsets:
	// nothing already read comes back.
	second := e.run(t, fastRetries(sms.srv.URL, ""))
	ev2, req2 := request(notification.ChannelSMS, "+8801711000005")
	ev2.Key = patient
	e.publish(t, ev2)
	e.waitStatus(t, req2.NotificationID, notification.StatusDelivered)
	for _, result := range []string{"skipped", "rejected", "duplicate"} {
		if got := second.metric(t, "zarish_notify_requests_total", "result", result); got != 0 {
			t.Errorf("second dispatcher: %s = %v, want 0", result, got)
		}
	}
	if len(sms.received()) != 2 {
		t.Errorf("provider received %d, want 2", len(sms.received()))
	}
}

func TestARequeuedDeadLetterIsDeliveredOnceTheProviderRecovers(t *testing.T) {
	e := newEnv(t)
	// The provider refuses the number (permanent), then, fixed, accepts.
	sms := startProvider(t, 400, 200)
	r := e.run(t, fastRetries(sms.srv.URL, ""))

	ev, req := request(notification.ChannelSMS, "+8801711000006")
	e.publish(t, ev)
	e.waitStatus(t, req.NotificationID, notification.StatusDead)
	eventually(t, 15*time.Second, "dead-letter gauge at 1", func() bool {
		return r.metric(t, "zarish_notify_dead_letters", "channel", "sms") == 1
	})
	time.Sleep(300 * time.Millisecond) // a dead letter is not retried on its own
	if got := len(sms.received()); got != 1 {
		t.Fatalf("provider received %d requests before the requeue, want 1", got)
	}

	// The operator's requeue goes through the store; the running dispatcher
	// finds it at its next poll.
	if _, err := e.store.Requeue(context.Background(), req.NotificationID, nil, "ops.karim", "provider fixed"); err != nil {
		t.Fatal(err)
	}
	n := e.waitStatus(t, req.NotificationID, notification.StatusDelivered)
	if want := []string{"dead", "requeued", "delivered"}; !slices.Equal(outcomes(n), want) || n.Attempts != 1 || n.Round != 1 {
		t.Errorf("after requeue: attempts %d, round %d, log %v, want %v", n.Attempts, n.Round, outcomes(n), want)
	}
	if hits := sms.received(); len(hits) != 2 || hits[1].NotificationID != req.NotificationID.String() {
		t.Errorf("provider received %+v", hits)
	}
	eventually(t, 15*time.Second, "dead-letter gauge back to 0", func() bool {
		return r.metric(t, "zarish_notify_dead_letters", "channel", "sms") == 0
	})

	// The request read again is still a duplicate: it is not delivered a
	// third time.
	e.publish(t, ev)
	eventually(t, 30*time.Second, "duplicate seen", func() bool {
		return r.metric(t, "zarish_notify_requests_total", "result", "duplicate") == 1
	})
	time.Sleep(200 * time.Millisecond)
	if got := len(sms.received()); got != 2 {
		t.Errorf("provider received %d requests, want 2", got)
	}
}
