package temporal

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
)

// TestEnsureSearchAttributesUpgradesAnOlderNamespace: a dev database made
// before AlertStatus existed gets it on the next start.
func TestEnsureSearchAttributesUpgradesAnOlderNamespace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	file := filepath.Join(t.TempDir(), "temporal.db")
	start := func() (*DevServer, func()) {
		srv, err := StartDevServer(ctx, DevServerConfig{FrontendAddress: "127.0.0.1:0", Namespace: "default", DatabaseFile: file}, logger)
		if err != nil {
			t.Fatal(err)
		}
		return srv, srv.Stop
	}

	kind := SearchAttributes["AlertStatus"]
	delete(SearchAttributes, "AlertStatus") // what an older build registered
	_, stop := start()
	stop()
	SearchAttributes["AlertStatus"] = kind

	srv, stop := start()
	defer stop()
	c, err := Dial(ctx, ClientConfig{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := before.GetCustomAttributes()["AlertStatus"]; ok {
		t.Fatal("the older namespace already had AlertStatus: the test shows nothing")
	}
	for range 2 { // the second finds nothing missing
		if err := EnsureSearchAttributes(ctx, c, srv.Namespace()); err != nil {
			t.Fatal(err)
		}
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name := range SearchAttributes {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			t.Errorf("%s is not registered", name)
		}
	}
	for name, kind := range StartSearchAttributes {
		if got := have.GetCustomAttributes()[name]; got != kind {
			t.Errorf("%s is registered as %v, want %v", name, got, kind)
		}
	}
}

// The compose stack's namespace script and the runbook register every
// start-only search attribute with its type.
func TestStartSearchAttributesAreRegisteredEverywhere(t *testing.T) {
	script, err := os.ReadFile("../../deploy/temporal/namespace.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^start_attributes="([^"]*)"`).FindSubmatch(script)
	if m == nil {
		t.Fatal(`deploy/temporal/namespace.sh: no start_attributes="…" line`)
	}
	runbook, err := os.ReadFile("../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range strings.Fields(string(m[1])) {
		name, typ, _ := strings.Cut(a, ":")
		got[name] = typ
	}
	want := map[string]string{}
	for name, kind := range StartSearchAttributes {
		if _, dup := SearchAttributes[name]; dup {
			t.Errorf("%s is in both SearchAttributes and StartSearchAttributes", name)
		}
		typ := map[enumspb.IndexedValueType]string{enumspb.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
			enumspb.INDEXED_VALUE_TYPE_DATETIME: "Datetime"}[kind]
		want[name] = typ
		line := "--name " + name + " --type " + typ
		if !strings.Contains(string(runbook), line) {
			t.Errorf("docs/runbook.md has no %q", line)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("deploy/temporal/namespace.sh registers %v, StartSearchAttributes has %v", got, want)
	}
}
