package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/workers"
)

func TestKustomizationListsEveryManifest(t *testing.T) {
	c := loadCluster(t)
	var want []string
	for _, f := range c.files {
		if f != secretExample {
			want = append(want, f)
		}
	}
	got := slices.Clone(c.resources)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources = %v, want every manifest beside it: %v", got, want)
	}
	if slices.Contains(c.resources, secretExample) {
		t.Errorf("kustomization.yaml lists %s: the Secret is created from a secret store, never applied from the repository", secretExample)
	}
	for k, v := range c.secret {
		if !strings.Contains(v, "CHANGE-ME") {
			t.Errorf("%s: %s holds a value that is not a CHANGE-ME placeholder", secretExample, k)
		}
	}
	if len(c.images) != 1 || c.images[0].Name != image || c.images[0].NewTag == "" {
		t.Errorf("kustomization.yaml images = %+v, want one entry for %q with a tag", c.images, image)
	}
	for _, w := range c.workloads() {
		for _, ct := range w.Spec.Template.Spec.Containers {
			if ct.Image != image {
				t.Errorf("%s: container %s image %q, want %q (set by kustomization.yaml images)", w.m, ct.Name, ct.Image, image)
			}
		}
	}
}

func TestOneWorkerDeploymentAndAutoscalerPerQueue(t *testing.T) {
	c := loadCluster(t)
	byQueue := map[string][]*workload{}
	for _, w := range c.deployments {
		if w.role != "worker" {
			continue
		}
		args := w.Spec.Template.Spec.Containers[0].Args
		v, ok := flagValue(args, "queues")
		if !ok {
			t.Errorf("%s: worker without --queues runs every queue in one Deployment", w.m)
			continue
		}
		qs, err := workers.ParseQueues(v)
		if err != nil || len(qs) != 1 || v == "all" {
			t.Errorf("%s: --queues %q must name exactly one queue (%v)", w.m, v, err)
			continue
		}
		byQueue[qs[0]] = append(byQueue[qs[0]], w)
	}
	for _, q := range workers.Queues {
		ws := byQueue[q]
		if len(ws) != 1 {
			t.Errorf("queue %s: %d worker Deployments, want exactly one", q, len(ws))
			continue
		}
		w := ws[0]
		if got := w.Spec.Template.Metadata.Labels["zarish/queue"]; got != q {
			t.Errorf("%s: label zarish/queue %q, want %q", w.m, got, q)
		}
		var targeting []*hpa
		for _, h := range c.hpas {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == w.m.Metadata.Name {
				targeting = append(targeting, h)
			}
		}
		if len(targeting) != 1 {
			t.Errorf("queue %s: %d HorizontalPodAutoscalers target %s, want one", q, len(targeting), w.m.Metadata.Name)
			continue
		}
		h := targeting[0]
		if h.m.APIVersion != "autoscaling/v2" || h.Spec.ScaleTargetRef.APIVersion != "apps/v1" {
			t.Errorf("%s: apiVersion %s targeting %s, want autoscaling/v2 targeting apps/v1", h.m, h.m.APIVersion, h.Spec.ScaleTargetRef.APIVersion)
		}
		cpu := false
		for _, m := range h.Spec.Metrics {
			cpu = cpu || m.Type == "Resource" && m.Resource != nil && m.Resource.Name == "cpu" &&
				m.Resource.Target.Type == "Utilization" && m.Resource.Target.AverageUtilization > 0
		}
		if !cpu || h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < h.Spec.MinReplicas {
			t.Errorf("%s: want a CPU utilization metric and 1 ≤ minReplicas ≤ maxReplicas (got %+v)", h.m, h.Spec)
		}
	}
	for q := range byQueue {
		if !slices.Contains(workers.Queues, q) {
			t.Errorf("a worker Deployment for queue %q, which workers.Queues does not have", q)
		}
	}
	// A Deployment an autoscaler owns names no replicas: each apply would
	// reset the count.
	for _, h := range c.hpas {
		found := false
		for _, w := range c.deployments {
			if w.m.Metadata.Name == h.Spec.ScaleTargetRef.Name {
				found = true
				if w.Spec.Replicas != nil {
					t.Errorf("%s sets replicas: %d, but %s owns the count", w.m, *w.Spec.Replicas, h.m)
				}
			}
		}
		if !found {
			t.Errorf("%s targets %s, which is not a Deployment here", h.m, h.Spec.ScaleTargetRef.Name)
		}
	}
}

func TestWorkloadsRunTheBinarysRoles(t *testing.T) {
	c := loadCluster(t)
	deployed := map[string]bool{}
	for _, w := range c.deployments {
		if len(w.Spec.Template.Spec.Containers) != 1 {
			t.Errorf("%s: %d containers, want the one zarish container", w.m, len(w.Spec.Template.Spec.Containers))
			continue
		}
		ct := w.Spec.Template.Spec.Containers[0]
		if len(ct.Command) > 0 {
			t.Errorf("%s: command %v replaces the image's ENTRYPOINT /zarish; give the role in args", w.m, ct.Command)
		}
		if r := checkRoleArgs(t, w.m.String(), ct.Args, serverRoles(t)); r != "" {
			deployed[r] = true
			if got := w.Spec.Template.Metadata.Labels["app.kubernetes.io/component"]; got != r {
				t.Errorf("%s: component label %q, want the role %q", w.m, got, r)
			}
		}
	}
	for _, r := range serverRoles(t) {
		if !deployed[r] {
			t.Errorf("role %s of the binary has no Deployment", r)
		}
	}
	if len(c.jobs) != 1 {
		t.Fatalf("%d Jobs, want the migrations", len(c.jobs))
	}
	checkRoleArgs(t, c.jobs[0].m.String(), c.jobs[0].Spec.Template.Spec.Containers[0].Args, []string{"migrate"})
}

// opsRoutes are the paths api.OpsHandler serves on METRICS_PORT, read
// from its source.
func opsRoutes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../api/health.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "OpsHandler" {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "GET" {
				if bl, ok := call.Args[0].(*ast.BasicLit); ok && bl.Kind == token.STRING {
					path, _ := strconv.Unquote(bl.Value)
					out = append(out, path)
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Fatal("api.OpsHandler: no GET routes found")
	}
	return out
}

// publicGETs are the API's GET routes that need no token.
func publicGETs() []string {
	var out []string
	for _, r := range api.Routes() {
		if r.Method == "GET" && r.Scope == "" {
			out = append(out, r.Path)
		}
	}
	return out
}

func TestProbesCallRoutesTheRolesServe(t *testing.T) {
	c := loadCluster(t)
	env := c.env()
	servicePort, _ := strconv.Atoi(env["SERVICE_PORT"])
	metricsPort, _ := strconv.Atoi(env["METRICS_PORT"])
	if servicePort == 0 || metricsPort == 0 {
		t.Fatalf("ConfigMap SERVICE_PORT %q, METRICS_PORT %q: want both set", env["SERVICE_PORT"], env["METRICS_PORT"])
	}
	public, ops := publicGETs(), opsRoutes(t)
	for _, w := range c.deployments {
		r, ok := code(t).roles[w.role]
		if !ok {
			continue // reported by TestWorkloadsRunTheBinarysRoles
		}
		ct := w.Spec.Template.Spec.Containers[0]
		var port string
		var paths []string
		switch {
		case r.servesAPI:
			port, paths = "http", public
			if got := ct.port("http"); got != servicePort {
				t.Errorf("%s: port http %d, want SERVICE_PORT %d", w.m, got, servicePort)
			}
		case r.servesMetrics:
			port, paths = "metrics", ops
		default:
			for _, p := range []*probe{ct.StartupProbe, ct.LivenessProbe, ct.ReadinessProbe} {
				if p != nil {
					t.Errorf("%s: role %s serves no HTTP, yet has a probe", w.m, r.name)
				}
			}
			continue
		}
		if r.servesMetrics {
			if got := ct.port("metrics"); got != metricsPort {
				t.Errorf("%s: port metrics %d, want METRICS_PORT %d", w.m, got, metricsPort)
			}
		}
		check := func(kind string, p *probe, want string) {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s: no httpGet %s probe", w.m, kind)
				return
			}
			if p.HTTPGet.Path != want || !slices.Contains(paths, p.HTTPGet.Path) || p.HTTPGet.Port != port {
				t.Errorf("%s: %s probe GET %s on port %s, want %s on %s (served there: %v)", w.m, kind, p.HTTPGet.Path, p.HTTPGet.Port, want, port, paths)
			}
		}
		check("startup", ct.StartupProbe, "/health")
		check("liveness", ct.LivenessProbe, "/health")
		check("readiness", ct.ReadinessProbe, "/ready")
	}
}

func TestConfigurationNamesAndValues(t *testing.T) {
	c := loadCluster(t)
	var names []string
	for k := range c.configMap {
		names = append(names, k)
	}
	checkConfigNames(t, "ConfigMap zarish", names)
	names = names[:0]
	for k := range c.secret {
		names = append(names, k)
	}
	checkConfigNames(t, secretExample, names)
	for _, w := range c.workloads() {
		for _, ct := range w.Spec.Template.Spec.Containers {
			var env []string
			for _, e := range ct.Env {
				env = append(env, e.Name)
			}
			checkConfigNames(t, w.m.String(), env)
			refs := map[string]bool{}
			for _, ef := range ct.EnvFrom {
				if ef.ConfigMapRef != nil {
					refs["configmap/"+ef.ConfigMapRef.Name] = true
				}
				if ef.SecretRef != nil {
					refs["secret/"+ef.SecretRef.Name] = true
				}
			}
			if !refs["configmap/zarish"] || !refs["secret/zarish"] {
				t.Errorf("%s: envFrom %v, want the zarish ConfigMap and Secret", w.m, refs)
			}
		}
	}
	// The values load as the processes would load them.
	env := c.env()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the ConfigMap and Secret do not load: %v", err)
	}
	if cfg.Service.Host != "0.0.0.0" {
		t.Errorf("SERVICE_HOST %q: the API and METRICS_PORT listeners must face the pod network (0.0.0.0)", cfg.Service.Host)
	}
	if host, _, _ := net.SplitHostPort(cfg.MLLP.Address); host != "0.0.0.0" {
		t.Errorf("MLLP_LISTEN %q: the listener must face the pod network", cfg.MLLP.Address)
	}
	if cfg.Metrics.Port == 0 || cfg.Tracing.Exporter != "otlp" || !cfg.Temporal.PayloadEncryption || cfg.Redis.URL == "" {
		t.Errorf("want METRICS_PORT set, traces to OTLP, payloads sealed and Redis rate limits: %+v %+v", cfg.Metrics, cfg.Tracing)
	}
	// The signing key file is the mounted Secret.
	for _, w := range c.deployments {
		if w.role != "api" {
			continue
		}
		var mounts struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							VolumeMounts []struct {
								Name      string `yaml:"name"`
								MountPath string `yaml:"mountPath"`
							} `yaml:"volumeMounts"`
						} `yaml:"containers"`
						Volumes []struct {
							Name   string `yaml:"name"`
							Secret *struct {
								SecretName string `yaml:"secretName"`
							} `yaml:"secret"`
						} `yaml:"volumes"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		w.m.decode(t, &mounts)
		ok := false
		for _, vm := range mounts.Spec.Template.Spec.Containers[0].VolumeMounts {
			if filepath.Dir(cfg.Auth.SigningKeyFile) != vm.MountPath {
				continue
			}
			for _, v := range mounts.Spec.Template.Spec.Volumes {
				ok = ok || v.Name == vm.Name && v.Secret != nil && v.Secret.SecretName == "zarish-signing-key"
			}
		}
		if !ok {
			t.Errorf("%s: JWT_SIGNING_KEY_FILE %s is not in a mount of the zarish-signing-key Secret", w.m, cfg.Auth.SigningKeyFile)
		}
	}
}

func TestEveryWorkloadHasResourcesAndADisruptionBudget(t *testing.T) {
	c := loadCluster(t)
	for _, w := range c.workloads() {
		labels := w.Spec.Template.Metadata.Labels
		if w.m.Kind == "Deployment" && !subset(w.Spec.Selector.MatchLabels, labels) {
			t.Errorf("%s: selector %v does not select its own pods %v", w.m, w.Spec.Selector.MatchLabels, labels)
		}
		ps := w.Spec.Template.Spec
		if ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot || ps.SecurityContext.RunAsUser == nil || *ps.SecurityContext.RunAsUser == 0 {
			t.Errorf("%s: want runAsNonRoot and a non-zero runAsUser", w.m)
		}
		for _, ct := range ps.Containers {
			for _, res := range []string{"cpu", "memory"} {
				if ct.Resources.Requests[res] == "" || ct.Resources.Limits[res] == "" {
					t.Errorf("%s: container %s lacks a %s request or limit", w.m, ct.Name, res)
				}
			}
			if ct.SecurityContext.AllowPrivilegeEscalation == nil || *ct.SecurityContext.AllowPrivilegeEscalation ||
				ct.SecurityContext.ReadOnlyRootFilesystem == nil || !*ct.SecurityContext.ReadOnlyRootFilesystem {
				t.Errorf("%s: container %s: want allowPrivilegeEscalation false and a read-only root filesystem", w.m, ct.Name)
			}
		}
		if w.m.Kind != "Deployment" {
			continue
		}
		var budgets []string
		for _, p := range c.pdbs {
			if subset(p.Spec.Selector.MatchLabels, labels) {
				budgets = append(budgets, p.m.Metadata.Name)
				if p.Spec.MaxUnavailable == nil {
					t.Errorf("%s: want maxUnavailable (a minAvailable equal to the replicas blocks every node drain)", p.m)
				}
			}
		}
		if len(budgets) != 1 {
			t.Errorf("%s: PodDisruptionBudgets %v select its pods, want exactly one", w.m, budgets)
		}
	}
}

func TestTerminationGraceCoversTheDrain(t *testing.T) {
	c := loadCluster(t)
	f := code(t)
	for _, w := range c.workloads() {
		if w.m.Kind != "Deployment" {
			continue
		}
		r := f.roles[w.role]
		ps := w.Spec.Template.Spec
		if ps.TerminationGracePeriodSeconds == nil {
			t.Errorf("%s: no terminationGracePeriodSeconds", w.m)
			continue
		}
		grace := *ps.TerminationGracePeriodSeconds
		need := f.traceFlush
		if r.servesAPI || r.servesMetrics {
			// serveHTTP drains its listeners for up to shutdownGrace.
			need += f.shutdownGrace
		}
		if pre := ps.Containers[0].Lifecycle.PreStop; pre != nil && pre.Sleep != nil {
			need += secondsDuration(pre.Sleep.Seconds)
		}
		if secondsDuration(grace) < need {
			t.Errorf("%s: terminationGracePeriodSeconds %d, want at least %v (drain %v, trace flush %v, preStop)", w.m, grace, need, f.shutdownGrace, f.traceFlush)
		}
		if r.servesAPI && (ps.Containers[0].Lifecycle.PreStop == nil || ps.Containers[0].Lifecycle.PreStop.Sleep == nil) {
			t.Errorf("%s: want a preStop sleep, so the endpoints drop the pod before the API stops taking requests", w.m)
		}
	}
}

func TestServices(t *testing.T) {
	c := loadCluster(t)
	env := c.env()
	cfg, _ := config.Load(func(k string) string { return env[k] })
	_, mllpPort, _ := net.SplitHostPort(cfg.MLLP.Address)
	want := map[string]struct {
		role string
		port int
	}{
		"zarish-api":  {"api", cfg.Service.Port},
		"zarish-mllp": {"mllp", atoi(mllpPort)},
	}
	for name, w := range want {
		found := false
		for _, s := range c.services {
			if s.m.Metadata.Name != name {
				continue
			}
			found = true
			var target *workload
			for _, d := range c.deployments {
				if subset(s.Spec.Selector, d.Spec.Template.Metadata.Labels) {
					if target != nil {
						t.Errorf("%s selects the pods of %s and %s", s.m, target.m, d.m)
					}
					target = d
				}
			}
			if target == nil || target.role != w.role {
				t.Errorf("%s: selects %v, want the %s pods", s.m, target, w.role)
				continue
			}
			if len(s.Spec.Ports) == 0 || target.Spec.Template.Spec.Containers[0].port(s.Spec.Ports[0].TargetPort) != w.port {
				t.Errorf("%s: first port targets %v, want the container port %d", s.m, s.Spec.Ports, w.port)
			}
		}
		if !found {
			t.Errorf("no Service %s", name)
		}
	}
	if len(c.services) != len(want) {
		t.Errorf("%d Services, want %d", len(c.services), len(want))
	}
}

// rolePeers are the services a role's function talks to, read from its
// source: PostgreSQL (openDatabase), Temporal (temporalClient), Kafka
// (cfg.Kafka.Brokers) and Redis (rateLimits).
func rolePeers(t *testing.T, fn string) []string {
	t.Helper()
	src := string(readFile(t, "../cmd/zarish/roles.go"))
	if b, err := os.ReadFile("../cmd/zarish/notify.go"); err == nil {
		src += string(b)
	}
	start := strings.Index(src, "func "+fn+"(")
	if start < 0 {
		t.Fatalf("cmd/zarish: func %s not found", fn)
	}
	body := src[start:]
	if end := strings.Index(body, "\n}\n"); end > 0 {
		body = body[:end]
	}
	var peers []string
	for peer, marks := range map[string][]string{
		"postgres": {"openDatabase("},
		"temporal": {"temporalClient(", "temporal.Dial"},
		"kafka":    {"cfg.Kafka.Brokers"},
		"redis":    {"rateLimits("},
	} {
		for _, m := range marks {
			if strings.Contains(body, m) {
				peers = append(peers, peer)
				break
			}
		}
	}
	sort.Strings(peers)
	return peers
}

func secondsDuration(n int) time.Duration { return time.Duration(n) * time.Second }

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestNetworkPolicies(t *testing.T) {
	c := loadCluster(t)
	env := c.env()
	peerPorts := map[string][]int{
		"postgres": portsOf(t, "DATABASE_URL", env["DATABASE_URL"]),
		"temporal": portsOf(t, "TEMPORAL_ADDRESS", env["TEMPORAL_ADDRESS"]),
		"kafka":    portsOf(t, "KAFKA_BROKERS", env["KAFKA_BROKERS"]),
		"redis":    portsOf(t, "REDIS_URL", env["REDIS_URL"]),
	}
	otlp := portsOf(t, "OTEL_EXPORTER_OTLP_ENDPOINT", env["OTEL_EXPORTER_OTLP_ENDPOINT"])
	all := map[string]string{"app.kubernetes.io/name": "zarish"}
	var denyAll, dns bool
	for _, p := range c.policies {
		if p.selects(all) && len(p.Spec.PodSelector.MatchLabels) == 1 && len(p.Spec.PodSelector.MatchExpressions) == 0 {
			if slices.Equal(p.Spec.PolicyTypes, []string{"Ingress", "Egress"}) && len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 {
				denyAll = true
			}
			if slices.Equal(ports(p.Spec.Egress, "UDP"), []int{53}) && slices.Equal(ports(p.Spec.Egress, "TCP"), []int{53}) {
				dns = true
			}
		}
	}
	if !denyAll || !dns {
		t.Errorf("want a policy refusing everything to every zarish pod (%v) and one letting them all resolve names on 53 UDP and TCP (%v)", denyAll, dns)
	}
	metricsPort := atoi(env["METRICS_PORT"])
	for _, w := range c.workloads() {
		labels := w.Spec.Template.Metadata.Labels
		r := code(t).roles[w.role]
		var own []*networkPolicy
		var ingress []int
		for _, p := range c.policies {
			if !p.selects(labels) {
				continue
			}
			ingress = append(ingress, ports(p.Spec.Ingress, "TCP")...)
			if p.Spec.PodSelector.MatchLabels["app.kubernetes.io/component"] == w.role {
				own = append(own, p)
			}
		}
		sort.Ints(ingress)
		ingress = slices.Compact(ingress)
		var wantIngress []int
		if r.servesMetrics {
			wantIngress = append(wantIngress, metricsPort)
		}
		if r.servesAPI {
			wantIngress = append(wantIngress, atoi(env["SERVICE_PORT"]))
		}
		if w.role == "mllp" {
			_, p, _ := net.SplitHostPort(env["MLLP_LISTEN"])
			wantIngress = append(wantIngress, atoi(p))
		}
		sort.Ints(wantIngress)
		if !slices.Equal(ingress, wantIngress) {
			t.Errorf("%s: ingress open on %v, want %v", w.m, ingress, wantIngress)
		}
		if len(own) != 1 {
			t.Errorf("%s: %d policies of its own (component %s), want one", w.m, len(own), w.role)
			continue
		}
		p := own[0]
		if len(p.Spec.Egress) == 1 && len(p.Spec.Egress[0].Ports) == 0 && len(p.Spec.Egress[0].To) == 0 {
			if w.role != "notify" {
				t.Errorf("%s: egress open to everything; only notify (email, SMS, push, webhooks anywhere) may be", p.m)
			}
			continue
		}
		want := slices.Clone(otlp)
		for _, peer := range rolePeers(t, r.fn) {
			want = append(want, peerPorts[peer]...)
		}
		sort.Ints(want)
		want = slices.Compact(want)
		if got := ports(p.Spec.Egress, "TCP"); !slices.Equal(got, want) {
			t.Errorf("%s: egress on %v, want exactly %v (what %s talks to: %v, and the collector)", p.m, got, want, r.fn, rolePeers(t, r.fn))
		}
	}
}

func TestQueueBacklogComponent(t *testing.T) {
	c := loadCluster(t)
	var comp struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Patches    []struct {
			Target struct {
				Group, Version, Kind, Name string
			} `yaml:"target"`
			Patch string `yaml:"patch"`
		} `yaml:"patches"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(k8sDir, "components/queue-backlog/kustomization.yaml")), &comp); err != nil {
		t.Fatal(err)
	}
	if comp.Kind != "Component" || comp.APIVersion != "kustomize.config.k8s.io/v1alpha1" {
		t.Fatalf("queue-backlog: %s %s, want a kustomize Component", comp.APIVersion, comp.Kind)
	}
	byHPA := map[string]string{}
	for _, p := range comp.Patches {
		var ops []struct {
			Op    string `yaml:"op"`
			Path  string `yaml:"path"`
			Value struct {
				Type     string `yaml:"type"`
				External struct {
					Metric struct {
						Name     string        `yaml:"name"`
						Selector labelSelector `yaml:"selector"`
					} `yaml:"metric"`
					Target struct {
						Type         string `yaml:"type"`
						AverageValue string `yaml:"averageValue"`
					} `yaml:"target"`
				} `yaml:"external"`
			} `yaml:"value"`
		}
		if err := yaml.Unmarshal([]byte(p.Patch), &ops); err != nil || len(ops) != 1 {
			t.Errorf("patch of %s: %v (%d operations)", p.Target.Name, err, len(ops))
			continue
		}
		op := ops[0]
		if p.Target.Kind != "HorizontalPodAutoscaler" || op.Op != "add" || op.Path != "/spec/metrics/-" ||
			op.Value.Type != "External" || op.Value.External.Target.Type != "AverageValue" || op.Value.External.Target.AverageValue == "" {
			t.Errorf("patch of %s: want an External AverageValue metric added to an HPA's metrics, got %+v", p.Target.Name, op)
		}
		byHPA[p.Target.Name] = op.Value.External.Metric.Selector.MatchLabels["taskqueue"]
	}
	for _, q := range workers.Queues {
		var name string
		for _, h := range c.hpas {
			for _, d := range c.deployments {
				if d.m.Metadata.Name == h.Spec.ScaleTargetRef.Name && d.Spec.Template.Metadata.Labels["zarish/queue"] == q {
					name = h.m.Metadata.Name
				}
			}
		}
		if got, ok := byHPA[name]; !ok || got != q {
			t.Errorf("queue %s: the backlog patch of HPA %q selects taskqueue %q, want %q", q, name, got, q)
		}
	}
	if len(byHPA) != len(workers.Queues) {
		t.Errorf("%d backlog patches, want one per queue (%d)", len(byHPA), len(workers.Queues))
	}
}
