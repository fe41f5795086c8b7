package api

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	apiPackage      = "github.com/zarish-sphere/zarish/api"
	postgresPackage = "github.com/zarish-sphere/zarish/integrations/postgres"
	// authPackage still declares its storage with integrations/postgres's
	// types (OAuthClient, SignInFlow, UserCredentials, LockoutPolicy,
	// OAuthStore…), so the storage reaches api through it. Drop this
	// exclusion once integrations/auth declares its storage interfaces with
	// domain types.
	authPackage = "github.com/zarish-sphere/zarish/integrations/auth"
)

// TestAPIDoesNotImportStorage: the REST edge reaches storage only through
// the interfaces its handlers declare, so no package api is built from
// imports integrations/postgres, except through integrations/auth for now.
func TestAPIDoesNotImportStorage(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the package's dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, apiPackage).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", apiPackage, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", apiPackage, err)
	}
	imports := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			imports[fields[0]] = fields[1:]
		}
	}
	if _, ok := imports[apiPackage]; !ok {
		t.Fatalf("go list -deps %s did not list the package itself:\n%s", apiPackage, out)
	}
	// Walk api's imports, but not past integrations/auth: whatever is
	// reached is a dependency of api other than through auth alone.
	via := map[string]string{apiPackage: ""}
	queue := []string{apiPackage}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		if pkg == authPackage {
			continue
		}
		for _, imp := range imports[pkg] {
			if _, seen := via[imp]; !seen {
				via[imp] = pkg
				queue = append(queue, imp)
			}
		}
	}
	for pkg := range via {
		if pkg != postgresPackage && !strings.HasPrefix(pkg, postgresPackage+"/") {
			continue
		}
		chain := []string{pkg}
		for p := via[pkg]; p != ""; p = via[p] {
			chain = append(chain, p)
		}
		slices.Reverse(chain)
		t.Errorf("api depends on %s: %s", pkg, strings.Join(chain, " → "))
	}
}
