package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/registry"
)

// ServiceRegistry is where the instances' heartbeats are kept.
type ServiceRegistry interface {
	Heartbeats(ctx context.Context, now time.Time) ([]registry.Heartbeat, error)
}

// servicesRoutes serve GET /v1/services: every service of the engine with
// its instances, from their heartbeats and, for workers, from the pollers
// Temporal sees on their task queues.
type servicesRoutes struct {
	*edge
	store    ServiceRegistry
	temporal client.Client
	// queues are the worker task queues; interval the heartbeat interval.
	queues   []string
	interval time.Duration
}

func (s *servicesRoutes) routes() []Route {
	return []Route{{http.MethodGet, "/v1/services", "system/Endpoint.read", entityEndpoint, s.list}}
}

// ServicesBody is GET /v1/services.
type ServicesBody struct {
	Data []registry.Service `json:"data"`
}

func (s *servicesRoutes) list(c *gin.Context) {
	if s.store == nil {
		abort(c, http.StatusServiceUnavailable, CodeUnavailable, "This server keeps no service registry.")
		return
	}
	auditOf(c).about(audit.ActionSearch, entityEndpoint, "", nil)
	now := s.now()
	beats, err := s.store.Heartbeats(c.Request.Context(), now)
	if err != nil {
		s.fail(c, err)
		return
	}
	pollers := s.pollers(c.Request.Context())
	c.JSON(http.StatusOK, ServicesBody{Data: registry.Build(now, s.interval, registry.Known(s.queues), beats, pollers)})
}

// pollers are the workers Temporal sees polling each queue for workflow
// tasks. A queue Temporal cannot describe just now adds none: the
// heartbeats still show its workers.
func (s *servicesRoutes) pollers(ctx context.Context) []registry.Poller {
	if s.temporal == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var out []registry.Poller
	for _, q := range s.queues {
		res, err := s.temporal.DescribeTaskQueue(ctx, q, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			s.log.WarnContext(ctx, "task queue not described", "queue", q, "error", err)
			continue
		}
		out = append(out, pollersOf(q, res)...)
	}
	return out
}

func pollersOf(queue string, res *workflowservice.DescribeTaskQueueResponse) []registry.Poller {
	var out []registry.Poller
	for _, p := range res.GetPollers() {
		out = append(out, registry.Poller{Queue: queue, Identity: p.GetIdentity(), LastAccess: p.GetLastAccessTime().AsTime()})
	}
	return out
}
