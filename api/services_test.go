package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/zarish-sphere/zarish/domain/registry"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// pollingTemporal answers DescribeTaskQueue with its pollers by queue; a
// queue it does not know is an error.
type pollingTemporal struct {
	client.Client
	pollers map[string][]*taskqueuepb.PollerInfo
}

func (f *pollingTemporal) DescribeTaskQueue(_ context.Context, queue string, _ enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	p, ok := f.pollers[queue]
	if !ok {
		return nil, errors.New("unavailable")
	}
	return &workflowservice.DescribeTaskQueueResponse{Pollers: p}, nil
}

// TestServicesListsEveryRoleAndItsInstances: the registry shows each
// service with the instances that heartbeat in PostgreSQL — a fresh one
// healthy, a silent one unhealthy, a stopped one down — and the workers
// Temporal sees polling that no heartbeat names; a service with no
// instance is listed empty. Only an operator's scope reads it.
func TestServicesListsEveryRoleAndItsInstances(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewServiceRegistry(pool)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, b := range []registry.Heartbeat{
		{ID: "api-1", Service: registry.ServiceAPI, Version: "1.4.0", Host: "10.1.0.5", Port: 8080, HealthCheck: "http://10.1.0.5:8080/health",
			StartedAt: now.Add(-time.Hour), LastSeen: now.Add(-2 * time.Second)},
		{ID: "api-2", Service: registry.ServiceAPI, Version: "1.4.0", Host: "10.1.0.6", Port: 8080, StartedAt: now.Add(-time.Hour),
			LastSeen: now.Add(-2 * time.Minute)},
		{ID: "relay-1", Service: registry.ServiceRelay, Version: "1.4.0", Host: "10.1.0.7", StartedAt: now.Add(-time.Hour),
			LastSeen: now.Add(-time.Minute), Stopped: true},
		{ID: "worker-1", Service: registry.WorkerService("alerts"), Version: "1.4.0", Host: "10.1.0.8", StartedAt: now.Add(-time.Hour),
			LastSeen: now.Add(-time.Second), Metadata: map[string]string{"taskQueue": "alerts"}},
		{ID: "gone", Service: registry.ServiceNotify, Version: "1.3.0", Host: "10.1.0.9", StartedAt: now.Add(-72 * time.Hour),
			LastSeen: now.Add(-48 * time.Hour)},
	} {
		if err := store.Beat(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	temporal := &pollingTemporal{pollers: map[string][]*taskqueuepb.PollerInfo{
		"alerts":     {{Identity: "worker-1", LastAccessTime: timestamppb.New(now)}, {Identity: "4242@other-host", LastAccessTime: timestamppb.New(now)}},
		"encounters": {},
	}}
	d, _ := serviceDeps(pool)
	d.Now, d.NewID = time.Now, uuid.NewV7
	routes := &servicesRoutes{store: store, temporal: temporal, queues: []string{"encounters", "alerts"}, interval: 10 * time.Second}
	srv := httptest.NewServer(serviceRouter(t, d, func(e *edge) []Route { routes.edge = e; return routes.routes() }))
	defer srv.Close()

	r := call(t, srv, http.MethodGet, "/v1/services", adminToken, "")
	var body ServicesBody
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &body) != nil {
		t.Fatalf("services: %d %s", r.status, r.body)
	}
	byName := map[string]registry.Service{}
	var names []string
	for _, s := range body.Data {
		byName[s.Service] = s
		names = append(names, s.Service)
	}
	if len(names) != 6 || names[0] != "api" || names[5] != "worker-alerts" {
		t.Fatalf("services %v", names)
	}
	status := func(service string) map[string]string {
		out := map[string]string{}
		for _, in := range byName[service].Instances {
			out[in.ID] = in.Status
		}
		return out
	}
	if got := status("api"); len(got) != 2 || got["api-1"] != "healthy" || got["api-2"] != "unhealthy" {
		t.Fatalf("api instances %v", got)
	}
	if a := byName["api"]; a.Version != "1.4.0" || a.HealthCheckInterval != "10s" || a.Instances[0].Host != "10.1.0.5" ||
		a.Instances[0].HealthCheck != "http://10.1.0.5:8080/health" || a.Instances[0].Port != 8080 {
		t.Fatalf("api %+v", a)
	}
	if got := status("relay"); got["relay-1"] != "down" {
		t.Fatalf("relay instances %v", got)
	}
	// A heartbeat two days old is pruned, not listed.
	if got := status("notify"); len(got) != 0 {
		t.Fatalf("notify instances %v", got)
	}
	if got := status("worker-alerts"); len(got) != 2 || got["worker-1"] != "healthy" || got["4242@other-host"] != "healthy" {
		t.Fatalf("alerts workers %v", got)
	}
	if got := status("worker-encounters"); len(got) != 0 {
		t.Fatalf("encounters workers %v", got)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM service_instances`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d instances kept after the prune (%v), want 4", n, err)
	}
	if r := call(t, srv, http.MethodGet, "/v1/services", readerToken, ""); r.status != http.StatusForbidden {
		t.Fatalf("a reader: %d", r.status)
	}
}

// TestHeartbeatSaysGoodbye: an instance beats while it runs and is down
// once it stops.
func TestHeartbeatSaysGoodbye(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewServiceRegistry(pool)
	ctx, cancel := context.WithCancel(context.Background())
	id := "relay-" + uuid.NewString()
	done := make(chan error, 1)
	go func() {
		done <- store.Heartbeat(ctx, registry.Heartbeat{ID: id, Service: registry.ServiceRelay, Version: "1", Host: "h"}, 50*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		beats, err := store.Heartbeats(context.Background(), time.Now())
		if err == nil && len(beats) == 1 && !beats[0].Stopped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat: %v %v", beats, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	beats, err := store.Heartbeats(context.Background(), time.Now())
	if err != nil || len(beats) != 1 || !beats[0].Stopped || beats[0].ID != id {
		t.Fatalf("after stop: %+v %v", beats, err)
	}
}
