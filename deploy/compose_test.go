package deploy

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/console"
	"github.com/zarish-sphere/zarish/workers"
)

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Ports   []string `yaml:"ports"`
	Volumes []string `yaml:"volumes"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var f composeFile
	if err := yaml.Unmarshal(readFile(t, "compose.yaml"), &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("compose.yaml: no services")
	}
	return f
}

// zarish are the services built from deploy/Dockerfile.
func (f composeFile) zarish() map[string]composeService {
	out := map[string]composeService{}
	for name, s := range f.Services {
		if s.Build != nil && s.Build.Dockerfile == "deploy/Dockerfile" {
			out[name] = s
		}
	}
	return out
}

// interpolated replaces ${NAME…} with a placeholder, as docker compose
// would with the operator's values.
var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}`)

func interpolate(v string) string {
	return interpolation.ReplaceAllStringFunc(v, func(m string) string {
		name := interpolation.FindStringSubmatch(m)[1]
		switch name {
		case "JWT_SECRET":
			return strings.Repeat("s", 64)
		case "TEMPORAL_PAYLOAD_KEYS":
			return "k1:" + strings.Repeat("A", 43) + "="
		}
		return "value-of-" + strings.ToLower(name)
	})
}

// publishedPort is the host port a service publishes for container port.
func publishedPort(s composeService, container string) string {
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		if parts[len(parts)-1] == container && len(parts) >= 2 {
			return parts[len(parts)-2]
		}
	}
	return ""
}

func TestComposeRunsEveryRoleOnce(t *testing.T) {
	f := loadCompose(t)
	zs := f.zarish()
	byRole := map[string][]string{}
	byQueue := map[string][]string{}
	for name, s := range zs {
		if len(s.Entrypoint) > 0 {
			t.Errorf("service %s: entrypoint %v replaces /zarish", name, s.Entrypoint)
		}
		if s.Build.Context != ".." {
			t.Errorf("service %s: build context %q, want the repository root (..)", name, s.Build.Context)
		}
		r := checkRoleArgs(t, "compose service "+name, s.Command, append(serverRoles(t), "migrate"))
		byRole[r] = append(byRole[r], name)
		if r == "worker" {
			v, _ := flagValue(s.Command, "queues")
			qs, err := workers.ParseQueues(v)
			if err != nil || len(qs) != 1 || v == "all" {
				t.Errorf("service %s: --queues %q, want one queue per worker service", name, v)
				continue
			}
			byQueue[qs[0]] = append(byQueue[qs[0]], name)
		}
		if r != "migrate" {
			if d, ok := s.DependsOn["migrate"]; !ok || d.Condition != "service_completed_successfully" {
				t.Errorf("service %s: want depends_on migrate: service_completed_successfully (got %+v)", name, s.DependsOn)
			}
		}
	}
	for _, r := range append(serverRoles(t), "migrate") {
		if r == "worker" {
			continue
		}
		if len(byRole[r]) != 1 {
			t.Errorf("role %s: compose services %v, want exactly one", r, byRole[r])
		}
	}
	for _, q := range workers.Queues {
		if len(byQueue[q]) != 1 {
			t.Errorf("queue %s: compose services %v, want exactly one", q, byQueue[q])
		}
	}
	if len(byRole["worker"]) != len(workers.Queues) {
		t.Errorf("worker services %v, want one per queue %v", byRole["worker"], workers.Queues)
	}
}

func TestComposeEnvironmentIsConfiguration(t *testing.T) {
	f := loadCompose(t)
	for name, s := range f.zarish() {
		var names []string
		for k := range s.Environment {
			names = append(names, k)
		}
		checkConfigNames(t, "compose service "+name, names)
		env := map[string]string{}
		for k, v := range s.Environment {
			env[k] = interpolate(v)
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("compose service %s: the environment does not load: %v", name, err)
			continue
		}
		// Every peer it names is a service of the stack.
		hosts := map[string]string{"TEMPORAL_ADDRESS": cfg.Temporal.Address, "DATABASE_URL": cfg.Database.URL.Reveal(),
			"REDIS_URL": cfg.Redis.URL.Reveal(), "OTEL_EXPORTER_OTLP_ENDPOINT": cfg.Tracing.Endpoint}
		for i, b := range cfg.Kafka.Brokers {
			hosts["KAFKA_BROKERS#"+string(rune('0'+i))] = b
		}
		for k, v := range hosts {
			if v == "" {
				t.Errorf("compose service %s: %s is not set", name, k)
				continue
			}
			hp := v
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				hp = u.Host
			}
			host, _, err := net.SplitHostPort(hp)
			if err != nil {
				t.Errorf("compose service %s: %s=%q has no host:port", name, k, v)
				continue
			}
			if _, ok := f.Services[host]; !ok {
				t.Errorf("compose service %s: %s names %s, which is not a service of compose.yaml", name, k, host)
			}
		}
		if !cfg.Temporal.PayloadEncryption || cfg.Metrics.Port == 0 {
			t.Errorf("compose service %s: want payloads sealed and METRICS_PORT set", name)
		}
	}
}

func TestComposeTemporalUIOpensPayloadsThroughTheConsole(t *testing.T) {
	f := loadCompose(t)
	ui, ok := f.Services["temporal-ui"]
	if !ok || !strings.HasPrefix(ui.Image, "temporalio/ui:") {
		t.Fatalf("no temporal-ui service on temporalio/ui (got %+v)", ui)
	}
	apiSvc := f.Services["api"]
	env := apiSvc.Environment
	issuer := strings.TrimRight(env["JWT_ISSUER"], "/")
	want := issuer + console.CodecEndpoint
	if got := ui.Environment["TEMPORAL_CODEC_ENDPOINT"]; got != want {
		t.Errorf("TEMPORAL_CODEC_ENDPOINT %q, want %q (the console's codec as the browser reaches it)", got, want)
	}
	if got := ui.Environment["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"]; got != "true" {
		t.Errorf("TEMPORAL_CODEC_INCLUDE_CREDENTIALS %q, want true: the console's codec wants the operator's session cookie", got)
	}
	u, err := url.Parse(issuer)
	if err != nil || publishedPort(apiSvc, "8080") != u.Port() {
		t.Errorf("JWT_ISSUER %q: want the API's published port %q", issuer, publishedPort(apiSvc, "8080"))
	}
	origin := "http://localhost:" + publishedPort(ui, "8080")
	if env["TEMPORAL_UI_URL"] != origin {
		t.Errorf("TEMPORAL_UI_URL %q, want the Web UI as the browser reaches it, %s", env["TEMPORAL_UI_URL"], origin)
	}
	if ui.Environment["TEMPORAL_ADDRESS"] != env["TEMPORAL_ADDRESS"] || ui.Environment["TEMPORAL_DEFAULT_NAMESPACE"] != env["TEMPORAL_NAMESPACE"] {
		t.Errorf("the Web UI shows %s on %s, the engine uses %s on %s", ui.Environment["TEMPORAL_DEFAULT_NAMESPACE"],
			ui.Environment["TEMPORAL_ADDRESS"], env["TEMPORAL_NAMESPACE"], env["TEMPORAL_ADDRESS"])
	}
}

func TestComposeInfrastructure(t *testing.T) {
	f := loadCompose(t)
	images := map[string]string{}
	for name, s := range f.Services {
		images[name] = s.Image
	}
	for name, prefix := range map[string]string{
		"postgres": "postgres:", "temporal": "temporalio/server:", "temporal-ui": "temporalio/ui:",
		"kafka": "apache/kafka:", "redis": "redis:", "otel-collector": "otel/opentelemetry-collector",
	} {
		if !strings.HasPrefix(images[name], prefix) {
			t.Errorf("service %s: image %q, want %s…", name, images[name], prefix)
		}
	}
	temporal := f.Services["temporal"]
	if temporal.Environment["DB"] != "postgres12" || temporal.Environment["POSTGRES_SEEDS"] != "postgres" {
		t.Errorf("temporal: DB %q on %q, want postgres12 on the postgres service", temporal.Environment["DB"], temporal.Environment["POSTGRES_SEEDS"])
	}
	if d := temporal.DependsOn["temporal-schema"]; d.Condition != "service_completed_successfully" {
		t.Errorf("temporal: want it started after temporal-schema completed")
	}
	kafka := f.Services["kafka"].Environment
	if !strings.Contains(kafka["KAFKA_PROCESS_ROLES"], "controller") || kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "" {
		t.Errorf("kafka: KAFKA_PROCESS_ROLES %q, want KRaft (broker,controller) with quorum voters", kafka["KAFKA_PROCESS_ROLES"])
	}
	if _, ok := f.Services["zookeeper"]; ok {
		t.Error("a zookeeper service: Kafka runs in KRaft mode")
	}
	// The topics: the engine creates none.
	topics := strings.Join(f.Services["kafka-topics"].Command, " ")
	for _, topic := range code(t).kafkaTopics {
		if !regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(topic) + `(\s|;|$)`).MatchString(topics) {
			t.Errorf("kafka-topics does not create %s (integrations/kafka.Topics)", topic)
		}
	}
	// The namespace and the search attributes.
	ns := f.Services["temporal-namespace"]
	if ns.Environment["TEMPORAL_NAMESPACE"] != f.Services["api"].Environment["TEMPORAL_NAMESPACE"] {
		t.Errorf("temporal-namespace registers %q, the engine uses %q", ns.Environment["TEMPORAL_NAMESPACE"], f.Services["api"].Environment["TEMPORAL_NAMESPACE"])
	}
	script := string(readFile(t, "temporal/namespace.sh"))
	m := regexp.MustCompile(`(?m)^attributes="([^"]*)"`).FindStringSubmatch(script)
	if m == nil {
		t.Fatal(`temporal/namespace.sh: no attributes="…" line`)
	}
	got := strings.Fields(m[1])
	sort.Strings(got)
	var want []string
	for name, kind := range code(t).searchAttrs {
		want = append(want, name)
		if kind != "INDEXED_VALUE_TYPE_KEYWORD" {
			t.Errorf("search attribute %s is %s: temporal/namespace.sh registers every one as Keyword", name, kind)
		}
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("temporal/namespace.sh registers %v, integrations/temporal.SearchAttributes has %v", got, want)
	}
	// The collector receives OTLP/gRPC where the engine sends it.
	var col struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					GRPC struct {
						Endpoint string `yaml:"endpoint"`
					} `yaml:"grpc"`
				} `yaml:"protocols"`
			} `yaml:"otlp"`
		} `yaml:"receivers"`
		Service struct {
			Pipelines map[string]struct {
				Receivers []string `yaml:"receivers"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal(readFile(t, "otel-collector.yaml"), &col); err != nil {
		t.Fatal(err)
	}
	endpoint, _ := url.Parse(f.Services["api"].Environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
	_, grpcPort, _ := net.SplitHostPort(col.Receivers.OTLP.Protocols.GRPC.Endpoint)
	if endpoint == nil || grpcPort != endpoint.Port() || !slices.Contains(col.Service.Pipelines["traces"].Receivers, "otlp") {
		t.Errorf("otel-collector.yaml: OTLP/gRPC on %q in the traces pipeline, the engine sends to %v", col.Receivers.OTLP.Protocols.GRPC.Endpoint, endpoint)
	}
	found := false
	for _, v := range f.Services["otel-collector"].Volumes {
		found = found || strings.HasPrefix(v, "./otel-collector.yaml:")
	}
	if !found {
		t.Error("otel-collector does not mount ./otel-collector.yaml")
	}
}
