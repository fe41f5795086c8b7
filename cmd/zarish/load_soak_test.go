package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"
	"time"
)

// procSample is the process, sampled: the engine runs in it.
type procSample struct {
	at         time.Duration
	heap, rss  uint64 // live heap in use after a collection; resident set
	goroutines int
	dbConns    int // the database's connections, but the sampler's own
}

// sample reads the process after a garbage collection, so the heap is
// what is live rather than when the collector last ran.
func (h *hospital) sample(at time.Duration) procSample {
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	s := procSample{at: at, heap: mem.HeapInuse, goroutines: runtime.NumGoroutine()}
	var err error
	if s.rss, err = procStatusBytes("VmRSS"); err != nil {
		h.b.Logf("RSS unknown: %v", err)
	}
	if err := h.db.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&s.dbConns); err != nil {
		h.b.Logf("database connections unknown: %v", err)
	}
	return s
}

// soakGrowthLimit is how much a soak's measure may grow, last third over
// first, before the soak fails.
const soakGrowthLimit = 1.5

// soakGrowth is the rule a soak fails on. The samples of the warm-up — the
// first fifth, at least the first sample, while the ward fills its caches,
// pools and workflow cache — are left out; the rest are split in thirds,
// and the measure grew without bound when the mean of the last third is
// more than soakGrowthLimit times the mean of the first. A leak grows
// steadily and fails; a process that levels off after the warm-up passes.
func soakGrowth(samples []procSample, of func(procSample) float64) (first, last float64, grew bool) {
	rest := samples[max(1, len(samples)/5):]
	k := len(rest) / 3
	if k == 0 {
		return 0, 0, false
	}
	mean := func(ss []procSample) float64 {
		sum := 0.0
		for _, s := range ss {
			sum += of(s)
		}
		return sum / float64(len(ss))
	}
	first, last = mean(rest[:k]), mean(rest[len(rest)-k:])
	return first, last, last > soakGrowthLimit*first
}

func printSamples(samples []procSample) {
	fmt.Printf("soak samples (live heap after a collection):\n\n")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "at\theap MB\tRSS MB\tgoroutines\tDB conns\t")
	for _, s := range samples {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%d\t%d\t\n", s.at.Round(time.Second), megabytes(s.heap), megabytes(s.rss), s.goroutines, s.dbConns)
	}
	tw.Flush()
	fmt.Println()
}
