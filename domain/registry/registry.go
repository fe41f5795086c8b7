// Package registry is the service registry: which instances of each of the
// engine's services (the API, each worker queue, the relay, notify, the
// MLLP listener) run, where, and whether they are alive. Every instance
// heartbeats into PostgreSQL; workers are also seen as Temporal sees them,
// polling their task queues. An instance whose heartbeat is older than
// three intervals is unhealthy; one that stopped cleanly is down.
package registry

import (
	"cmp"
	"slices"
	"time"
)

// Statuses of an instance.
const (
	StatusHealthy   = "healthy"
	StatusUnhealthy = "unhealthy"
	StatusDown      = "down"
)

// Services of the engine: the API, the relay, notify and the MLLP
// listener, and one per worker task queue (WorkerService).
const (
	ServiceAPI    = "api"
	ServiceRelay  = "relay"
	ServiceNotify = "notify"
	ServiceMLLP   = "mllp"
)

// pollerStale is how long after Temporal last saw a worker poll it is
// still taken for alive: a long poll lasts up to a minute.
const pollerStale = 2 * time.Minute

// WorkerService is the service of the workers of task queue queue.
func WorkerService(queue string) string { return "worker-" + queue }

// Heartbeat is what an instance last said of itself.
type Heartbeat struct {
	ID       string            `json:"id"`
	Service  string            `json:"service"`
	Version  string            `json:"version"`
	Host     string            `json:"host"`
	Port     int               `json:"port,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// HealthCheck is the URL that probes the instance.
	HealthCheck string    `json:"healthCheck,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
	LastSeen    time.Time `json:"lastSeen"`
	// Stopped marks an instance that said goodbye.
	Stopped bool `json:"stopped,omitempty"`
}

// Poller is a worker as Temporal sees it polling a task queue.
type Poller struct {
	Queue      string
	Identity   string
	LastAccess time.Time
}

// Instance is one running instance of a service, as the registry shows it.
type Instance struct {
	ID          string            `json:"id"`
	Host        string            `json:"host"`
	Port        int               `json:"port,omitempty"`
	Status      string            `json:"status"`
	HealthCheck string            `json:"healthCheck,omitempty"`
	Metadata    map[string]string `json:"metadata"`
	Version     string            `json:"version,omitempty"`
	LastSeen    time.Time         `json:"lastSeen"`
}

// Service is one service with its instances, in the seed's shape.
type Service struct {
	Service             string     `json:"service"`
	Version             string     `json:"version"`
	Instances           []Instance `json:"instances"`
	LoadBalancer        string     `json:"loadBalancer"`
	HealthCheckInterval string     `json:"healthCheckInterval"`
}

// Known are the services the registry always lists, running or not, for
// queues: a service with no instance is shown empty, so a missing one is
// seen rather than absent.
func Known(queues []string) []string {
	out := []string{ServiceAPI, ServiceRelay, ServiceNotify, ServiceMLLP}
	for _, q := range queues {
		out = append(out, WorkerService(q))
	}
	return out
}

// loadBalancer is how each service's work is spread across its instances.
func loadBalancer(service string) string {
	switch service {
	case ServiceAPI:
		return "round-robin"
	case ServiceRelay:
		return "leader"
	case ServiceMLLP:
		return "connection"
	}
	return "task-queue"
}

// Build is the registry as of now: every known service (and any other one
// heartbeating), each instance with its status — down once stopped,
// unhealthy once its heartbeat is older than three intervals — and the
// workers Temporal sees polling that heartbeat nowhere (another build, a
// process of another machine), which are healthy while Temporal saw them
// within three intervals. Services and instances are in a stable order.
func Build(now time.Time, interval time.Duration, known []string, beats []Heartbeat, pollers []Poller) []Service {
	stale := 3 * interval
	byName := map[string]*Service{}
	var order []string
	get := func(name string) *Service {
		if s, ok := byName[name]; ok {
			return s
		}
		s := &Service{Service: name, Instances: []Instance{}, LoadBalancer: loadBalancer(name), HealthCheckInterval: interval.String()}
		byName[name] = s
		order = append(order, name)
		return s
	}
	for _, name := range known {
		get(name)
	}
	seen := map[string]bool{}
	for _, b := range beats {
		s := get(b.Service)
		status := StatusHealthy
		switch {
		case b.Stopped:
			status = StatusDown
		case now.Sub(b.LastSeen) > stale:
			status = StatusUnhealthy
		}
		md := map[string]string{}
		for k, v := range b.Metadata {
			md[k] = v
		}
		s.Instances = append(s.Instances, Instance{ID: b.ID, Host: b.Host, Port: b.Port, Status: status, HealthCheck: b.HealthCheck,
			Metadata: md, Version: b.Version, LastSeen: b.LastSeen})
		if status == StatusHealthy && (s.Version == "" || b.Version > s.Version) {
			s.Version = b.Version
		}
		seen[b.Service+"|"+b.ID] = true
	}
	for _, p := range pollers {
		name := WorkerService(p.Queue)
		if seen[name+"|"+p.Identity] {
			// The heartbeating instance, polling: say Temporal sees it.
			for i, in := range get(name).Instances {
				if in.ID == p.Identity {
					get(name).Instances[i].Metadata["seenBy"] = "heartbeat,temporal"
				}
			}
			continue
		}
		seen[name+"|"+p.Identity] = true
		// A worker's long poll renews its last access only when it
		// returns, a minute at most: older than pollerStale, it is gone.
		status := StatusHealthy
		if now.Sub(p.LastAccess) > max(stale, pollerStale) {
			status = StatusUnhealthy
		}
		get(name).Instances = append(get(name).Instances, Instance{ID: p.Identity, Status: status, LastSeen: p.LastAccess,
			Metadata: map[string]string{"seenBy": "temporal", "taskQueue": p.Queue}})
	}
	out := make([]Service, 0, len(order))
	for _, name := range order {
		s := byName[name]
		slices.SortFunc(s.Instances, func(a, b Instance) int { return cmp.Compare(a.ID, b.ID) })
		out = append(out, *s)
	}
	return out
}
