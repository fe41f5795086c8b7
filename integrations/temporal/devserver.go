package temporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// SearchAttributes are the custom search attributes every ZARISH namespace carries,
// so operators can filter workflows by patient and status in the Web UI.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	"PatientId":          enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"Status":             enumspb.INDEXED_VALUE_TYPE_KEYWORD, // upserted by alerts started before AlertStatus
	"EncounterStatus":    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"AlertStatus":        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"PrescriptionStatus": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"DiagnosticStatus":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"ProcedureStatus":    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// DevServerConfig configures the embedded Temporal server that `zarish dev` runs.
type DevServerConfig struct {
	// FrontendAddress is where the gRPC frontend listens, e.g. 127.0.0.1:7233;
	// port 0 picks one outside the kernel's ephemeral port range.
	FrontendAddress string
	// UIAddress is where the Web UI listens (port 0 picks one); empty
	// disables the UI.
	UIAddress string
	// DatabaseFile is the SQLite file; empty keeps everything in memory.
	DatabaseFile string
	// Namespace is registered on start if it does not exist yet.
	Namespace string
	// CodecEndpoint is the remote codec the Web UI opens sealed payloads
	// through, sending the browser's cookies; empty shows them sealed.
	CodecEndpoint string
	// Postgres, when set, persists the server on PostgreSQL as production
	// does (zarish temporal-server) instead of SQLite; DatabaseFile is then
	// unused.
	Postgres *PostgresStore
}

// persistence is where a server keeps its histories and visibility.
type persistence struct {
	stores          map[string]config.DataStore
	defaultStore    string
	visibilityStore string
	shards          int32
	clusterID       string
}

// DevServer is a single-process Temporal cluster — frontend, history,
// matching and the internal worker — persisted in a SQLite file or, with
// Postgres, on PostgreSQL.
type DevServer struct {
	server temporal.Server
	ui     *uiserver.Server
	cfg    DevServerConfig
	log    *slog.Logger
}

// StartDevServer starts the embedded Temporal server and, when configured, its Web UI.
// It returns once the frontend accepts connections.
func StartDevServer(ctx context.Context, cfg DevServerConfig, logger *slog.Logger) (*DevServer, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	host, portText, err := net.SplitHostPort(cfg.FrontendAddress)
	if err != nil {
		return nil, fmt.Errorf("temporal frontend address %q: %w", cfg.FrontendAddress, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("temporal frontend port %q: %w", portText, err)
	}
	var store persistence
	if cfg.Postgres != nil {
		store, err = postgresPersistence(ctx, *cfg.Postgres, logger)
	} else {
		var sqlCfg *config.SQL
		sqlCfg, err = sqliteConfig(cfg)
		store = persistence{
			stores:       map[string]config.DataStore{"sqlite": {SQL: sqlCfg}},
			defaultStore: "sqlite", visibilityStore: "sqlite", shards: 1, clusterID: "zarish-dev",
		}
	}
	if err != nil {
		return nil, err
	}
	hideUnknownTraceExporter()
	// The server binds every port itself; one lost to another process
	// between choosing and binding is retried with fresh ports.
	const attempts = 5
	for attempt := 1; ; attempt++ {
		d, err := startServer(cfg, host, port, store, logger)
		if err == nil {
			if cfg.Postgres != nil {
				// A SQLite namespace is written into the file before the
				// start; on PostgreSQL it is registered through the frontend.
				if err := registerNamespace(ctx, d.cfg.FrontendAddress, cfg.Namespace, cfg.Postgres.Retention, logger); err != nil {
					d.server.Stop()
					return nil, err
				}
			}
			if cfg.UIAddress != "" {
				if err := d.startUI(); err != nil {
					d.server.Stop()
					return nil, err
				}
			}
			return d, nil
		}
		if !addrInUse(err) || attempt == attempts {
			return nil, err
		}
		logger.Warn("temporal server lost a port while starting; retrying on others", "attempt", attempt, "error", err)
	}
}

// startServer builds and starts the server once: the frontend on port (0
// picks one), the HTTP API and the internal services on ports chosen here.
func startServer(cfg DevServerConfig, host string, port int, store persistence, logger *slog.Logger) (_ *DevServer, err error) {
	want := 4 // frontend HTTP, history, matching, worker
	if port == 0 {
		want++
	}
	ports, err := reservePorts(host, want)
	if err != nil {
		return nil, err
	}
	defer ports.release()
	if port == 0 {
		port, ports.ports = ports.ports[0], ports.ports[1:]
		cfg.FrontendAddress = net.JoinHostPort(host, strconv.Itoa(port))
	}
	conf := serverConfig(host, port, ports.ports, store)
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Eager workflow start lets the API hand a new workflow's first task
		// straight to the in-process worker.
		dynamicconfig.EnableEagerWorkflowStart.Key(): true,
	}
	staticHost := func(svc primitives.ServiceName) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	// A listener the server cannot open is reported through the logger's
	// Fatal, which panics with serverFatal (the server's own logger would
	// exit the process): turn it back into an error.
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(serverFatal)
			if !ok {
				panic(r)
			}
			err = f
		}
	}()
	ports.release()
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: staticHost(primitives.FrontendService),
			primitives.MatchingService: staticHost(primitives.MatchingService),
			primitives.HistoryService:  staticHost(primitives.HistoryService),
			primitives.WorkerService:   staticHost(primitives.WorkerService),
		}),
		temporal.WithLogger(serverLogger{log: logger}),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("build temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	return &DevServer{server: srv, cfg: cfg, log: logger}, nil
}

// hideUnknownTraceExporter keeps the engine's trace exporter choice from
// stopping the embedded server: the server reads OTEL_TRACES_EXPORTER from
// the process environment itself and refuses to start on any value but
// otlp or none. The engine has built its own exporter by now, so for any
// other value (console) the server is told none, and traces only the
// engine's spans. With otlp the server exports its own spans as well.
func hideUnknownTraceExporter() {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")))
	if v != "" && v != "otlp" && v != "none" {
		_ = os.Setenv("OTEL_TRACES_EXPORTER", "none")
	}
}

// FrontendAddress is the host:port SDK clients and workers dial.
func (d *DevServer) FrontendAddress() string { return d.cfg.FrontendAddress }

// UIAddress is the host:port the Web UI listens on, empty when it is off.
func (d *DevServer) UIAddress() string { return d.cfg.UIAddress }

// Namespace is the namespace the server registered.
func (d *DevServer) Namespace() string { return d.cfg.Namespace }

// Stop stops the UI and the server.
func (d *DevServer) Stop() {
	if d.ui != nil {
		d.ui.Stop()
	}
	d.server.Stop()
}

func (d *DevServer) startUI() error {
	host, portText, err := net.SplitHostPort(d.cfg.UIAddress)
	if err != nil {
		return fmt.Errorf("temporal UI address %q: %w", d.cfg.UIAddress, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("temporal UI port %q: %w", portText, err)
	}
	// The UI's Start blocks and only reports bind errors after the fact, so
	// claim the port first to fail fast when something else holds it; port 0
	// picks one outside the ephemeral range.
	if port == 0 {
		ports, err := reservePorts(host, 1)
		if err != nil {
			return fmt.Errorf("temporal UI: %w", err)
		}
		ports.release()
		port = ports.ports[0]
		d.cfg.UIAddress = net.JoinHostPort(host, strconv.Itoa(port))
	} else {
		probe, err := net.Listen("tcp", d.cfg.UIAddress)
		if err != nil {
			return fmt.Errorf("temporal UI listen: %w", err)
		}
		_ = probe.Close()
	}
	d.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                host,
		Port:                port,
		TemporalGRPCAddress: d.cfg.FrontendAddress,
		EnableUI:            true,
		DefaultNamespace:    d.cfg.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
		Codec:               uiconfig.Codec{Endpoint: d.cfg.CodecEndpoint, IncludeCredentials: d.cfg.CodecEndpoint != ""},
	}))
	go func() {
		if err := d.ui.Start(); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("temporal UI stopped", "error", err)
		}
	}()
	return nil
}

func sqliteConfig(cfg DevServerConfig) (*config.SQL, error) {
	sqlCfg := &config.SQL{PluginName: sqliteplugin.PluginName}
	if cfg.DatabaseFile == "" {
		sqlCfg.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlCfg.DatabaseName = "zarish-" + strconv.Itoa(os.Getpid())
	} else {
		// Measured on a 2-core machine: the default rollback journal manages
		// ~2.4 workflows/s, WAL with synchronous=NORMAL ~13/s.
		sqlCfg.ConnectAttributes = map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "1",
			"busy_timeout": "10000",
		}
		// One connection: SQLite has a single writer, and a second connection
		// turns read-to-write upgrades into SQLITE_BUSY_SNAPSHOT errors.
		sqlCfg.DatabaseName = cfg.DatabaseFile
		if err := os.MkdirAll(filepath.Dir(cfg.DatabaseFile), 0o750); err != nil {
			return nil, fmt.Errorf("temporal data dir: %w", err)
		}
		if _, err := os.Stat(cfg.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
				return nil, fmt.Errorf("temporal sqlite schema: %w", err)
			}
		}
	}
	if cfg.DatabaseFile == "" {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("temporal sqlite schema: %w", err)
		}
	}
	// A new namespace carries every attribute from its creation, so no
	// start waits on a later registration.
	attrs := maps.Clone(SearchAttributes)
	maps.Copy(attrs, StartSearchAttributes)
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, attrs)
	if err != nil {
		return nil, fmt.Errorf("temporal namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("register temporal namespace: %w", err)
	}
	return sqlCfg, nil
}

const clusterName = "active"

func serverConfig(host string, frontendPort int, ports []int, store persistence) *config.Config {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30_000_000_000
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = store.defaultStore
	conf.Persistence.VisibilityStore = store.visibilityStore
	conf.Persistence.NumHistoryShards = store.shards
	conf.Persistence.DataStores = store.stores
	httpPort := ports[0]
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(host, strconv.Itoa(frontendPort)),
				HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(httpPort)),
				ClusterID:              store.clusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	frontend := config.Service{}
	frontend.RPC.GRPCPort = frontendPort
	frontend.RPC.HTTPPort = httpPort
	frontend.RPC.BindOnIP = host
	conf.Services["frontend"] = frontend
	for i, name := range []string{"history", "matching", "worker"} {
		svc := config.Service{}
		svc.RPC.GRPCPort = ports[1+i]
		svc.RPC.BindOnIP = host
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(frontendPort))
	return &conf
}

// serverLogger adapts the server's tagged logger to slog. The server is chatty,
// so everything below warn is dropped unless the process logs at debug.
type serverLogger struct{ log *slog.Logger }

var _ tlog.Logger = serverLogger{}

func (s serverLogger) Debug(msg string, tags ...tag.Tag) { s.emit(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)  { s.emit(slog.LevelDebug, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)  { s.emit(slog.LevelDebug, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag) { s.emit(slog.LevelWarn, msg, tags) }
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) {
	s.emit(slog.LevelError, msg, tags)
}
func (s serverLogger) Panic(msg string, tags ...tag.Tag) { s.emit(slog.LevelError, msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag) {
	s.emit(slog.LevelError, msg, tags)
	f := serverFatal{msg: msg}
	for _, t := range tags {
		if e, ok := t.Value().(error); ok {
			f.err = e
		}
	}
	panic(f)
}

// serverFatal is what the server reported as fatal while starting (a port
// it could not bind), raised as a panic and recovered by startServer.
type serverFatal struct {
	msg string
	err error
}

func (f serverFatal) Error() string { return fmt.Sprintf("temporal server: %s: %v", f.msg, f.err) }
func (f serverFatal) Unwrap() error { return f.err }

func (s serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.log.LogAttrs(ctx, level, msg, attrs...)
}
