package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

const opsReadToken = "ops-read"

// newDeliveriesAPI serves the router with only the delivery log on a fresh
// database and returns the notification store behind it, for the test to
// fill.
func newDeliveriesAPI(t *testing.T) (*httptest.Server, *postgres.NotificationStore, *postgres.AuditStore) {
	t.Helper()
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	store := postgres.NewNotificationStore(pool)
	d.Deliveries = store
	d.Verifier.(stubVerifier)[opsReadToken] = access.Principal{Subject: "ops.rina", ClientID: "ops-console", Scopes: []string{"system/Communication.read"}}
	return serveRouter(t, d), store, auditStore
}

// storedNotification accepts a notification on channel and, unless outcome
// is empty, records one attempt with that outcome.
func storedNotification(t *testing.T, s *postgres.NotificationStore, channel string, patient uuid.UUID, outcome, detail string) notification.Notification {
	t.Helper()
	ctx := context.Background()
	n := notification.Notification{
		ID: uuid.Must(uuid.NewV7()), AlertID: uuid.Must(uuid.NewV7()), PatientID: patient,
		PractitionerID: uuid.NewString(), Channel: channel, Address: "+8801711000009",
		Subject: "Critical potassium", Body: "Bed 3: K 6.9", Severity: "critical", Level: 1,
		CreatedAt: time.Now().UTC(),
	}
	if _, err := s.Accept(ctx, n); err != nil {
		t.Fatal(err)
	}
	if outcome != "" {
		if _, err := s.RecordAttempt(ctx, n.ID, notification.AttemptResult{Outcome: outcome, Detail: detail}); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

type deliveryPageJSON struct {
	Data []notification.Delivery `json:"data"`
	Next *string                 `json:"next"`
}

func TestDeliveryLogFindsDeadLetters(t *testing.T) {
	srv, store, auditStore := newDeliveriesAPI(t)
	patient := uuid.Must(uuid.NewV7())
	dead := storedNotification(t, store, notification.ChannelSMS, patient, notification.AttemptDead, "webhook: provider answered 400: invalid number")
	storedNotification(t, store, notification.ChannelEmail, uuid.Must(uuid.NewV7()), notification.AttemptDelivered, "smtp:1")
	storedNotification(t, store, notification.ChannelPush, uuid.Must(uuid.NewV7()), "", "")

	r := call(t, srv, "GET", "/v1/notifications/deliveries?status=dead", opsReadToken, "", "X-Request-Id", "dead-1")
	var page deliveryPageJSON
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK {
		t.Fatalf("list dead: %d %s", r.status, r.body)
	}
	if len(page.Data) != 1 || page.Next != nil {
		t.Fatalf("dead letters: %s", r.body)
	}
	d := page.Data[0]
	if d.ID != dead.ID || d.Status != "dead" || d.Channel != "sms" || d.PatientID != patient || len(d.History) != 1 ||
		d.History[0].Outcome != "dead" || !strings.Contains(d.LastError, "400") || strings.Contains(r.body, "K 6.9") {
		t.Errorf("dead letter %s", r.body)
	}
	recs := recordsFor(t, auditStore, "dead-1")
	if len(recs) != 1 || recs[0].Action != audit.ActionSearch || recs[0].EntityType != "Communication" ||
		recs[0].PatientID == nil || *recs[0].PatientID != patient {
		t.Errorf("audit record of the search: %+v", recs)
	}

	r = call(t, srv, "GET", "/v1/notifications/deliveries?status=pending", opsReadToken, "")
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || len(page.Data) != 1 || page.Data[0].Channel != "push" {
		t.Errorf("pending: %d %s", r.status, r.body)
	}
	r = call(t, srv, "GET", "/v1/notifications/deliveries?limit=2", opsReadToken, "")
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || len(page.Data) != 2 || page.Next == nil {
		t.Fatalf("first page: %d %s", r.status, r.body)
	}
	r = call(t, srv, "GET", "/v1/notifications/deliveries?limit=2&cursor="+*page.Next, opsReadToken, "")
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || len(page.Data) != 1 || page.Next != nil || page.Data[0].ID != dead.ID {
		t.Errorf("last page: %d %s", r.status, r.body)
	}

	for _, q := range []string{"status=lost", "channel=fax", "alertId=x", "patientId=x", "from=yesterday",
		"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "limit=0", "limit=201", "cursor=nope", "practitionerId=p"} {
		r := call(t, srv, "GET", "/v1/notifications/deliveries?"+q, opsReadToken, "")
		if e := decodeErr(t, r); r.status != http.StatusBadRequest || e.Error != CodeValidationFailed {
			t.Errorf("?%s: %d %s", q, r.status, r.body)
		}
	}
	if r := call(t, srv, "GET", "/v1/notifications/deliveries", readerToken, ""); r.status != http.StatusForbidden {
		t.Errorf("without Communication.read: %d", r.status)
	}
}

func TestRetryRequeuesOnlyADeadLetter(t *testing.T) {
	srv, store, auditStore := newDeliveriesAPI(t)
	patient := uuid.Must(uuid.NewV7())
	dead := storedNotification(t, store, notification.ChannelSMS, patient, notification.AttemptDead, "webhook: provider answered 400")
	delivered := storedNotification(t, store, notification.ChannelEmail, patient, notification.AttemptDelivered, "smtp:1")
	path := "/v1/notifications/deliveries/" + dead.ID.String() + "/retry"

	if r := call(t, srv, "POST", path, opsReadToken, ""); r.status != http.StatusForbidden {
		t.Fatalf("retry without Communication.write: %d %s", r.status, r.body)
	}
	long := `{"reason":"` + strings.Repeat("x", maxRequeueReason+1) + `"}`
	if r := call(t, srv, "POST", path, adminToken, long); r.status != http.StatusBadRequest {
		t.Fatalf("long reason: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", path, adminToken, `{"why":"x"}`); r.status != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}

	r := call(t, srv, "POST", path, adminToken, `{"reason":"gateway number fixed"}`, "X-Request-Id", "requeue-1")
	if r.status != http.StatusOK {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	var d notification.Delivery
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatal(err)
	}
	if d.Status != "queued" || d.Attempts != 0 || d.Round != 1 || len(d.History) != 2 ||
		d.History[1].Outcome != "requeued" || d.History[1].By != "admin" || d.History[1].Detail != "gateway number fixed" {
		t.Errorf("requeued delivery %s", r.body)
	}
	recs := recordsFor(t, auditStore, "requeue-1")
	if len(recs) != 1 || recs[0].Action != audit.ActionUpdate || recs[0].Outcome != audit.OutcomeSuccess ||
		recs[0].EntityID != dead.ID.String() || recs[0].PatientID == nil || *recs[0].PatientID != patient || recs[0].Status != 200 {
		t.Errorf("audit record of the requeue: %+v", recs)
	}

	// Again: already queued, so refused and nothing changes.
	r = call(t, srv, "POST", path, adminToken, `{"reason":"again"}`, "X-Request-Id", "requeue-2")
	if e := decodeErr(t, r); r.status != http.StatusConflict || e.Error != CodeDeliveryPending || !strings.Contains(e.Message, "queued") {
		t.Errorf("second retry: %d %s", r.status, r.body)
	}
	if recs := recordsFor(t, auditStore, "requeue-2"); len(recs) != 1 || recs[0].Status != 409 || recs[0].Outcome != audit.OutcomeFailure {
		t.Errorf("audit record of the refused retry: %+v", recs)
	}
	n, err := store.Get(context.Background(), dead.ID)
	if err != nil || n.Round != 1 || len(n.AttemptLog) != 2 {
		t.Errorf("after a refused retry: round %d, %d history entries, %v", n.Round, len(n.AttemptLog), err)
	}

	r = call(t, srv, "POST", "/v1/notifications/deliveries/"+delivered.ID.String()+"/retry", adminToken, "")
	if e := decodeErr(t, r); r.status != http.StatusConflict || e.Error != CodeDeliveryDelivered {
		t.Errorf("retry of a delivered notification: %d %s", r.status, r.body)
	}
	r = call(t, srv, "POST", "/v1/notifications/deliveries/"+uuid.NewString()+"/retry", adminToken, "")
	if e := decodeErr(t, r); r.status != http.StatusNotFound || e.Error != CodeNotFound {
		t.Errorf("retry of an unknown notification: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", "/v1/notifications/deliveries/not-a-uuid/retry", adminToken, ""); r.status != http.StatusBadRequest {
		t.Errorf("malformed id: %d %s", r.status, r.body)
	}

	// The body is optional.
	other := storedNotification(t, store, notification.ChannelPush, patient, notification.AttemptDead, "410")
	r = call(t, srv, "POST", "/v1/notifications/deliveries/"+other.ID.String()+"/retry", adminToken, "")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"outcome":"requeued"`) {
		t.Errorf("retry without a body: %d %s", r.status, r.body)
	}
}
