package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BenchmarkWorkflowOverhead measures what payload sealing and tracing cost
// per workflow on one embedded server: the fair ceiling's workflow (a start
// and four Updates with validators, an encounter's round trips) run by a
// client and worker that are plain, that seal every payload with
// AES-256-GCM (the stack's codec), that trace every call (the SDK's
// OpenTelemetry interceptor, every span sampled, batched and encoded), and
// that do both. The four run in turn, round after round, so drift on a shared
// machine lands on all of them alike; each is reported in workflows per
// second and its time per workflow beside the plain one's in the same
// round (the median over the rounds). Run it with -benchtime 1x.
func BenchmarkWorkflowOverhead(b *testing.B) {
	const (
		concurrency = 16
		perRound    = 60
		rounds      = 5
	)
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0", "ZARISH_TEMPORAL_UI_LISTEN", "off"))
	if e.stack.Codec == nil {
		b.Fatal("the dev stack seals no payloads")
	}
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithBatcher(exporter))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	type variant struct {
		name          string
		sealed, trace bool
		c             client.Client
		queue         string
		elapsed       time.Duration
		done          int
		ratios        []float64 // time per workflow over plain's, each round
	}
	variants := []*variant{{name: "plain"}, {name: "sealed", sealed: true}, {name: "traced", trace: true}, {name: "sealed+traced", sealed: true, trace: true}}
	for _, v := range variants {
		opts := client.Options{HostPort: e.stack.TemporalAddress, Namespace: "default"}
		if v.sealed {
			opts.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), e.stack.Codec)
		}
		if v.trace {
			tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
				Tracer: tp.Tracer("zarish-bench"), TextMapPropagator: propagation.TraceContext{}})
			if err != nil {
				b.Fatal(err)
			}
			opts.Interceptors = []interceptor.ClientInterceptor{tracing}
		}
		if v.c, err = client.Dial(opts); err != nil {
			b.Fatal(err)
		}
		defer v.c.Close()
		v.queue = "bench-overhead-" + v.name
		w := worker.New(v.c, v.queue, worker.Options{})
		w.RegisterWorkflowWithOptions(fourUpdates, workflow.RegisterOptions{Name: "FourUpdates"})
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
	}

	one := func(v *variant) error {
		ctx := context.Background()
		run, err := v.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: v.queue}, "FourUpdates")
		for i := 0; err == nil && i < 4; i++ {
			var h client.WorkflowUpdateHandle
			h, err = v.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
				UpdateName: "step", Args: []any{i}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err == nil {
				err = h.Get(ctx, nil)
			}
		}
		if err == nil {
			err = run.Get(ctx, nil)
		}
		return err
	}
	round := func(v *variant) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan int)
		for range concurrency {
			wg.Go(func() {
				for range next {
					if err := one(v); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range perRound {
			next <- i
		}
		close(next)
		wg.Wait()
		_ = tp.ForceFlush(context.Background()) // the spans' export is part of the cost
		took := time.Since(start)
		v.elapsed += took
		v.done += perRound
		return took
	}

	for b.Loop() {
		for _, v := range variants {
			v.elapsed, v.done, v.ratios = 0, 0, nil
		}
		for r := range rounds {
			// Each round starts with another variant, so none always runs
			// first or last; its times are compared within the round.
			took := map[*variant]time.Duration{}
			for i := range variants {
				v := variants[(r+i)%len(variants)]
				took[v] = round(v)
			}
			for _, v := range variants[1:] {
				v.ratios = append(v.ratios, took[v].Seconds()/took[variants[0]].Seconds())
			}
		}
		plain := variants[0]
		b.ReportMetric(float64(plain.done)/plain.elapsed.Seconds(), "plain-wf/s")
		for _, v := range variants[1:] {
			slices.Sort(v.ratios)
			median := v.ratios[len(v.ratios)/2]
			b.ReportMetric(float64(v.done)/v.elapsed.Seconds(), v.name+"-wf/s")
			b.ReportMetric(100*(median-1), v.name+"-%time")
			b.Logf("%s: %.1f workflows/s; time per workflow %+.1f %% beside plain (median of %d rounds; all %s)",
				v.name, float64(v.done)/v.elapsed.Seconds(), 100*(median-1), rounds, fmt.Sprint(v.ratios))
		}
		b.Logf("plain: %.1f workflows/s", float64(plain.done)/plain.elapsed.Seconds())
	}
}
