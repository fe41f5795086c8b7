package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAPIDoesNotReachStorage: the REST edge reaches storage only through
// the interfaces its handlers declare, so nothing api is built from —
// directly or through another package — is integrations/postgres.
func TestAPIDoesNotReachStorage(t *testing.T) {
	const storage = "github.com/zarish-sphere/zarish/integrations/postgres"
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the package's dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, ".").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	listed := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		listed++
		pkg := fields[0]
		if pkg == storage || strings.HasPrefix(pkg, storage+"/") {
			t.Errorf("api depends on %s", pkg)
		}
		for _, imp := range fields[1:] {
			if imp == storage {
				t.Errorf("%s imports %s, and api is built from it", pkg, storage)
			}
		}
	}
	if listed < 10 {
		t.Fatalf("go list -deps listed only %d packages:\n%s", listed, out)
	}
}
