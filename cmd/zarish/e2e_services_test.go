package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	services "github.com/zarish-sphere/zarish/domain/registry"
	"github.com/zarish-sphere/zarish/workers"
)

// TestEndToEndServiceRegistry: the dev stack, one process running every
// service, is in the registry as one healthy instance of each — the API,
// the relay, notify, the MLLP listener and a worker of every queue — and
// Temporal sees the workers polling as that same instance.
func TestEndToEndServiceRegistry(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	var body struct {
		Data []services.Service `json:"data"`
	}
	want := services.Known(workers.Queues)
	eventually(t, 30*time.Second, "every service with a healthy instance, workers seen by Temporal", func() bool {
		r := e.do(http.MethodGet, "/v1/services", admin, nil)
		r.json(t, &body)
		if r.status != http.StatusOK || len(body.Data) != len(want) {
			return false
		}
		for i, s := range body.Data {
			if s.Service != want[i] || len(s.Instances) != 1 || s.Instances[0].ID != instanceID || s.Instances[0].Status != services.StatusHealthy {
				return false
			}
			// The workers poll as the registry's instance: Temporal's view
			// and the heartbeat are one instance.
			if s.Service == services.WorkerService(workers.QueueEncounters) && s.Instances[0].Metadata["seenBy"] != "heartbeat,temporal" {
				return false
			}
		}
		return true
	})
	api := body.Data[0]
	u, err := url.Parse(e.stack.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	in := api.Instances[0]
	if api.Version == "" || api.LoadBalancer != "round-robin" || strconv.Itoa(in.Port) != u.Port() ||
		!strings.HasSuffix(in.HealthCheck, ":"+u.Port()+"/health") {
		t.Fatalf("api %+v", api)
	}
}
