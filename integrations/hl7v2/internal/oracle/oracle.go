// Package oracle runs the Node.js programs that check the HL7 v2 package
// against code nobody here wrote — npm's @medplum/hl7, a second parser, and
// node-hl7-client, a real MLLP client — from the tests of the HL7 v2
// packages. It installs their npm packages, at the versions package.json
// pins and without a lock file, when they are missing, and fails (never
// skips) when Node.js is not there.
package oracle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Dir holds the Node programs and their package.json.
var Dir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "oracle")
}()

var (
	once    sync.Once
	onceErr error
)

// Require makes sure node and the oracle's npm packages are there,
// installing the packages (at the versions package.json pins, without a
// lock file) when they are missing. It fails, never skips: these tests are
// how the package is known to agree with other readers.
func Require(t testing.TB) {
	t.Helper()
	once.Do(func() { onceErr = installOracle() })
	if onceErr != nil {
		t.Fatalf("%v\nrun scripts/ensure-services.sh --with-node to install Node.js and npm", onceErr)
	}
}

func installOracle() error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return errors.New("the oracle tests need " + tool + ", which is not on PATH")
		}
	}
	if oraclePackagesInstalled() {
		return nil
	}
	// The test binaries of several packages may install at once (go test
	// -p): one installs while the others wait on the lock, then find the
	// packages there.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "zarish-hl7-oracle.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if oraclePackagesInstalled() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-package-lock", "--no-audit", "--no-fund")
	cmd.Dir = Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return errors.New("npm install in " + Dir + " failed: " + err.Error() + "\n" + string(out))
	}
	if _, err := os.Stat(filepath.Join(Dir, "package-lock.json")); err == nil {
		return errors.New("npm wrote " + Dir + "/package-lock.json: it records where each package was downloaded from and must not be kept")
	}
	if !oraclePackagesInstalled() {
		return errors.New("npm install did not install the versions package.json pins")
	}
	return nil
}

// oraclePackagesInstalled reports whether node_modules holds every
// dependency of package.json at the version it pins.
func oraclePackagesInstalled() bool {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(Dir, "package.json"))
	if err != nil || json.Unmarshal(b, &pkg) != nil {
		return false
	}
	for name, version := range pkg.Dependencies {
		var got struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join(Dir, "node_modules", name, "package.json"))
		if err != nil || json.Unmarshal(b, &got) != nil || got.Version != version {
			return false
		}
	}
	return true
}

// Run runs a script of the oracle folder and decodes the JSON it prints
// into v.
func Run(t testing.TB, v any, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.Bytes())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("node %s printed what is not JSON: %v\n%.500s", script, err, out)
	}
}
