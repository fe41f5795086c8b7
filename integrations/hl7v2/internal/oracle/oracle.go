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
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/internal/npmpin"
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
	return npmpin.Install(Dir, "zarish-hl7-oracle.lock", 5*time.Minute)
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
