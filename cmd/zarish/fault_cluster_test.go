//go:build faults

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/workers"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// TestFaultClusterOnPostgres runs the engine the way production does, each
// role its own process: `zarish temporal-server` on PostgreSQL persistence
// (its own two databases, schemas set up by the process itself), then api,
// relay, notify and two `zarish worker --queues all` processes serving the
// same queues, on a Kafka-protocol broker. Encounters are driven from
// arrival to discharge and an alert is emailed; half-way the Temporal
// server is killed (kill -9) and started again on the same databases. Every
// encounter ends discharged exactly once, both worker processes completed
// workflow tasks, every outbox event reached the broker once, and the
// alert's one email was delivered once by the notify process.
func TestFaultClusterOnPostgres(t *testing.T) {
	bin := faultBinary(t)
	dir := t.TempDir()
	engineDB := pgtest.NewDatabase(t)
	temporalDB := temporalDatabase(t)
	broker, err := kafka.StartBroker(anyPort, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	mail := startRefusingSMTP(t)
	mail.set(250)
	_, mailPort, _ := net.SplitHostPort(mail.addr)

	frontend := "127.0.0.1:" + strconv.Itoa(freePort(t))
	apiPort := freePort(t)
	apiURL := "http://127.0.0.1:" + strconv.Itoa(apiPort)
	signingKey := filepath.Join(dir, "signing-key.pem")
	writeSigningKey(t, signingKey)
	common := []string{
		"DATABASE_URL=" + engineDB,
		"TEMPORAL_ADDRESS=" + frontend,
		"TEMPORAL_NAMESPACE=zarish",
		"TEMPORAL_PAYLOAD_KEYS=" + newPayloadKey(t),
		"KAFKA_BROKERS=" + broker.Addr(),
		"JWT_ISSUER=" + apiURL,
		"JWT_SECRET=" + strings.Repeat("c", 32),
		"JWT_SIGNING_KEY_FILE=" + signingKey,
		"ALERT_FALLBACK_CONTACT=" + devFallbackContact,
		"SMTP_HOST=127.0.0.1", "SMTP_PORT=" + mailPort, "SMTP_TLS=none", "SMTP_FROM=zarish@localhost",
		"SERVICE_HOST=127.0.0.1",
		"LOG_LEVEL=warn",
		// Seven processes on one PostgreSQL server of 100 connections.
		"DATABASE_POOL_SIZE=5",
		"TEMPORAL_SERVER_POOL_SIZE=3",
		"ZARISH_DATA_DIR=" + dir,
	}
	if out, err := roleCommand(bin, common, "migrate").CombinedOutput(); err != nil {
		t.Fatalf("zarish migrate: %v\n%s", err, out)
	}
	temporalEnv := append(common, "TEMPORAL_SERVER_DATABASE_URL="+temporalDB, "TEMPORAL_SERVER_LISTEN="+frontend,
		"METRICS_PORT="+strconv.Itoa(freePort(t)))
	server := startRole(t, bin, temporalEnv, "temporal-server")
	waitLine(t, server, "temporal server: "+frontend, 3*time.Minute)

	startRole(t, bin, append(common, "SERVICE_PORT="+strconv.Itoa(apiPort), "METRICS_PORT="), "api")
	relayMetrics := strconv.Itoa(freePort(t))
	startRole(t, bin, append(common, "METRICS_PORT="+relayMetrics), "relay")
	startRole(t, bin, append(common, "METRICS_PORT="), "notify")
	first := startRole(t, bin, append(common, "METRICS_PORT="), "worker", "--queues", "all")
	second := startRole(t, bin, append(common, "METRICS_PORT="), "worker", "--queues", "all")

	cfg, err := config.Load(func(k string) string {
		for _, kv := range common {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v
			}
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, cfg: cfg, stack: &devStack{APIURL: apiURL, TemporalAddress: frontend, KafkaAddress: broker.Addr()}}
	e.waitReady()
	tc, err := client.Dial(client.Options{HostPort: frontend, Namespace: "zarish"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	waitPollers(t, tc, workers.QueueEncounters, first.identity(), second.identity())

	if err := runAdmin(context.Background(), cfg, []string{"create-client", "--id", actingClientID, "--secret", actingClientSecret,
		"--scopes", "system/*.* system/Practitioner.act"}, faultLogger(t), os.Stdout); err != nil {
		t.Fatal(err)
	}
	e.acting = true
	ops := e.actingToken()
	r := e.do(http.MethodPost, "/v1/clinical/practitioners", ops, map[string]any{"name": "Dr Farida Alam", "roles": []string{"physician"},
		"units": []string{"ed-majors"}, "contacts": []map[string]string{{"system": "email", "value": "farida@hospital.example"}}})
	var doctor struct {
		ID string `json:"id"`
	}
	r.json(t, &doctor)
	if r.status != http.StatusCreated {
		t.Fatalf("register the physician: %d %s", r.status, r.body)
	}
	clinician := onBehalfOf(doctor.ID)
	r = e.do(http.MethodPost, "/v1/patients", ops, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}

	const total = 12
	ids := make([]string, total)
	steps := []struct {
		name, status string
		body         map[string]any
	}{
		{"arrive", "arrived", map[string]any{}},
		{"triage", "triaged", map[string]any{"acuity": 3, "chiefComplaint": "abdominal pain"}},
		{"start", "in-progress", map[string]any{"attending": doctor.ID}},
		{"discharge", "discharged", map[string]any{"disposition": "home"}},
	}
	var unavailable time.Duration // the longest a transition waited across the restart
	var mu sync.Mutex
	advance := func(id string, from, to int) error {
		for _, s := range steps[from:to] {
			began := time.Now()
			for {
				r, err := e.call(http.MethodPost, "/v1/clinical/encounters/"+id+"/"+s.name, ops, s.body, clinician...)
				if err == nil && r.status == http.StatusOK {
					break
				}
				if err == nil && r.status == http.StatusConflict {
					// Sent again after an answer lost to the restart: the
					// read model says whether it went through.
					var v encounter.Record
					if g, err := e.call(http.MethodGet, "/v1/clinical/encounters/"+id, ops, nil); err == nil && json.Unmarshal(g.body, &v) == nil && string(v.Status) == s.status {
						break
					}
				}
				if time.Since(began) > 3*time.Minute {
					return fmt.Errorf("encounter %s: %s not through within 3m: %v %d %s", id, s.name, err, r.status, r.body)
				}
				time.Sleep(250 * time.Millisecond)
			}
			mu.Lock()
			unavailable = max(unavailable, time.Since(began))
			mu.Unlock()
		}
		return nil
	}
	parallel := func(each func(i int) error) {
		var wg sync.WaitGroup
		for i := range total {
			wg.Go(func() {
				if err := each(i); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	parallel(func(i int) error {
		r, err := e.call(http.MethodPost, "/v1/clinical/encounters", ops, map[string]any{
			"patientId": p.ID, "class": "emergency", "reason": "abdominal pain", "location": "ed-majors", "triageDeadlineMinutes": 120},
			"Idempotency-Key", fmt.Sprintf("cluster-encounter-%d", i))
		if err != nil || r.status != http.StatusCreated {
			return fmt.Errorf("start encounter %d: %v %d %s", i, err, r.status, r.body)
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r.body, &out); err != nil || out.ID == "" {
			return fmt.Errorf("start encounter %d: %s", i, r.body)
		}
		ids[i] = out.ID
		return advance(out.ID, 0, 2)
	})

	// The Temporal server dies with every encounter open and triaged, and
	// comes back on the same databases.
	server.kill()
	down := time.Now()
	server = startRole(t, bin, temporalEnv, "temporal-server")
	waitLine(t, server, "temporal server: "+frontend, 3*time.Minute)
	back := time.Since(down)
	parallel(func(i int) error { return advance(ids[i], 2, 4) })
	t.Logf("temporal server on PostgreSQL: down and back serving in %s; the longest transition across it waited %s",
		back.Round(100*time.Millisecond), unavailable.Round(100*time.Millisecond))

	// Every encounter's workflow completed once, and the two worker
	// processes shared the work.
	eventually(t, 60*time.Second, "every encounter workflow completed", func() bool {
		return countWorkflowsIn(t, tc, "zarish", "WorkflowType = '"+encounterflow.WorkflowName+"' AND ExecutionStatus = 'Completed'") == total
	})
	if n := countWorkflowsIn(t, tc, "zarish", "WorkflowType = '"+encounterflow.WorkflowName+"'"); n != total {
		t.Errorf("%d encounter workflows, want %d", n, total)
	}
	byIdentity := map[string]int{}
	for _, id := range ids {
		it := tc.GetWorkflowHistory(context.Background(), encounterflow.WorkflowID(uuid.MustParse(id)), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatalf("history of encounter %s: %v", id, err)
			}
			if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
				for _, w := range []*roleProcess{first, second} {
					if strings.Contains(a.GetIdentity(), w.identity()) {
						byIdentity[w.identity()]++
					}
				}
			}
		}
	}
	if byIdentity[first.identity()] == 0 || byIdentity[second.identity()] == 0 {
		t.Errorf("workflow tasks completed by each worker process: %v; want both", byIdentity)
	}

	// Every outbox event was published, once each after dedupe.
	pool := faultDB(t, e)
	for deadline := time.Now().Add(60 * time.Second); count(t, pool, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`) > 0; {
		if time.Now().After(deadline) {
			rows, _ := pool.Query(context.Background(), `SELECT topic || ' ' || type || ' ' || count(*) FROM outbox WHERE sent_at IS NULL GROUP BY topic, type`)
			unsent, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			res, _ := http.Get("http://127.0.0.1:" + relayMetrics + "/metrics")
			var metrics []byte
			if res != nil {
				metrics, _ = io.ReadAll(res.Body)
				res.Body.Close()
			}
			t.Fatalf("outbox events unsent after 60s: %v\nrelay metrics:\n%s", unsent, grepLines(string(metrics), "zarish_outbox"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range ids[:3] {
		want := count(t, pool, `SELECT count(*) FROM outbox WHERE topic = $1 AND data::text LIKE '%' || $2 || '%'`, kafka.TopicClinical, id)
		if want == 0 {
			t.Fatalf("encounter %s wrote no clinical events", id)
		}
	}
	byKey, _ := readClinical(t, broker.Addr())
	if got, want := len(byKey[p.ID]), count(t, pool, `SELECT count(*) FROM outbox WHERE topic = $1 AND key = $2`, kafka.TopicClinical, p.ID); got != want {
		t.Errorf("the broker holds %d distinct clinical events of the patient, the outbox %d", got, want)
	}

	// An alert to the physician is emailed by the notify process, once.
	r = e.do(http.MethodPost, "/v1/notifications/policies", ops, map[string]any{"id": "cluster", "levels": []map[string]any{{
		"recipients": []map[string]any{{"kind": "practitioner", "practitionerId": doctor.ID}},
		"channels":   []string{"email"}, "ackTimeoutSeconds": 600}}})
	if r.status != http.StatusCreated {
		t.Fatalf("policy: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/notifications/alerts", ops, map[string]any{"patientId": p.ID, "unit": "ed-majors", "severity": "critical",
		"category": "lab", "message": "Potassium 6.9 mmol/L", "source": "lab/cluster", "policyId": "cluster"}, clinician...)
	var raised struct {
		ID string `json:"id"`
	}
	r.json(t, &raised)
	if r.status != http.StatusCreated && r.status != http.StatusAccepted {
		t.Fatalf("raise the alert: %d %s", r.status, r.body)
	}
	eventually(t, 60*time.Second, "the alert's email delivered", func() bool {
		ds := deliveries(t, e, ops, "alertId="+raised.ID)
		return len(ds) == 1 && ds[0].Status == "delivered"
	})
	if taken := mail.accepted(); len(taken) != 1 {
		t.Errorf("the SMTP server took %d messages, want 1", len(taken))
	}
}

// temporalDatabase names a database for a Temporal server of its own (it
// and its _visibility twin are created by the server), dropped after the test.
func temporalDatabase(t *testing.T) string {
	t.Helper()
	name := "temporal_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_") + "_" + strconv.Itoa(os.Getpid())
	base := "postgres://postgres@127.0.0.1:5432/"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base+"postgres?sslmode=disable")
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		for _, db := range []string{name, name + "_visibility"} {
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Logf("drop %s: %v", db, err)
			}
		}
	})
	return base + name + "?sslmode=disable"
}

// freePort is a port on 127.0.0.1 nothing listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", anyPort)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeSigningKey writes a fresh P-256 token signing key as PEM.
func writeSigningKey(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newPayloadKey is a TEMPORAL_PAYLOAD_KEYS value of one fresh key.
func newPayloadKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return "cluster-1:" + base64.StdEncoding.EncodeToString(k)
}

// waitLine waits until the process has printed want.
func waitLine(t *testing.T, p *roleProcess, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.out.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("%s exited before printing %q:\n%s", p.cmd.Args[1], want, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %s:\n%s", p.cmd.Args[1], want, within, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
