package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// BrokerPartitions is how many partitions each topic gets on the embedded
// broker.
const BrokerPartitions = 3

// Broker is a single-node Kafka-protocol broker running in the process, for
// `zarish dev` and tests. Real Kafka clients (kafka-go, franz-go, librdkafka
// tools such as kcat) can produce to and consume from it, consumer groups
// included, e.g.
//
//	kcat -b 127.0.0.1:9092 -L
//	kcat -b 127.0.0.1:9092 -C -t zarish.clinical.v1 -o beginning -f '%k %h %s\n'
//	kcat -b 127.0.0.1:9092 -G my-group zarish.clinical.v1
//
// Unless WithDataDir is given, it keeps everything in memory.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// BrokerOption configures StartBroker.
type BrokerOption func(*brokerConfig)

type brokerConfig struct {
	dataDir         string
	maxMessageBytes int
	tls             *tls.Config
	users           []saslUser
}

type saslUser struct{ mechanism, name, password string }

// WithDataDir keeps the broker's topics, messages and consumer offsets in dir,
// so they survive a restart.
func WithDataDir(dir string) BrokerOption {
	return func(c *brokerConfig) { c.dataDir = dir }
}

// WithMaxMessageBytes sets the largest record batch the broker accepts
// (message.max.bytes; Kafka's default of 1048588 otherwise), so tests can
// see the broker refuse an event.
func WithMaxMessageBytes(n int) BrokerOption {
	return func(c *brokerConfig) { c.maxMessageBytes = n }
}

// WithTLS has the broker take only TLS connections, configured by c (its
// certificate; ClientAuth for mutual TLS).
func WithTLS(c *tls.Config) BrokerOption {
	return func(cfg *brokerConfig) { cfg.tls = c }
}

// WithSASLUser has the broker authenticate every client, knowing name with
// password by mechanism (SASLPlain, SASLSCRAMSHA256 or SASLSCRAMSHA512);
// repeat it for more users. Every user may do everything.
func WithSASLUser(mechanism, name, password string) BrokerOption {
	return func(cfg *brokerConfig) { cfg.users = append(cfg.users, saslUser{mechanism, name, password}) }
}

// StartBroker starts a broker listening on addr (host:port; port 0 picks a
// free one) with every topic in Topics created, BrokerPartitions partitions
// each. Clients are told to reach it at the address it listens on; when the
// host is empty or a wildcard (":9092", "0.0.0.0:9092") that is 127.0.0.1, so
// only local clients can follow the metadata it returns.
func StartBroker(addr string, logger *slog.Logger, opts ...BrokerOption) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var cfg brokerConfig
	for _, o := range opts {
		o(&cfg)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("kafka broker address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("kafka broker address %q: invalid port", addr)
	}

	kopts := []kfake.Opt{
		kfake.Ports(port), // one broker
		kfake.ListenFn(listenOn(host)),
		kfake.ClusterID("zarish"),
		kfake.SeedTopics(BrokerPartitions, Topics...),
		kfake.DefaultNumPartitions(BrokerPartitions),
		kfake.WithLogger(kfakeLogger{logger}),
	}
	if cfg.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(cfg.dataDir))
	}
	if cfg.maxMessageBytes > 0 {
		kopts = append(kopts, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(cfg.maxMessageBytes)}))
	}
	if cfg.tls != nil {
		kopts = append(kopts, kfake.TLS(cfg.tls))
	}
	if len(cfg.users) > 0 {
		kopts = append(kopts, kfake.EnableSASL())
		for _, u := range cfg.users {
			kopts = append(kopts, kfake.Superuser(strings.ToUpper(u.mechanism), u.name, u.password))
		}
	}
	cluster, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("start kafka broker on %s: %w", addr, err)
	}
	b := &Broker{cluster: cluster, addr: cluster.ListenAddrs()[0]}
	logger.Info("kafka broker started", "addr", b.addr, "topics", Topics, "partitions", BrokerPartitions)
	return b, nil
}

// Addr is the host:port clients bootstrap from.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker and drops its client connections.
func (b *Broker) Close() { b.cluster.Close() }

// listenOn replaces kfake's listener, which always binds 127.0.0.1, with one
// on host (keeping the port kfake asks for).
func listenOn(host string) func(network, address string) (net.Listener, error) {
	return func(network, address string) (net.Listener, error) {
		_, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen(network, net.JoinHostPort(host, port))
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			// kfake advertises the listener's own address in metadata;
			// a wildcard address is no use to a client.
			tcp := ln.Addr().(*net.TCPAddr)
			return advertisedListener{ln, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tcp.Port}}, nil
		}
		return ln, nil
	}
}

// advertisedListener reports addr as its address.
type advertisedListener struct {
	net.Listener
	addr net.Addr
}

func (l advertisedListener) Addr() net.Addr { return l.addr }

// kfakeLogger sends kfake's log to slog; its per-request info lines go to
// debug.
type kfakeLogger struct{ l *slog.Logger }

func (k kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	lvl := slog.LevelDebug
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	}
	ctx := context.Background()
	if !k.l.Enabled(ctx, lvl) {
		return
	}
	k.l.Log(ctx, lvl, "kafka broker: "+fmt.Sprintf(format, args...))
}
