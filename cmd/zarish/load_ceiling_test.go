package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// counters are the database's committed transactions and the events on
// the engine's topics, read before and after the day.
type counters struct {
	commits int64
	events  int64
}

func (h *hospital) counters() counters {
	ctx := context.Background()
	var c counters
	// A backend reports its counts when it goes idle; ask for them now.
	if _, err := h.db.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		h.b.Logf("flush statistics: %v", err)
	}
	if err := h.db.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.commits); err != nil {
		h.b.Fatal(err)
	}
	kc := &kafkago.Client{Addr: kafkago.TCP(h.e.stack.KafkaAddress), Timeout: 10 * time.Second}
	req := &kafkago.ListOffsetsRequest{Addr: kc.Addr, Topics: map[string][]kafkago.OffsetRequest{}}
	for _, t := range kafka.Topics {
		for p := range kafka.BrokerPartitions {
			req.Topics[t] = append(req.Topics[t], kafkago.LastOffsetOf(p))
		}
	}
	res, err := kc.ListOffsets(ctx, req)
	if err != nil {
		h.b.Fatal(err)
	}
	for _, parts := range res.Topics {
		for _, p := range parts {
			if p.Error != nil {
				h.b.Fatal(p.Error)
			}
			c.events += p.LastOffset
		}
	}
	return c
}

// ceiling is what the stack's servers do with nothing of the engine in
// the way, measured after the day on the same stack.
type ceiling struct {
	noop, fair float64 // workflows/s: no-op; started and sent four no-op Updates
	inserts    float64 // single-row INSERT transactions/s
	produced   float64 // events/s produced as the relay produces
	poolSize   int32
}

func (h *hospital) ceilings() ceiling {
	c := ceiling{poolSize: h.e.cfg.Database.PoolSize}
	c.noop, c.fair = h.temporalCeilings()
	c.inserts = h.postgresCeiling(c.poolSize)
	c.produced = h.kafkaCeiling()
	return c
}

// temporalCeilings are BenchmarkEncounterThroughput's two ceilings: no-op
// workflows, and fourUpdates, the encounter's round trips (a start and four
// Updates), 16 at a time.
func (h *hospital) temporalCeilings() (noop, fair float64) {
	const concurrency, runs = 16, 100
	c, err := client.Dial(h.e.stack.clientOptions())
	if err != nil {
		h.b.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "bench-noop", worker.Options{})
	w.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "NoOp"})
	w.RegisterWorkflowWithOptions(fourUpdates, workflow.RegisterOptions{Name: "FourUpdates"})
	if err := w.Start(); err != nil {
		h.b.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	noop = perSecond(concurrency, runs, func(int) {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "bench-noop"}, "NoOp")
		if err == nil {
			err = run.Get(ctx, nil)
		}
		if err != nil {
			h.b.Error(err)
		}
	})
	fair = perSecond(concurrency, runs, func(int) {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "bench-noop"}, "FourUpdates")
		for i := 0; err == nil && i < 4; i++ {
			var u client.WorkflowUpdateHandle
			u, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
				UpdateName: "step", Args: []any{i}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err == nil {
				err = u.Get(ctx, nil)
			}
		}
		if err == nil {
			err = run.Get(ctx, nil)
		}
		if err != nil {
			h.b.Error(err)
		}
	})
	return noop, fair
}

// ceilingFor is how long each of the PostgreSQL and Kafka ceilings runs.
const ceilingFor = 3 * time.Second

// postgresCeiling is single-row INSERT transactions per second into a
// scratch table of the engine's database, through a pool as large as the
// engine's, every connection busy.
func (h *hospital) postgresCeiling(size int32) float64 {
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, postgres.PoolConfig{URL: h.e.cfg.Database.URL.Reveal(), MaxConns: size}, slog.New(slog.DiscardHandler))
	if err != nil {
		h.b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE load_ceiling (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), body jsonb NOT NULL)`); err != nil {
		h.b.Fatal(err)
	}
	defer pool.Exec(ctx, `DROP TABLE load_ceiling`)
	return timedRate(h.b, int(size), func() error {
		_, err := pool.Exec(ctx, `INSERT INTO load_ceiling (body) VALUES ($1)`, `{"code":"8867-4","value":80,"unit":"/min"}`)
		return err
	})
}

// timedRate runs one on n goroutines for ceilingFor and returns how many
// ran per second.
func timedRate(b *testing.B, n int, one func() error) float64 {
	var done atomic.Int64
	start := time.Now()
	end := start.Add(ceilingFor)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := one(); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// kafkaCeiling is events per second produced to the embedded broker by the
// relay's own publisher (kafka-go, acks from all replicas), in batches as
// large as the relay reads when it is behind, one batch at a time as the
// relay sends them, to a scratch topic of as many partitions as the
// engine's, each event a CloudEvent of about the size of a clinical one.
func (h *hospital) kafkaCeiling() float64 {
	const topic = "zarish.load-ceiling"
	ctx := context.Background()
	kc := &kafkago.Client{Addr: kafkago.TCP(h.e.stack.KafkaAddress), Timeout: 10 * time.Second}
	res, err := kc.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Addr: kc.Addr, Topics: []kafkago.TopicConfig{
		{Topic: topic, NumPartitions: kafka.BrokerPartitions, ReplicationFactor: 1}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
		h.b.Fatal(err)
	}
	pub := kafka.NewPublisher([]string{h.e.stack.KafkaAddress}, nil)
	defer pub.Close()
	batch := make([]postgres.OutboxEvent, kafka.DefaultBatchSize)
	patients := make([]string, 500)
	for i := range patients {
		patients[i] = uuid.NewString()
	}
	sent := 0
	start := time.Now()
	for time.Since(start) < ceilingFor {
		for i := range batch {
			key := patients[(sent+i)%len(patients)]
			batch[i] = postgres.OutboxEvent{ID: uuid.New(), Topic: topic, Key: key, Type: "observation.recorded",
				Source: "/v1/observations", Subject: "Observation/" + uuid.NewString(), Time: time.Now().UTC(),
				Data: json.RawMessage(fmt.Sprintf(`{"patientId":%q,"code":"8867-4","value":%d,"unit":"/min"}`, key, 60+i%40))}
		}
		if err := pub.Publish(ctx, batch); err != nil {
			h.b.Fatal(err)
		}
		sent += len(batch)
	}
	return float64(sent) / time.Since(start).Seconds()
}
