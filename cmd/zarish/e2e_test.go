package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// The end-to-end tests drive the stack `zarish dev` runs — embedded Temporal
// (SQLite file), embedded Kafka broker, the real PostgreSQL — over HTTP and
// Kafka, as a client app and a downstream consumer would.

type e2e struct {
	t      testing.TB
	cfg    config.Config
	stack  *devStack
	cancel context.CancelFunc
	done   chan error
	acting bool // the acting client is registered (actingToken)
}

// anyPort asks each embedded server to choose its own port. Nothing here
// probes a port and hands it on: a port released inside the kernel's
// ephemeral range is soon the local end of some outgoing connection.
const anyPort = "127.0.0.1:0"

// devConfig is the configuration of a dev stack on free ports, a fresh data
// dir and a fresh database; extra adds environment variables, name then value.
func devConfig(t testing.TB, extra ...string) config.Config {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":              pgtest.NewDatabase(t),
		"ZARISH_DATA_DIR":           t.TempDir(),
		"SERVICE_PORT":              "0",
		"ZARISH_TEMPORAL_LISTEN":    anyPort,
		"ZARISH_TEMPORAL_UI_LISTEN": anyPort,
		"ZARISH_KAFKA_LISTEN":       anyPort,
		"ZARISH_MAIL_LISTEN":        anyPort,
		"MLLP_LISTEN":               anyPort,
		"LOG_LEVEL":                 "warn",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startE2E(t testing.TB, cfg config.Config) *e2e {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stack, err := startDev(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("start dev stack: %v", err)
	}
	e := &e2e{t: t, cfg: cfg, stack: stack, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- stack.wait() }()
	t.Cleanup(e.stop)
	e.waitReady()
	return e
}

func (e *e2e) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("dev stack stopped with: %v", err)
		}
	case <-time.After(60 * time.Second):
		e.t.Errorf("dev stack did not stop within 60s")
	}
}

func (e *e2e) waitReady() {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(e.stack.APIURL + "/ready")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("not ready after 60s: %d %s", res.StatusCode, body)
			}
		} else if time.Now().After(deadline) {
			e.t.Fatalf("not ready after 60s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *e2e) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				e.t.Fatal(err)
			}
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, e.stack.APIURL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

func (e *e2e) token(clientID, secret, scope string) string {
	e.t.Helper()
	form := "grant_type=client_credentials"
	if scope != "" {
		form += "&scope=" + strings.ReplaceAll(scope, " ", "+")
	}
	req, _ := http.NewRequest(http.MethodPost, e.stack.APIURL+"/v1/auth/oauth2/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("token for %s: %d %s", clientID, res.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &tok); err != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") || tok.ExpiresIn <= 0 {
		e.t.Fatalf("token response %s: %v", raw, err)
	}
	return tok.AccessToken
}

// actingClientID is the machine client e2e tests act for practitioners with
// (an interface engine): every system scope, and system/Practitioner.act.
const actingClientID, actingClientSecret = "e2e-integration", "e2e-integration-secret"

// actingToken registers the acting client with `zarish admin
// create-client`, unless it is registered, and returns a token of it; each
// act that needs a person then names the practitioner with onBehalfOf.
func (e *e2e) actingToken() string {
	e.t.Helper()
	if !e.acting {
		logger := slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
		err := runAdmin(context.Background(), e.cfg, []string{"create-client", "--id", actingClientID, "--secret", actingClientSecret,
			"--scopes", "system/*.* " + access.ScopeActOnBehalf}, logger, io.Discard)
		if err != nil {
			e.t.Fatalf("create the acting client: %v", err)
		}
		e.acting = true
	}
	return e.token(actingClientID, actingClientSecret, "")
}

// onBehalfOf is the X-On-Behalf-Of header naming the practitioner a
// machine client acts for.
func onBehalfOf(practitioner string) []string {
	return []string{"X-On-Behalf-Of", "Practitioner/" + practitioner}
}

type patientJSON struct {
	ID      string `json:"id"`
	MRN     string `json:"mrn"`
	Version int    `json:"version"`
	Active  bool   `json:"active"`
	Name    struct {
		Given  []string `json:"given"`
		Family string   `json:"family"`
	} `json:"name"`
}

type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Details []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"details"`
	RequestID string `json:"requestId"`
}

func amina() map[string]any {
	return map[string]any{
		"name":              map[string]any{"given": []string{"Amina"}, "family": "Rahmán"},
		"birthDate":         "1987-04-12",
		"sex":               "female",
		"telecom":           []map[string]any{{"system": "phone", "value": "+880 1711-223344"}, {"system": "email", "value": "amina@example.org"}},
		"address":           []map[string]any{{"line": []string{"House 12, Road 5"}, "city": "Cox's Bazar", "country": "BD"}},
		"emergencyContacts": []map[string]any{{"name": "Karim Rahman", "relationship": "brother", "phone": "+8801811000111"}},
		"identifiers":       []map[string]any{{"system": "urn:bd:nid", "value": "19871234567890"}},
	}
}

func TestEndToEndPatientLifecycle(t *testing.T) {
	e := startE2E(t, devConfig(t))

	// Without a token, and with a bad one: 401 in the envelope.
	r := e.do(http.MethodGet, "/v1/patients", "", nil)
	var env errorJSON
	r.json(t, &env)
	if r.status != http.StatusUnauthorized || env.Error != "UNAUTHORIZED" || env.RequestID == "" || r.header.Get("X-Request-Id") != env.RequestID {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/v1/patients", "not-a-jwt", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("bad token: %d %s", r.status, r.body)
	}

	token := e.token(devClientID, "dev-secret", "")

	// Register.
	r = e.do(http.MethodPost, "/v1/patients", token, amina(), "Idempotency-Key", "reg-amina-1")
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var p patientJSON
	r.json(t, &p)
	if p.ID == "" || p.MRN == "" || p.Version != 1 || !p.Active || r.header.Get("ETag") != `"1"` ||
		r.header.Get("Location") != "/v1/patients/"+p.ID {
		t.Fatalf("registered patient: %s headers %v", r.body, r.header)
	}
	// The same Idempotency-Key returns the same patient, not a second one.
	r = e.do(http.MethodPost, "/v1/patients", token, amina(), "Idempotency-Key", "reg-amina-1")
	var again patientJSON
	r.json(t, &again)
	if r.status != http.StatusCreated || again.ID != p.ID || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("idempotent replay: %d %s", r.status, r.body)
	}

	// Found by a misspelled, unaccented, lower-case name.
	r = e.do(http.MethodGet, "/v1/patients?name=amina+rahmen", token, nil)
	var page struct {
		Data []patientJSON `json:"data"`
		Next *string       `json:"next"`
	}
	r.json(t, &page)
	if r.status != http.StatusOK || len(page.Data) == 0 || page.Data[0].ID != p.ID {
		t.Fatalf("search by misspelled name: %d %s", r.status, r.body)
	}
	// By MRN, and a mistyped MRN is a 400 about the check digit.
	if r := e.do(http.MethodGet, "/v1/patients/"+p.MRN, token, nil); r.status != http.StatusOK {
		t.Fatalf("get by MRN: %d %s", r.status, r.body)
	}
	typo := []byte(p.MRN)
	typo[1], typo[2] = typo[2], typo[1]
	if typo[1] == typo[2] {
		typo[1] = '0' + (typo[1]-'0'+1)%10
	}
	r = e.do(http.MethodGet, "/v1/patients/"+string(typo), token, nil)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "check digit") {
		t.Fatalf("mistyped MRN: %d %s", r.status, r.body)
	}

	// Update: missing If-Match 428, stale 412, current 200.
	change := amina()
	change["address"] = []map[string]any{{"city": "Dhaka", "country": "BD"}}
	if r := e.do(http.MethodPut, "/v1/patients/"+p.ID, token, change); r.status != http.StatusPreconditionRequired {
		t.Fatalf("update without If-Match: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPut, "/v1/patients/"+p.ID, token, change, "If-Match", `"1"`); r.status != http.StatusOK {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPut, "/v1/patients/"+p.ID, token, change, "If-Match", `"1"`)
	r.json(t, &env)
	if r.status != http.StatusPreconditionFailed || env.Error != "PRECONDITION_FAILED" {
		t.Fatalf("stale update: %d %s", r.status, r.body)
	}

	// Invalid input: every bad field reported, nothing stored.
	bad := map[string]any{
		"name":      map[string]any{"given": []string{}, "family": ""},
		"birthDate": "2023-02-30",
		"sex":       "f",
		"telecom":   []map[string]any{{"system": "email", "value": "not-an-email"}},
	}
	r = e.do(http.MethodPost, "/v1/patients", token, bad)
	r.json(t, &env)
	fields := map[string]bool{}
	for _, d := range env.Details {
		fields[d.Field] = true
	}
	for _, f := range []string{"name.family", "name.given", "birthDate", "sex", "telecom[0].value"} {
		if !fields[f] {
			t.Errorf("validation did not name %s: %s", f, r.body)
		}
	}
	if r.status != http.StatusBadRequest || env.Error != "VALIDATION_FAILED" {
		t.Fatalf("invalid registration: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/v1/patients", token, `{"name":{"given":["A"],"family":"B"},"birthDate":"1990-01-01","sex":"male","favouriteColour":"blue"}`); r.status != http.StatusBadRequest ||
		!strings.Contains(string(r.body), "favouriteColour") {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}

	// A client without write scope is refused with 403.
	var out bytes.Buffer
	if code := run([]string{"admin", "create-client", "--id", "reader", "--secret", "reader-secret", "--scopes", "system/Patient.read"},
		envOf(e.cfg), &out, &out); code != 0 {
		t.Fatalf("admin create-client: %d %s", code, out.String())
	}
	readToken := e.token("reader", "reader-secret", "")
	r = e.do(http.MethodPost, "/v1/patients", readToken, amina())
	r.json(t, &env)
	if r.status != http.StatusForbidden || env.Error != "FORBIDDEN" {
		t.Fatalf("write without scope: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/v1/patients/"+p.ID, readToken, nil); r.status != http.StatusOK {
		t.Fatalf("read with read scope: %d %s", r.status, r.body)
	}

	// Deactivate: never erased, still readable, inactive.
	r = e.do(http.MethodDelete, "/v1/patients/"+p.ID, token, nil)
	var gone patientJSON
	r.json(t, &gone)
	if r.status != http.StatusOK || gone.Active || gone.Version != 3 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}

	// The events reach the clinical topic in order, keyed by the patient id,
	// for a kafka-go consumer and for kcat alike.
	want := []string{"patient.created", "patient.updated", "patient.deactivated"}
	events := readEvents(t, e.stack.KafkaAddress, p.ID, len(want))
	for i, ev := range events {
		if ev.Type != want[i] || ev.Subject != "Patient/"+p.ID || ev.SpecVersion != "1.0" || ev.ID == "" {
			t.Errorf("event %d: %+v, want type %s", i, ev, want[i])
		}
	}
	kcatOut := kcatConsume(t, e.stack.KafkaAddress)
	for _, typ := range want {
		if !strings.Contains(kcatOut, p.ID+"\t") || !strings.Contains(kcatOut, `"type":"`+typ+`"`) {
			t.Errorf("kcat did not show %s for %s:\n%s", typ, p.ID, kcatOut)
		}
	}

	// Every access is in the audit trail, sealed into an intact chain and
	// streamed to the audit topic.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = e.do(http.MethodGet, "/v1/audit/verify", token, nil)
		var v struct {
			Intact   bool `json:"intact"`
			Checked  int  `json:"checked"`
			Unsealed int  `json:"unsealed"`
		}
		r.json(t, &v)
		if r.status != http.StatusOK || !v.Intact {
			t.Fatalf("audit verify: %d %s", r.status, r.body)
		}
		if v.Unsealed == 0 && v.Checked > 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit chain not sealed: %s", r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r = e.do(http.MethodGet, "/v1/audit/reports/disclosures?patientId="+p.ID, token, nil)
	var report struct {
		Count   int `json:"count"`
		Records []struct {
			Action string `json:"action"`
			Actor  struct {
				ClientID string `json:"clientId"`
			} `json:"actor"`
		} `json:"records"`
	}
	r.json(t, &report)
	if report.Count < 6 {
		t.Fatalf("disclosures for %s: %s", p.ID, r.body)
	}
	auditEvents := readTopic(t, e.stack.KafkaAddress, "zarish.audit.v1", p.ID, 3)
	for _, ev := range auditEvents {
		if !strings.HasPrefix(ev.Type, "audit.") {
			t.Errorf("audit topic carries %s", ev.Type)
		}
	}

	// Operations endpoints.
	r = e.do(http.MethodGet, "/health", "", nil)
	var health struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	r.json(t, &health)
	if health.Status != "healthy" || health.Checks["database"] != "healthy" || health.Checks["temporal"] != "healthy" || health.Checks["kafka"] != "healthy" {
		t.Fatalf("health: %s", r.body)
	}
	r = e.do(http.MethodGet, "/metrics", "", nil)
	for _, series := range []string{"http_request_duration_seconds", "http_requests_total", "active_connections"} {
		if !strings.Contains(string(r.body), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if r := e.do(http.MethodGet, "/v1/openapi.json", "", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"/v1/patients/{id}"`) {
		t.Fatalf("openapi: %d", r.status)
	}
	res, err := http.Get(e.stack.UIURL)
	if err != nil {
		t.Fatalf("temporal UI: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("temporal UI: %d", res.StatusCode)
	}
}

// TestEndToEndRestartKeepsData stops the stack and starts it again on the same
// data dir and database: what was registered is still there.
func TestEndToEndRestartKeepsData(t *testing.T) {
	cfg := devConfig(t)
	e := startE2E(t, cfg)
	token := e.token(devClientID, "dev-secret", "system/Patient.read system/Patient.write")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var p patientJSON
	r.json(t, &p)
	e.stop()

	// Same data dir and database; every server chooses its port again.
	e = startE2E(t, cfg)
	// The signing key lives in the data dir, so the old token still verifies.
	r = e.do(http.MethodGet, "/v1/patients/"+p.ID, token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("after restart: %d %s", r.status, r.body)
	}
}

func envOf(cfg config.Config) func(string) string {
	m := map[string]string{
		"DATABASE_URL": cfg.Database.URL.Reveal(),
		"LOG_LEVEL":    "warn",
	}
	return func(k string) string { return m[k] }
}

type cloudEvent struct {
	SpecVersion string          `json:"specversion"`
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Time        time.Time       `json:"time"`
	TraceParent string          `json:"traceparent"`
	Data        json.RawMessage `json:"data"`
}

// readEvents reads the clinical topic from the start with kafka-go and returns
// the first n events keyed by key.
func readEvents(t *testing.T, broker, key string, n int) []cloudEvent {
	t.Helper()
	return readTopic(t, broker, "zarish.clinical.v1", key, n)
}

// readTopic reads a topic from the start and returns the first n distinct
// events keyed by key; n 0 reads every one there is.
func readTopic(t *testing.T, broker, topic, key string, n int) []cloudEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", broker)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []cloudEvent
	seen := map[string]bool{}
	for _, part := range parts {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{broker}, Topic: part.Topic, Partition: part.ID, MaxWait: 100 * time.Millisecond})
		for n <= 0 || len(out) < n {
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			m, err := r.ReadMessage(pctx)
			pcancel()
			if err != nil {
				break
			}
			if string(m.Key) != key {
				continue
			}
			var ev cloudEvent
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Fatalf("event is not CloudEvents JSON: %s", m.Value)
			}
			if !seen[ev.ID] { // consumers dedupe on the event id
				seen[ev.ID] = true
				out = append(out, ev)
			}
		}
		r.Close()
	}
	if n > 0 && len(out) != n {
		t.Fatalf("got %d events for %s, want %d: %+v", len(out), key, n, out)
	}
	return out
}

// kcatConsume reads the clinical topic with kcat, a second real Kafka client.
func kcatConsume(t *testing.T, broker string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("kcat is required in CI (scripts/ensure-services.sh --with-kcat installs it)")
		}
		t.Skip("kcat not installed; `make test` installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-b", broker, "-t", "zarish.clinical.v1", "-C", "-e", "-q", "-f", "%k\t%s\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	return string(out)
}

// clientOptions are the options of a Temporal client of the stack's
// cluster that reads its payloads: sealed with the stack's key.
func (s *devStack) clientOptions() client.Options {
	opts := client.Options{HostPort: s.TemporalAddress, Namespace: "default"}
	if s.Codec != nil {
		opts.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), s.Codec)
	}
	return opts
}
