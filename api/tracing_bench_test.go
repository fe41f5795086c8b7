package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace/noop"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/integrations/telemetry"
)

// BenchmarkTracingOverhead measures what tracing adds to a request: a
// patient read (GET /v1/patients/:id, audited) and an observation write
// (POST /v1/observations) through the real router and stores, each served
// with tracing off (the no-op provider, what OTEL_TRACES_EXPORTER=none
// leaves) and on (the provider telemetry.Setup installs: every span
// sampled, batched, and turned into an OTLP export request by the OTLP
// exporter, encoded as its gRPC client sends it, then discarded). The pool
// is the one production opens, so the database client's spans — one per
// statement — are part of "on".
//
// A request's time is mostly PostgreSQL's (the audit record is a commit),
// which on a busy machine varies far more than tracing costs; so off and
// on run in alternating blocks of requests in one loop, and the overhead
// is the median, over adjacent pairs of blocks, of the difference of their
// means. Each "on" block ends by flushing its batch, so its time, CPU and
// allocations include exporting every span it made.
//
// ns/op and allocs/op are of one request, off and on alike; per mode it
// reports off-ns/req and on-ns/req (median block means), off-allocs/req and
// on-allocs/req, the process's CPU time (off-cpu-µs/req, on-cpu-µs/req),
// the overhead in wall time (overhead-µs/req, overhead-% of off) and in CPU
// time (overhead-cpu-µs/req), and the spans a request made (spans/req, of
// which db-spans/req are PostgreSQL's).
// Run it long enough for a few dozen pairs, e.g. -benchtime=4000x.
func BenchmarkTracingOverhead(b *testing.B) {
	pool := pgtest.NewPool(b)
	patient := pgtest.Patient(b, pool)
	token := practitionerToken(nurseID)
	effective := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	cases := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"read", func() *http.Request {
			req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/v1/patients/"+patient.String(), nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			return req
		}, http.StatusOK},
		{"write", func() *http.Request {
			req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/v1/observations",
				strings.NewReader(quantityJSON(patient, "8867-4", 72, "/min", effective)))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			return req
		}, http.StatusCreated},
	}

	// What was installed is put back after. Before anything was, it is the
	// default provider, which from the first installation on delegates to
	// that first one: the no-op provider below, so it stays a no-op.
	prevProvider, prevPropagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	b.Cleanup(func() {
		otel.SetTracerProvider(prevProvider)
		otel.SetTextMapPropagator(prevPropagator)
	})
	// telemetry.Setup installs the propagator whichever the exporter.
	otel.SetTextMapPropagator(telemetry.Propagator)

	exported := &discardClient{}
	exporter, err := otlptrace.New(context.Background(), exported)
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL,
			semconv.ServiceName("zarish"), semconv.ServiceVersion("bench"), semconv.ServiceInstanceID("api-bench"))),
	)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	off := noop.NewTracerProvider()

	// The API's middleware takes its tracer when the router is built and
	// the database client asks for one per statement, so each mode has its
	// own router, built and served under its own global provider.
	deps, _ := serviceDeps(pool)
	deps.Patients = postgres.NewPatientStore(pool)
	deps.Observations = postgres.NewObservationStore(pool)
	otel.SetTracerProvider(off)
	untraced := NewRouter(deps)
	otel.SetTracerProvider(tp)
	traced := NewRouter(deps)

	const block = 64
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var (
				modes       [2]blockStats // off, on
				mode        int
				served      int
				spans, dbSp = exported.spans.Load(), exported.dbSpans.Load()
				began       = blockStart()
				onRequests  int
			)
			otel.SetTracerProvider(off)
			for b.Loop() {
				h := untraced
				if mode == 1 {
					h = traced
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, tc.req())
				if rec.Code != tc.want {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				if served++; served < block {
					continue
				}
				if mode == 1 {
					if err := tp.ForceFlush(context.Background()); err != nil {
						b.Fatal(err)
					}
					onRequests += served
				}
				ended := blockEnd()
				modes[mode].add(began, ended, served)
				mode, served = 1-mode, 0
				if mode == 1 {
					otel.SetTracerProvider(tp)
				} else {
					otel.SetTracerProvider(off)
				}
				began = blockStart()
			}
			otel.SetTracerProvider(off)
			if mode == 1 {
				onRequests += served // a last block cut short, whose spans are counted too
			}
			if err := tp.ForceFlush(context.Background()); err != nil {
				b.Fatal(err)
			}
			pairs := min(len(modes[0].wall), len(modes[1].wall))
			if pairs == 0 {
				b.Logf("fewer than %d requests in each mode: no figures (run with -benchtime=4000x)", 2*block)
				return
			}
			offWall, onWall := median(modes[0].wall), median(modes[1].wall)
			b.ReportMetric(offWall, "off-ns/req")
			b.ReportMetric(onWall, "on-ns/req")
			b.ReportMetric(median(modes[0].cpu)/1e3, "off-cpu-µs/req")
			b.ReportMetric(median(modes[1].cpu)/1e3, "on-cpu-µs/req")
			b.ReportMetric(modes[0].allocsPerRequest(), "off-allocs/req")
			b.ReportMetric(modes[1].allocsPerRequest(), "on-allocs/req")
			wallDiff, cpuDiff := make([]float64, pairs), make([]float64, pairs)
			for i := range pairs {
				wallDiff[i] = modes[1].wall[i] - modes[0].wall[i]
				cpuDiff[i] = modes[1].cpu[i] - modes[0].cpu[i]
			}
			b.ReportMetric(median(wallDiff)/1e3, "overhead-µs/req")
			b.ReportMetric(median(wallDiff)/offWall*100, "overhead-%")
			b.ReportMetric(median(cpuDiff)/1e3, "overhead-cpu-µs/req")
			b.ReportMetric(float64(exported.spans.Load()-spans)/float64(onRequests), "spans/req")
			b.ReportMetric(float64(exported.dbSpans.Load()-dbSp)/float64(onRequests), "db-spans/req")
		})
	}
}

// point is where a block of requests began or ended: the wall clock, the
// process's CPU time and the allocations made so far. What reading them
// costs falls outside the block: a beginning is read clock last, an end
// clock first.
type point struct {
	at      time.Time
	cpu     time.Duration
	mallocs uint64
}

func blockStart() point {
	var p point
	p.mallocs = mallocs()
	p.cpu = cpuTime()
	p.at = time.Now()
	return p
}

func blockEnd() point {
	var p point
	p.at = time.Now()
	p.cpu = cpuTime()
	p.mallocs = mallocs()
	return p
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// cpuTime is the CPU time the process has used, in user and system mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// blockStats are one mode's blocks: the mean wall and CPU nanoseconds of a
// request in each, and the allocations of all of them.
type blockStats struct {
	wall, cpu         []float64
	requests, mallocs uint64
}

func (s *blockStats) add(began, ended point, requests int) {
	s.wall = append(s.wall, float64(ended.at.Sub(began.at).Nanoseconds())/float64(requests))
	s.cpu = append(s.cpu, float64((ended.cpu-began.cpu).Nanoseconds())/float64(requests))
	s.requests += uint64(requests)
	s.mallocs += ended.mallocs - began.mallocs
}

func (s *blockStats) allocsPerRequest() float64 { return float64(s.mallocs) / float64(s.requests) }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// discardClient is the OTLP exporter's transport reduced to its encoding:
// it builds and marshals the export request the gRPC client sends, counts
// the spans in it and sends nothing.
type discardClient struct {
	spans, dbSpans atomic.Int64
}

var _ otlptrace.Client = (*discardClient)(nil)

func (*discardClient) Start(context.Context) error { return nil }
func (*discardClient) Stop(context.Context) error  { return nil }

func (c *discardClient) UploadTraces(_ context.Context, spans []*tracepb.ResourceSpans) error {
	if _, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: spans}); err != nil {
		return err
	}
	for _, rs := range spans {
		for _, ss := range rs.ScopeSpans {
			c.spans.Add(int64(len(ss.Spans)))
			if ss.Scope.GetName() == "github.com/zarish-sphere/zarish/integrations/postgres" {
				c.dbSpans.Add(int64(len(ss.Spans)))
			}
		}
	}
	return nil
}
