package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/subscription"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// subscriptionServer serves only the subscription routes, over a real store.
func subscriptionServer(t *testing.T, allowPrivate bool) (*httptest.Server, *postgres.SubscriptionStore) {
	t.Helper()
	store := postgres.NewSubscriptionStore(pgtest.NewPool(t))
	routes := &subscriptionRoutes{edge: &edge{log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now, newID: uuid.NewV7},
		store: store, allowPrivate: allowPrivate}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(withRequestID())
	for _, rt := range routes.routes() {
		r.Handle(rt.Method, rt.Path, rt.handler)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, store
}

// An operator subscribes an endpoint, never sees its secret again, pauses
// and resumes it over its version, lists its deliveries, replays one and
// deletes it; a private endpoint is refused unless allowed.
func TestSubscriptionRoutes(t *testing.T) {
	srv, store := subscriptionServer(t, true)
	const base = "/v1/integration/subscriptions"
	body := `{"name":"Registry","eventTypes":["observation.*"],"endpoint":"http://127.0.0.1:9/hook","secret":"0123456789abcdef"}`
	r := call(t, srv, "POST", base, "", body)
	if r.status != http.StatusCreated || strings.Contains(r.body, "0123456789abcdef") || strings.Contains(r.body, "secret") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var sub SubscriptionView
	if err := json.Unmarshal([]byte(r.body), &sub); err != nil || sub.Status != subscription.StatusActive || sub.Version != 1 {
		t.Fatalf("created: %s", r.body)
	}
	one := base + "/" + sub.ID.String()
	if r := call(t, srv, "GET", one, "", ""); r.status != http.StatusOK || strings.Contains(r.body, "0123456789abcdef") {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "POST", base, "", strings.Replace(body, `"0123456789abcdef"`, `"short"`, 1)), http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, srv, "POST", base, "", strings.Replace(body, `http://`, `ftp://`, 1)), http.StatusBadRequest, CodeValidationFailed)

	pause := `{"name":"Registry","eventTypes":["observation.*"],"endpoint":"http://127.0.0.1:9/hook","status":"paused"}`
	wantCode(t, call(t, srv, "PUT", one, "", pause), http.StatusPreconditionRequired, CodePreconditionRequired)
	wantCode(t, call(t, srv, "PUT", one, "", pause, "If-Match", `"7"`), http.StatusPreconditionFailed, CodePreconditionFailed)
	r = call(t, srv, "PUT", one, "", pause, "If-Match", `"1"`)
	if err := json.Unmarshal([]byte(r.body), &sub); err != nil || r.status != http.StatusOK || sub.Status != subscription.StatusPaused ||
		sub.Version != 2 || sub.PausedReason == "" {
		t.Fatalf("pause: %d %s", r.status, r.body)
	}
	if got, _ := store.Get(context.Background(), sub.ID); got.Secret != "0123456789abcdef" {
		t.Fatal("a PUT without a secret lost it")
	}
	if r := call(t, srv, "GET", base+"?status=paused", "", ""); r.status != http.StatusOK || !strings.Contains(r.body, sub.ID.String()) {
		t.Fatalf("list paused: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "GET", base+"?status=gone", "", ""), http.StatusBadRequest, CodeValidationFailed)

	ev := subscription.Event{ID: uuid.Must(uuid.NewV7()), Type: "observation.recorded", Payload: json.RawMessage(`{}`)}
	if _, err := store.Enqueue(context.Background(), ev, time.Now()); err != nil {
		t.Fatal(err)
	}
	r = call(t, srv, "GET", one+"/deliveries?status=pending", "", "")
	var page struct {
		Data []subscription.Delivery `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK || len(page.Data) != 1 || page.Data[0].EventID != ev.ID {
		t.Fatalf("deliveries: %d %s", r.status, r.body)
	}
	replay := one + "/deliveries/" + page.Data[0].ID.String() + "/replay"
	if r := call(t, srv, "POST", replay, "", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"pending"`) {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "POST", one+"/deliveries/"+uuid.NewString()+"/replay", "", ""), http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, srv, "POST", one+"/deliveries/x/replay", "", ""), http.StatusBadRequest, CodeValidationFailed)

	if r := call(t, srv, "DELETE", one, "", ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "GET", one, "", ""), http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, srv, "GET", one+"/deliveries", "", ""), http.StatusNotFound, CodeNotFound)

	strict, _ := subscriptionServer(t, false)
	for _, endpoint := range []string{"http://127.0.0.1:9/hook", "https://10.0.0.1/h", "http://169.254.169.254/latest", "https://[::1]/h", "http://localhost/h"} {
		r := call(t, strict, "POST", base, "", strings.Replace(body, "http://127.0.0.1:9/hook", endpoint, 1))
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "endpoint") {
			t.Errorf("%s: %d %s", endpoint, r.status, r.body)
		}
	}
}

// The subscription routes are documented with their scopes and every
// parameter they read.
func TestSubscriptionRoutesDocumented(t *testing.T) {
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	routes := (&subscriptionRoutes{}).routes()
	for _, rt := range routes {
		path := ginParam.ReplaceAllString(rt.Path, "{$1}")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s is not documented", rt.Method, path)
			continue
		}
		op := item.GetOperation(rt.Method)
		if !strings.Contains(jsonOf(op.Security), rt.Scope) {
			t.Errorf("%s %s does not document %s", rt.Method, path, rt.Scope)
		}
		if resp := op.Responses.Status(429); resp == nil {
			t.Errorf("%s %s does not document its 429", rt.Method, path)
		}
	}
	for _, p := range []struct{ method, path, param string }{
		{"GET", "/v1/integration/subscriptions", "status"}, {"GET", "/v1/integration/subscriptions", "cursor"},
		{"GET", "/v1/integration/subscriptions/{id}/deliveries", "status"}, {"PUT", "/v1/integration/subscriptions/{id}", "If-Match"},
		{"POST", "/v1/integration/subscriptions/{id}/deliveries/{deliveryId}/replay", "deliveryId"},
	} {
		op := doc.Paths.Find(p.path).GetOperation(p.method)
		found := false
		for _, prm := range op.Parameters {
			found = found || prm.Value.Name == p.param
		}
		if !found {
			t.Errorf("%s %s does not document %s", p.method, p.path, p.param)
		}
	}
	write := doc.Components.Schemas["SubscriptionWrite"].Value
	if *write.Properties["eventTypes"].Value.MaxItems != subscription.MaxEventTypes ||
		*write.Properties["name"].Value.MaxLength != subscription.MaxNameLen ||
		write.Properties["secret"].Value.MinLength != subscription.MinSecretLen {
		t.Error("the documented limits are not the domain's")
	}
}
