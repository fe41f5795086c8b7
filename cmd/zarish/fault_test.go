//go:build faults

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/config"
)

// The fault suite (make test-faults) breaks one part of the real stack at a
// time — a worker process killed, the broker or the Temporal server stopped
// and started again — and checks that every process still ends exactly
// once: the counts of workflows, rows, events and notifications.

// faultBin is the zarish binary the suite runs as separate processes, built
// once for every test and removed after the last.
var faultBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if faultBin.dir != "" {
		_ = os.RemoveAll(faultBin.dir)
	}
	os.Exit(code)
}

// faultBinary builds ./cmd/zarish once and returns the binary's path.
func faultBinary(t *testing.T) string {
	t.Helper()
	faultBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "zarish-faults-")
		if err != nil {
			faultBin.err = err
			return
		}
		faultBin.dir = dir
		path := filepath.Join(dir, "zarish")
		out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput()
		if err != nil {
			faultBin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		faultBin.path = path
	})
	if faultBin.err != nil {
		t.Fatal(faultBin.err)
	}
	return faultBin.path
}

// faultConfig is devConfig without the Temporal Web UI, which no fault test
// looks at and which would have to follow the server through a restart.
func faultConfig(t *testing.T, extra ...string) config.Config {
	t.Helper()
	return devConfig(t, append([]string{"ZARISH_TEMPORAL_UI_LISTEN", "off"}, extra...)...)
}

// startFaultStack is startE2E with options for the stack (which queues its
// own workers serve).
func startFaultStack(t *testing.T, cfg config.Config, opts ...func(*devStack)) *e2e {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stack, err := startDev(ctx, cfg, faultLogger(t), opts...)
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

func faultLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// faultHTTP answers the calls the suite makes from several goroutines at
// once; an answer lost to a fault is an error to retry, not a test failure.
var faultHTTP = &http.Client{Timeout: 90 * time.Second}

// call is e.do for any goroutine: the transport error is returned.
func (e *e2e) call(method, path, token string, body any, headers ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.stack.APIURL+path, rd)
	if err != nil {
		return response{}, err
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
	res, err := faultHTTP.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: raw}, err
}

// faultDB opens the stack's database for the suite's own counts.
func faultDB(t *testing.T, e *e2e) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), e.cfg.Database.URL.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// count runs a query of one integer.
func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// faultTemporal is a client of the stack's cluster that opens its payloads.
func faultTemporal(t *testing.T, e *e2e) client.Client {
	t.Helper()
	tc, err := client.Dial(e.stack.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// countWorkflows counts the workflows of the visibility query.
func countWorkflows(t *testing.T, tc client.Client, query string) int {
	t.Helper()
	return countWorkflowsIn(t, tc, "default", query)
}

// countWorkflowsIn counts the workflows of the visibility query in namespace.
func countWorkflowsIn(t *testing.T, tc client.Client, namespace, query string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
	if err != nil {
		t.Fatalf("count workflows %q: %v", query, err)
	}
	return int(res.GetCount())
}

// metricValue is the value of an unlabelled series on the API's /metrics.
func metricValue(t *testing.T, e *e2e, name string) float64 {
	t.Helper()
	r := e.do(http.MethodGet, "/metrics", "", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("/metrics has no %s", name)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// roleProcess is a zarish process of one role (a worker, the api, the
// Temporal server, …) the suite started and stops.
type roleProcess struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// startWorkerProcess runs `zarish worker --queues queues` against the
// stack: its Temporal frontend with its payload key, its database and
// broker.
func startWorkerProcess(t *testing.T, bin string, e *e2e, queues string) *roleProcess {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(e.cfg.DataDir, "temporal-payload.key"))
	if err != nil {
		t.Fatalf("the dev stack's payload key: %v", err)
	}
	return startRole(t, bin, []string{
		"DATABASE_URL=" + e.cfg.Database.URL.Reveal(),
		"TEMPORAL_ADDRESS=" + e.stack.TemporalAddress,
		"TEMPORAL_NAMESPACE=" + e.cfg.Temporal.Namespace,
		"TEMPORAL_PAYLOAD_KEYS=" + strings.TrimSpace(string(key)),
		"KAFKA_BROKERS=" + e.stack.KafkaAddress,
		"ALERT_FALLBACK_CONTACT=" + devFallbackContact,
		"LOG_LEVEL=warn",
		"METRICS_PORT=",
	}, "worker", "--queues", queues)
}

// startRole runs `zarish <args>` with env beside the test's own
// environment, stopped (SIGTERM, then kill) when the test ends; what it
// said is logged when the test fails.
func startRole(t *testing.T, bin string, env []string, args ...string) *roleProcess {
	t.Helper()
	cmd := roleCommand(bin, env, args...)
	w := &roleProcess{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.out, w.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		w.stop()
		if t.Failed() {
			t.Logf("zarish %s (pid %d) said:\n%s", strings.Join(args, " "), cmd.Process.Pid, w.out.String())
		}
	})
	return w
}

// roleCommand is `zarish <args>` with env beside the process's own.
func roleCommand(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// identity is what the Temporal identity of the process's workers holds:
// the service registry's instance id, host-pid-suffix.
func (w *roleProcess) identity() string { return "-" + strconv.Itoa(w.cmd.Process.Pid) + "-" }

// kill is kill -9.
func (w *roleProcess) kill() {
	_ = w.cmd.Process.Kill()
	<-w.done
}

// stop asks the worker to drain (SIGTERM), then kills it.
func (w *roleProcess) stop() {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.kill()
	}
}

// waitPollers waits until a worker of each identity polls queue.
func waitPollers(t *testing.T, tc client.Client, queue string, identities ...string) {
	t.Helper()
	eventually(t, 60*time.Second, "every worker process polls "+queue, func() bool {
		res, err := tc.DescribeTaskQueue(context.Background(), queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return false
		}
		for _, id := range identities {
			found := false
			for _, p := range res.GetPollers() {
				found = found || strings.Contains(p.GetIdentity(), id)
			}
			if !found {
				return false
			}
		}
		return true
	})
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
