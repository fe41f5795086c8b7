package registry

import (
	"testing"
	"time"
)

func TestBuildMarksEachInstance(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	interval := 10 * time.Second
	beats := []Heartbeat{
		{ID: "api-b", Service: ServiceAPI, Version: "1.2.0", Host: "10.0.0.2", Port: 8080, LastSeen: now.Add(-5 * time.Second)},
		{ID: "api-a", Service: ServiceAPI, Version: "1.2.0", Host: "10.0.0.1", Port: 8080, LastSeen: now.Add(-31 * time.Second)},
		{ID: "w-1", Service: WorkerService("alerts"), Version: "1.2.0", Host: "10.0.0.3", LastSeen: now.Add(-time.Second),
			Metadata: map[string]string{"taskQueue": "alerts"}},
		{ID: "relay-old", Service: ServiceRelay, Version: "1.1.0", Host: "10.0.0.4", LastSeen: now.Add(-time.Minute), Stopped: true},
	}
	pollers := []Poller{
		{Queue: "alerts", Identity: "w-1", LastAccess: now},                               // the heartbeating worker: listed once
		{Queue: "alerts", Identity: "w-elsewhere", LastAccess: now.Add(-2 * time.Second)}, // seen by Temporal alone
		{Queue: "encounters", Identity: "w-stale", LastAccess: now.Add(-time.Hour)},
		{Queue: "encounters", Identity: "w-long-poll", LastAccess: now.Add(-70 * time.Second)}, // in a long poll
	}
	got := Build(now, interval, Known([]string{"encounters", "alerts"}), beats, pollers)
	names := []string{}
	for _, s := range got {
		names = append(names, s.Service)
	}
	want := []string{"api", "relay", "notify", "mllp", "worker-encounters", "worker-alerts"}
	if len(names) != len(want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("services %v, want %v", names, want)
		}
	}
	api := got[0]
	if api.Version != "1.2.0" || api.LoadBalancer != "round-robin" || api.HealthCheckInterval != "10s" || len(api.Instances) != 2 ||
		api.Instances[0].ID != "api-a" || api.Instances[0].Status != StatusUnhealthy || api.Instances[1].Status != StatusHealthy {
		t.Fatalf("api %+v", api)
	}
	if relay := got[1]; len(relay.Instances) != 1 || relay.Instances[0].Status != StatusDown || relay.Version != "" || relay.LoadBalancer != "leader" {
		t.Fatalf("relay %+v", relay)
	}
	if notify := got[2]; len(notify.Instances) != 0 {
		t.Fatalf("notify %+v", notify)
	}
	alerts := got[5]
	if len(alerts.Instances) != 2 || alerts.Instances[0].ID != "w-1" || alerts.Instances[0].Host != "10.0.0.3" ||
		alerts.Instances[0].Metadata["seenBy"] != "heartbeat,temporal" || alerts.Instances[0].Metadata["taskQueue"] != "alerts" ||
		alerts.Instances[1].ID != "w-elsewhere" || alerts.Instances[1].Status != StatusHealthy || alerts.Instances[1].Metadata["seenBy"] != "temporal" {
		t.Fatalf("alerts workers %+v", alerts.Instances)
	}
	if enc := got[4]; len(enc.Instances) != 2 || enc.Instances[0].ID != "w-long-poll" || enc.Instances[0].Status != StatusHealthy ||
		enc.Instances[1].Status != StatusUnhealthy {
		t.Fatalf("encounters workers %+v", enc.Instances)
	}
}
