package hl7v2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// oracleDir holds the Node programs that check this package against code
// nobody here wrote: a second parser and a real MLLP client.
var oracleDir = filepath.Join("testdata", "oracle")

var (
	nodeOnce sync.Once
	nodeErr  error
)

// requireNode makes sure node and the oracle's npm packages are there,
// installing the packages (at the versions package.json pins, without a
// lock file) when they are missing. It fails, never skips: these tests are
// how the package is known to agree with other readers.
func requireNode(t *testing.T) {
	t.Helper()
	nodeOnce.Do(func() { nodeErr = installOracle() })
	if nodeErr != nil {
		t.Fatalf("%v\nrun scripts/ensure-services.sh --with-node to install Node.js and npm", nodeErr)
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-package-lock", "--no-audit", "--no-fund")
	cmd.Dir = oracleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return errors.New("npm install in " + oracleDir + " failed: " + err.Error() + "\n" + string(out))
	}
	if _, err := os.Stat(filepath.Join(oracleDir, "package-lock.json")); err == nil {
		return errors.New("npm wrote " + oracleDir + "/package-lock.json: it records where each package was downloaded from and must not be kept")
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
	b, err := os.ReadFile(filepath.Join(oracleDir, "package.json"))
	if err != nil || json.Unmarshal(b, &pkg) != nil {
		return false
	}
	for name, version := range pkg.Dependencies {
		var got struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join(oracleDir, "node_modules", name, "package.json"))
		if err != nil || json.Unmarshal(b, &got) != nil || got.Version != version {
			return false
		}
	}
	return true
}

// runNode runs a script of the oracle folder and decodes the JSON it prints
// into v.
func runNode(t *testing.T, v any, script string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = oracleDir
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
