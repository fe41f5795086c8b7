//go:build faults

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/kafka"
)

// TestFaultBrokerDownThenBack stops the embedded broker for a minute,
// recording observations for several patients through the API at a steady
// pace while it is down, and starts it again on the same address and data
// dir. Meanwhile the API keeps
// answering 201 and /ready 200 (it waits for PostgreSQL alone), and the
// outbox backlog grows by exactly the events written (each observation's
// and its audit record's); once the broker is
// back the backlog drains to 0 and a Kafka consumer sees every event once
// after dedupe on the CloudEvent id, each patient's in the order written.
func TestFaultBrokerDownThenBack(t *testing.T) {
	cfg := faultConfig(t)
	e := startFaultStack(t, cfg)
	pool := faultDB(t, e)
	admin := e.token(devClientID, "dev-secret", "")
	acting := e.actingToken()
	asNurse := onBehalfOf(demoPractitionerID("nurse.nadia").String())
	const patients = 5
	const outage = time.Minute // how long the broker stays away
	var ids []string
	for range patients {
		r := e.do(http.MethodPost, "/v1/patients", admin, amina())
		var p patientJSON
		r.json(t, &p)
		if r.status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		ids = append(ids, p.ID)
	}
	unsent := func(query string, args ...any) int {
		return count(t, pool, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`+query, args...)
	}
	eventually(t, 30*time.Second, "the registrations relayed", func() bool { return unsent("") == 0 })

	// The broker goes away.
	addr := e.stack.KafkaAddress
	e.stack.broker.Close()
	down := time.Now()
	// A round of one potassium per patient each half second, for as long as
	// the broker is away.
	perPatient := 0
	for time.Since(down) < outage-5*time.Second {
		round := time.Now()
		for _, p := range ids {
			r := e.do(http.MethodPost, "/v1/observations", acting, map[string]any{
				"patientId": p, "code": "2823-3", "value": map[string]any{"value": 4.0 + float64(perPatient%10)/10, "unit": "mmol/L"},
				"effectiveAt": time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)}, asNurse...)
			if r.status != http.StatusCreated {
				t.Fatalf("observation %d of %s with the broker down: %d %s", perPatient, p, r.status, r.body)
			}
		}
		if r := e.do(http.MethodGet, "/ready", "", nil); r.status != http.StatusOK {
			t.Fatalf("/ready with the broker down: %d %s", r.status, r.body)
		}
		perPatient++
		time.Sleep(500*time.Millisecond - time.Since(round))
	}
	written := patients * perPatient
	if n := unsent(` AND type = 'observation.recorded'`); n != written {
		t.Fatalf("%d observation events waiting, want %d", n, written)
	}
	if n := unsent(` AND topic = $1`, kafka.TopicClinical); n != written {
		t.Fatalf("%d clinical events waiting, want the %d observations", n, written)
	}
	// Each observation's audit record waits beside it, for the audit topic.
	if n := unsent(` AND topic = $1`, kafka.TopicAudit); n != written {
		t.Fatalf("%d audit events waiting, want one per observation, %d", n, written)
	}
	waiting := unsent("")
	if waiting != 2*written {
		t.Fatalf("%d events waiting, want %d", waiting, 2*written)
	}
	var backlog float64
	eventually(t, 20*time.Second, "the backlog on /metrics counts every waiting event", func() bool {
		backlog = metricValue(t, e, "zarish_outbox_backlog_events")
		return backlog == float64(waiting)
	})
	eventually(t, 20*time.Second, "/health reports the broker unhealthy", func() bool {
		var h struct {
			Checks map[string]string `json:"checks"`
		}
		r := e.do(http.MethodGet, "/health", "", nil)
		return json.Unmarshal(r.body, &h) == nil && h.Checks["kafka"] == "unhealthy" && h.Checks["database"] == "healthy"
	})
	if r := e.do(http.MethodGet, "/ready", "", nil); r.status != http.StatusOK {
		t.Fatalf("/ready with the broker down: %d %s", r.status, r.body)
	}
	t.Logf("broker down %s: %d observations written (201 each), %d events waiting (zarish_outbox_backlog_events %v)",
		time.Since(down).Round(time.Millisecond), written, waiting, backlog)
	time.Sleep(outage - time.Since(down))

	// The broker comes back on the same address and data dir.
	var err error
	restarted := time.Now()
	for attempt := 0; ; attempt++ {
		if e.stack.broker, err = kafka.StartBroker(addr, faultLogger(t), kafka.WithDataDir(filepath.Join(cfg.DataDir, "kafka"))); err == nil {
			break
		}
		if attempt == 50 {
			t.Fatalf("restart the broker on %s: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	downFor := restarted.Sub(down)
	eventually(t, 60*time.Second, "the outbox drained", func() bool { return unsent("") == 0 })
	drained := time.Since(restarted)
	eventually(t, 20*time.Second, "zarish_outbox_backlog_events 0", func() bool {
		return metricValue(t, e, "zarish_outbox_backlog_events") == 0
	})
	t.Logf("broker outage %s; backlog %d events; drained %s after the broker was back",
		downFor.Round(time.Millisecond), waiting, drained.Round(time.Millisecond))

	// Every event once after dedupe, each patient's in outbox order.
	got, raw := readClinical(t, addr)
	for _, p := range ids {
		rows, err := pool.Query(context.Background(), `SELECT id::text FROM outbox WHERE topic = $1 AND key = $2 ORDER BY seq`, kafka.TopicClinical, p)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
		rows.Close()
		if len(want) != perPatient+1 { // patient.created, then the observations
			t.Fatalf("patient %s has %d clinical events in the outbox, want %d", p, len(want), perPatient+1)
		}
		if !slices.Equal(got[p], want) {
			t.Errorf("patient %s: Kafka carries %v, want %v in that order", p, got[p], want)
		}
	}
	t.Logf("%d Kafka messages for %d distinct events (%d redelivered)", raw, distinct(got), raw-distinct(got))
}

// readClinical reads every partition of the clinical topic at addr from
// the start to its end and returns, by key, the distinct event ids in the
// order they first appear, and how many messages there were.
func readClinical(t *testing.T, addr string) (map[string][]string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := kafkago.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(kafka.TopicClinical)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	seen := map[string]bool{}
	raw := 0
	for _, part := range parts {
		lc, err := kafkago.DialLeader(ctx, "tcp", addr, part.Topic, part.ID)
		if err != nil {
			t.Fatal(err)
		}
		last, err := lc.ReadLastOffset()
		lc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: part.Topic, Partition: part.ID, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("partition %d: %v", part.ID, err)
			}
			raw++
			var ev cloudEvent
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Fatalf("not CloudEvents JSON: %.200s", m.Value)
			}
			if !seen[ev.ID] {
				seen[ev.ID] = true
				out[string(m.Key)] = append(out[string(m.Key)], strings.ToLower(ev.ID))
			}
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return out, raw
}

func distinct(byKey map[string][]string) int {
	n := 0
	for _, ids := range byKey {
		n += len(ids)
	}
	return n
}
