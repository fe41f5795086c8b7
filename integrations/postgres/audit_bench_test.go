package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// BenchmarkAuditAppend measures appending audit records (event, outbox row
// and seal-queue row in one transaction) from several goroutines while the
// sealer runs: one record per call (as the API appends one per request) from 8
// and from 64 concurrent callers, and batches of 100 from 8. It reports
// records/s and how long the sealer took to catch up once writing stopped.
func BenchmarkAuditAppend(b *testing.B) {
	pool := pgtest.NewPool(b)
	store := postgres.NewAuditStore(pool)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sealer := postgres.NewAuditSealer(pool, nil)
	done := make(chan error, 1)
	go func() { done <- sealer.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	for _, bc := range []struct{ batch, callers int }{{1, 8}, {1, 64}, {100, 8}} {
		batch := bc.batch
		b.Run(fmt.Sprintf("batch=%d/callers=%d", batch, bc.callers), func(b *testing.B) {
			var failed atomic.Value
			b.SetParallelism(max(1, bc.callers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				records := make([]audit.Record, batch)
				for pb.Next() {
					for i := range records {
						p := uuid.New()
						records[i] = auditRecord(time.Now(), &p)
					}
					if err := store.Append(context.Background(), records...); err != nil {
						failed.Store(err)
						return
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "records/s")

			// The sealer must keep up: time until it has sealed everything.
			backlog, _, err := postgres.AuditBacklog(context.Background(), pool)
			if err != nil {
				b.Fatal(err)
			}
			drain := time.Now()
			for backlog > 0 {
				if time.Since(drain) > time.Minute {
					b.Fatalf("sealer still %d records behind after a minute", backlog)
				}
				time.Sleep(5 * time.Millisecond)
				if backlog, _, err = postgres.AuditBacklog(context.Background(), pool); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(drain).Milliseconds()), "catch-up-ms")
		})
	}
}

// BenchmarkAuditSeal measures the sealer alone: records sealed per second
// from a queue filled beforehand.
func BenchmarkAuditSeal(b *testing.B) {
	pool := pgtest.NewPool(b)
	store := postgres.NewAuditStore(pool)
	for _, batch := range []int{500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			sealer := postgres.NewAuditSealer(pool, nil, postgres.WithSealBatchSize(batch))
			records := make([]audit.Record, 0, 1000)
			for left := b.N; left > 0; left -= len(records) {
				records = records[:0]
				for range min(left, 1000) {
					p := uuid.New()
					records = append(records, auditRecord(time.Now(), &p))
				}
				if err := store.Append(context.Background(), records...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start := time.Now()
			sealed := sealAll(b, sealer)
			elapsed := time.Since(start)
			b.StopTimer()
			if sealed != b.N {
				b.Fatalf("sealed %d, want %d", sealed, b.N)
			}
			b.ReportMetric(float64(sealed)/elapsed.Seconds(), "records/s")
		})
	}
}
