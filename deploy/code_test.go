package deploy

// What the deployment is checked against, read from the code: the binary's
// roles and their flags (cmd/zarish is package main, so its source is
// parsed), the drain on stop, the configuration's variable names, the
// Temporal search attributes and the Kafka topics.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/config"
)

// role is one subcommand of the zarish binary.
type role struct {
	name string
	// fn is the function the commands table runs for it.
	fn string
	// flags are the names its flag set defines.
	flags []string
	// servesMetrics: it calls serveMetrics, the METRICS_PORT listener.
	servesMetrics bool
	// servesAPI: it serves the REST API (api.Routes) on SERVICE_PORT.
	servesAPI bool
}

// oneShotRoles run once and exit; the others run until stopped.
var oneShotRoles = []string{"migrate", "admin", "health", "version"}

// healthRole probes the running process beside it: the image's HEALTHCHECK.
const healthRole = "health"

// devRole runs everything on embedded servers: never deployed.
const devRole = "dev"

// temporalServerRole runs the Temporal server embedded on PostgreSQL: a
// cluster runs Temporal's own images (deploy/compose.yaml, and the
// cluster's Temporal service), so it has no workload of its own here.
const temporalServerRole = "temporal-server"

type codeFacts struct {
	roles         map[string]role
	shutdownGrace time.Duration
	traceFlush    time.Duration
	searchAttrs   map[string]string // name → enumspb constant
	kafkaTopics   []string
}

var (
	factsOnce sync.Once
	facts     codeFacts
	factsErr  []string
)

// code reads the facts once for every test.
func code(t *testing.T) codeFacts {
	t.Helper()
	factsOnce.Do(func() { facts, factsErr = readCode() })
	if len(factsErr) > 0 {
		t.Fatalf("reading the code: %s", strings.Join(factsErr, "; "))
	}
	return facts
}

func readCode() (codeFacts, []string) {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	f := codeFacts{roles: map[string]role{}}

	fset := token.NewFileSet()
	files := parseDir(fset, "../cmd/zarish", fail)
	funcs := map[string]*ast.FuncDecl{}
	for _, file := range files {
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	commands := varValue(files, "commands")
	lit, ok := commands.(*ast.CompositeLit)
	if !ok {
		fail("cmd/zarish: no `var commands = map[string]command{…}`")
	} else {
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			name, err := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
			if err != nil {
				fail("cmd/zarish commands: key %v", kv.Key)
				continue
			}
			cl, ok := kv.Value.(*ast.CompositeLit)
			if !ok || len(cl.Elts) < 2 {
				fail("cmd/zarish commands[%q]: want {summary, runFunc}", name)
				continue
			}
			fnIdent, ok := cl.Elts[1].(*ast.Ident)
			if !ok {
				fail("cmd/zarish commands[%q]: the run function is not a name", name)
				continue
			}
			r := role{name: name, fn: fnIdent.Name}
			if fd := funcs[r.fn]; fd != nil {
				r.flags, r.servesMetrics, r.servesAPI = inspectRole(fd)
			} else {
				fail("cmd/zarish: commands[%q] runs %s, which is not declared", name, r.fn)
			}
			f.roles[name] = r
		}
	}
	if len(f.roles) == 0 {
		fail("cmd/zarish: no roles found")
	}

	grace, ok := constValue(files, "shutdownGrace")
	if d, err := duration(grace); !ok || err != nil {
		fail("cmd/zarish: const shutdownGrace: %v", err)
	} else {
		f.shutdownGrace = d
	}
	// The trace flush after the role returns: the one timeout run() sets.
	if fd := funcs["run"]; fd == nil {
		fail("cmd/zarish: func run not found")
	} else {
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if ok && isSelector(call.Fun, "context", "WithTimeout") && len(call.Args) == 2 {
				if d, err := duration(call.Args[1]); err == nil {
					f.traceFlush = max(f.traceFlush, d)
				}
			}
			return true
		})
		if f.traceFlush == 0 {
			fail("cmd/zarish run: no context.WithTimeout(…, N*time.Second) for the trace flush")
		}
	}

	temporalFiles := parseFiles(fset, fail, "../integrations/temporal/devserver.go")
	f.searchAttrs = map[string]string{}
	if sa, ok := varValue(temporalFiles, "SearchAttributes").(*ast.CompositeLit); ok {
		for _, elt := range sa.Elts {
			kv := elt.(*ast.KeyValueExpr)
			name, _ := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
			if sel, ok := kv.Value.(*ast.SelectorExpr); ok {
				f.searchAttrs[name] = sel.Sel.Name
			} else {
				f.searchAttrs[name] = "?"
			}
		}
	}
	if len(f.searchAttrs) == 0 {
		fail("integrations/temporal: no SearchAttributes map")
	}

	kafkaFiles := parseFiles(fset, fail, "../integrations/kafka/topics.go")
	if tl, ok := varValue(kafkaFiles, "Topics").(*ast.CompositeLit); ok {
		for _, elt := range tl.Elts {
			id, ok := elt.(*ast.Ident)
			if !ok {
				fail("integrations/kafka Topics: %v is not a constant's name", elt)
				continue
			}
			v, ok := constValue(kafkaFiles, id.Name)
			bl, isLit := v.(*ast.BasicLit)
			if !ok || !isLit {
				fail("integrations/kafka: const %s not found", id.Name)
				continue
			}
			s, _ := strconv.Unquote(bl.Value)
			f.kafkaTopics = append(f.kafkaTopics, s)
		}
	}
	if len(f.kafkaTopics) == 0 {
		fail("integrations/kafka: no Topics")
	}
	return f, errs
}

// inspectRole reads a role function: the flags its flag set defines,
// whether it starts the metrics listener and whether it serves the API.
func inspectRole(fd *ast.FuncDecl) (flags []string, metrics, api bool) {
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "serveMetrics" {
			metrics = true
		}
		// The API is the role that builds apiParts and serves its router.
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "router" {
			api = true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "fs" {
			return true
		}
		arg := -1
		switch sel.Sel.Name {
		case "String", "Int", "Bool", "Duration", "Int64", "Uint", "Float64":
			arg = 0
		case "StringVar", "IntVar", "BoolVar", "DurationVar", "Int64Var", "UintVar", "Float64Var", "Var", "Func":
			arg = 1
			if sel.Sel.Name == "Func" {
				arg = 0
			}
		}
		if arg >= 0 && len(call.Args) > arg {
			if bl, ok := call.Args[arg].(*ast.BasicLit); ok && bl.Kind == token.STRING {
				name, _ := strconv.Unquote(bl.Value)
				flags = append(flags, name)
			}
		}
		return true
	})
	sort.Strings(flags)
	return flags, metrics, api
}

func parseDir(fset *token.FileSet, dir string, fail func(string, ...any)) []*ast.File {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(paths) == 0 {
		fail("%s: no Go files", dir)
		return nil
	}
	var keep []string
	for _, p := range paths {
		if !strings.HasSuffix(p, "_test.go") {
			keep = append(keep, p)
		}
	}
	return parseFiles(fset, fail, keep...)
}

func parseFiles(fset *token.FileSet, fail func(string, ...any), paths ...string) []*ast.File {
	var out []*ast.File
	for _, p := range paths {
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			fail("parse %s: %v", p, err)
			continue
		}
		out = append(out, f)
	}
	return out
}

// varValue is the initial value of the package-level var name.
func varValue(files []*ast.File, name string) ast.Expr {
	return specValue(files, token.VAR, name)
}

func constValue(files []*ast.File, name string) (ast.Expr, bool) {
	v := specValue(files, token.CONST, name)
	return v, v != nil
}

func specValue(files []*ast.File, tok token.Token, name string) ast.Expr {
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != tok {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if n.Name == name && i < len(vs.Values) {
						return vs.Values[i]
					}
				}
			}
		}
	}
	return nil
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg
}

// duration evaluates N * time.Second (or Millisecond, Minute) and
// time.Second alone.
func duration(e ast.Expr) (time.Duration, error) {
	units := map[string]time.Duration{"Millisecond": time.Millisecond, "Second": time.Second, "Minute": time.Minute}
	unit := func(e ast.Expr) (time.Duration, bool) {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return 0, false
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "time" {
			return 0, false
		}
		d, ok := units[sel.Sel.Name]
		return d, ok
	}
	if d, ok := unit(e); ok {
		return d, nil
	}
	be, ok := e.(*ast.BinaryExpr)
	if ok && be.Op == token.MUL {
		if bl, ok := be.X.(*ast.BasicLit); ok && bl.Kind == token.INT {
			if d, ok := unit(be.Y); ok {
				n, err := strconv.Atoi(bl.Value)
				return time.Duration(n) * d, err
			}
		}
	}
	return 0, fmt.Errorf("%T is not N*time.Unit", e)
}

// configNames are the variables config.Load reads, recorded as it reads them.
func configNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	if _, err := config.Load(func(name string) string { names[name] = true; return "" }); err != nil {
		t.Fatalf("config.Load with nothing set: %v", err)
	}
	if len(names) < 20 {
		t.Fatalf("config.Load read only %d variables: %v", len(names), names)
	}
	return names
}

// checkConfigNames reports every name config.Load never reads.
func checkConfigNames(t *testing.T, where string, names []string) {
	t.Helper()
	known := configNames(t)
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %s is not a configuration variable (config.Load never reads it)", where, n)
		}
	}
}

// serverRoles are the roles a deployment runs as long-lived processes.
func serverRoles(t *testing.T) []string {
	var out []string
	for name := range code(t).roles {
		if name != devRole && name != temporalServerRole && !slices.Contains(oneShotRoles, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// checkRoleArgs checks a container's arguments: a real role (one of
// allowed), and only flags that role defines. It returns the role.
func checkRoleArgs(t *testing.T, where string, args []string, allowed []string) string {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s: no arguments: the image's CMD would run the api role", where)
		return ""
	}
	r, ok := code(t).roles[args[0]]
	if !ok {
		t.Errorf("%s: %q is not a role of the zarish binary (cmd/zarish commands)", where, args[0])
		return ""
	}
	if !slices.Contains(allowed, r.name) {
		t.Errorf("%s: role %q is not one to run here (want one of %v)", where, r.name, allowed)
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(r.flags, name) {
			t.Errorf("%s: %s is not a flag of zarish %s (its flags: %v)", where, a, r.name, r.flags)
		}
	}
	return r.name
}

// flagValue is the value of --name in args ("--name v" or "--name=v").
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		trimmed := strings.TrimLeft(a, "-")
		if trimmed == a {
			continue
		}
		if k, v, ok := strings.Cut(trimmed, "="); ok && k == name {
			return v, true
		}
		if trimmed == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCodeFacts(t *testing.T) {
	f := code(t)
	for _, want := range []string{"api", "worker", "relay", "notify", "mllp", "migrate"} {
		if _, ok := f.roles[want]; !ok {
			t.Errorf("role %q not found in cmd/zarish (found %v)", want, f.roles)
		}
	}
	if w := f.roles["worker"]; !slices.Contains(w.flags, "queues") {
		t.Errorf("worker flags = %v, want queues among them", w.flags)
	}
	if !f.roles["api"].servesAPI || f.roles["relay"].servesAPI {
		t.Errorf("servesAPI: api %v, relay %v; want true, false", f.roles["api"].servesAPI, f.roles["relay"].servesAPI)
	}
	if f.shutdownGrace <= 0 || f.traceFlush <= 0 {
		t.Errorf("shutdownGrace %v, trace flush %v: want both above zero", f.shutdownGrace, f.traceFlush)
	}
	if _, ok := f.searchAttrs["PatientId"]; !ok {
		t.Errorf("search attributes %v lack PatientId", f.searchAttrs)
	}
	names := configNames(t)
	for _, n := range []string{"DATABASE_URL", "METRICS_PORT", "TEMPORAL_PAYLOAD_KEYS", "MLLP_LISTEN", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if !names[n] {
			t.Errorf("config.Load does not read %s", n)
		}
	}
	if names["DATABASE_URI"] {
		t.Error("config.Load reads DATABASE_URI: the recording getenv records what it is not asked")
	}
}
