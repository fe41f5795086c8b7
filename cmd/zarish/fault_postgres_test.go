//go:build faults

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaultPostgresRestartedUnderLoad runs the engine on a PostgreSQL
// server of its own and stops that server (an immediate shutdown, as a
// crash leaves it) while clients register patients. While it is down the
// API answers 503 — /ready and the writes alike — and it recovers when
// the server returns, without a restart of its own. Every registration is
// sent again with its Idempotency-Key until answered 201: each ends as
// exactly one patient, with its one version and its one outbox event, and
// no row of a write that failed is left behind.
func TestFaultPostgresRestartedUnderLoad(t *testing.T) {
	pg := startPrivatePostgres(t)
	e := startFaultStack(t, faultConfig(t, "DATABASE_URL", pg.url, "RATE_LIMIT_PER_MINUTE", "0", "DATABASE_TIMEOUT", "2s"))
	admin := e.token(devClientID, "dev-secret", "")

	const clients = 4
	var stop atomic.Bool
	var mu sync.Mutex
	ids := map[string]string{} // Idempotency-Key → patient id
	refused := map[int]int{}   // answers other than 201, by status (0: none)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				key := fmt.Sprintf("pg-fault-%d-%d", c, n)
				for {
					r, err := e.call(http.MethodPost, "/v1/patients", admin, amina(), "Idempotency-Key", key)
					if err == nil && r.status == http.StatusCreated {
						var p patientJSON
						if json.Unmarshal(r.body, &p) != nil || p.ID == "" {
							t.Errorf("registration %s: %s", key, r.body)
							return
						}
						mu.Lock()
						ids[key] = p.ID
						mu.Unlock()
						break
					}
					mu.Lock()
					refused[r.status]++
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	registered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(ids)
	}
	ready := func() int {
		r, err := e.call(http.MethodGet, "/ready", "", nil)
		if err != nil {
			return 0
		}
		return r.status
	}
	eventually(t, 60*time.Second, "registrations under way", func() bool { return registered() >= 20 })

	pg.stop(t)
	down := time.Now()
	eventually(t, 30*time.Second, "the API unready while PostgreSQL is down", func() bool { return ready() == http.StatusServiceUnavailable })
	before := registered()
	// A write sent now is refused with 503 and a clear error.
	r, err := e.call(http.MethodPost, "/v1/patients", admin, amina(), "Idempotency-Key", "pg-fault-during")
	if err != nil || r.status != http.StatusServiceUnavailable {
		t.Errorf("a registration while PostgreSQL is down: %v %d %s, want 503", err, r.status, r.body)
	}
	time.Sleep(5 * time.Second) // the outage lasts
	if n := registered(); n != before {
		t.Errorf("%d registrations answered 201 while PostgreSQL was down", n-before)
	}
	pg.start(t)
	up := time.Now()
	eventually(t, 60*time.Second, "the API ready again", func() bool { return ready() == http.StatusOK })
	unavailable, recovered := time.Since(down), time.Since(up)
	after := registered()
	eventually(t, 60*time.Second, "registrations answered again", func() bool { return registered() >= after+20 })
	stop.Store(true)
	wg.Wait()

	pool := faultDB(t, e)
	want := registered()
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	if len(distinct) != want {
		t.Errorf("%d keys answered with %d distinct patients; a key's retries made another", want, len(distinct))
	}
	if n := count(t, pool, `SELECT count(*) FROM patients`); n != want {
		t.Errorf("%d patients stored, %d registrations answered 201", n, want)
	}
	if n := count(t, pool, `SELECT count(*) FROM patient_versions`); n != want {
		t.Errorf("%d patient versions stored, want one per patient (%d)", n, want)
	}
	if n := count(t, pool, `SELECT count(DISTINCT key) FROM outbox WHERE type LIKE '%patient.created'`); n != want {
		t.Errorf("%d patients have a registered event in the outbox, want %d", n, want)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox WHERE type LIKE '%patient.created'`); n != want {
		t.Errorf("%d registered events in the outbox, want %d", n, want)
	}
	t.Logf("PostgreSQL stopped for 5s under %d clients: API unready %s from the stop, ready %s after the server was back; %d registrations, refusals by status %v",
		clients, unavailable.Round(100*time.Millisecond), recovered.Round(100*time.Millisecond), want, refused)
}

// privatePG is a PostgreSQL server of the test's own, on a port of its own,
// that the test may stop and start.
type privatePG struct {
	bin, dir, data string
	port           int
	url            string
	asPostgres     bool // the machine's postgres user runs it: the test runs as root
}

// startPrivatePostgres initialises a cluster in a fresh directory with the
// machine's PostgreSQL binaries and starts it; it is stopped and removed
// when the test ends.
func startPrivatePostgres(t *testing.T) *privatePG {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("no PostgreSQL server binaries under /usr/lib/postgresql (scripts/ensure-services.sh installs them)")
	}
	dir, err := os.MkdirTemp("", "zarish-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg := &privatePG{bin: filepath.Dir(bins[len(bins)-1]), dir: dir, data: filepath.Join(dir, "data"), port: freePort(t)}
	t.Cleanup(func() {
		_ = pg.command("pg_ctl", "-D", pg.data, "stop", "-m", "immediate").Run()
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		pg.asPostgres = true
	}
	if out, err := pg.command("initdb", "-D", pg.data, "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.url = "postgres://postgres@127.0.0.1:" + strconv.Itoa(pg.port) + "/postgres?sslmode=disable"
	pg.start(t)
	return pg
}

func (pg *privatePG) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(pg.bin, name)
	if pg.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// start starts the server and waits until it accepts connections.
func (pg *privatePG) start(t *testing.T) {
	t.Helper()
	opts := "-c listen_addresses=127.0.0.1 -p " + strconv.Itoa(pg.port) + " -k " + pg.dir + " -c max_connections=200"
	out, err := pg.command("pg_ctl", "-D", pg.data, "-l", filepath.Join(pg.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop stops the server at once, as a crash would: no checkpoint, clients
// cut off.
func (pg *privatePG) stop(t *testing.T) {
	t.Helper()
	if out, err := pg.command("pg_ctl", "-D", pg.data, "stop", "-m", "immediate", "-w").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}
