package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// An operator with the admin role lists the outbox's dead letters and
// requeues one with a reason; the requeue is audited with who and why, a
// second one is refused, and clinical roles see nothing.
func TestOutboxDeadLetterRoutes(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	auditStore := postgres.NewAuditStore(pool)
	const operatorToken, nurseToken = "operator", "nurse"
	srv := httptest.NewServer(NewRouter(Deps{
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Audit:       auditStore,
		DeadLetters: postgres.NewDeadLetterStore(pool),
		Verifier: stubVerifier{
			operatorToken: {Subject: "ops-desk", ClientID: "ops", Scopes: access.RoleAdmin.Scopes(), Roles: []string{"admin"}},
			nurseToken:    {Subject: "ward", ClientID: "ward", Scopes: access.RoleNurse.Scopes(), Roles: []string{"nurse"}},
		},
		Health:  NewHealth(nil, time.Second),
		Metrics: NewMetrics(),
	}))
	t.Cleanup(srv.Close)

	patient := uuid.New()
	reader := postgres.NewOutboxReader(pool)
	defer reader.Close()
	var ids []uuid.UUID
	for range 3 {
		e := postgres.OutboxEvent{ID: uuid.Must(uuid.NewV7()), Topic: postgres.ClinicalTopic, Key: patient.String(),
			Type: "note.created", Source: "/v1/clinical/notes", Subject: "DocumentReference/x", Time: time.Now(),
			Data: json.RawMessage(`{"text":"Stable overnight."}`)}
		if err := postgres.AppendOutbox(ctx, pool, e); err != nil {
			t.Fatal(err)
		}
		if err := reader.DeadLetter(ctx, e.ID, 2_000_000, "[10] Message Size Too Large", 4); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}

	const list = "/v1/integration/outbox/dead-letters"
	if r := call(t, srv, "GET", list, nurseToken, ""); r.status != http.StatusForbidden {
		t.Fatalf("nurse lists dead letters: %d %s", r.status, r.body)
	}
	r := call(t, srv, "GET", list+"?status=dead&limit=2", operatorToken, "")
	var page struct {
		Data []map[string]any `json:"data"`
		Next *string          `json:"next"`
	}
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK || len(page.Data) != 2 || page.Next == nil {
		t.Fatalf("first page: %d %s", r.status, r.body)
	}
	if _, ok := page.Data[0]["data"]; ok || page.Data[0]["error"] != "[10] Message Size Too Large" || page.Data[0]["attempts"] != 4.0 {
		t.Fatalf("a dead letter as listed: %v", page.Data[0])
	}
	r = call(t, srv, "GET", list+"?status=dead&limit=2&cursor="+*page.Next, operatorToken, "")
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || len(page.Data) != 1 || page.Next != nil {
		t.Fatalf("second page: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "GET", list+"?status=gone", operatorToken, ""), http.StatusBadRequest, CodeValidationFailed)
	wantCode(t, call(t, srv, "GET", list+"?cursor=zzz", operatorToken, ""), http.StatusBadRequest, CodeValidationFailed)

	retry := list + "/" + ids[0].String() + "/retry"
	if r := call(t, srv, "POST", retry, nurseToken, `{"reason":"x"}`); r.status != http.StatusForbidden {
		t.Fatalf("nurse requeues: %d %s", r.status, r.body)
	}
	r = call(t, srv, "POST", retry, operatorToken, `{"reason":"topic limit raised to 4 MB"}`, "X-Request-Id", "requeue-1")
	var d outbox.DeadLetter
	if err := json.Unmarshal([]byte(r.body), &d); err != nil || r.status != http.StatusOK ||
		d.Status != outbox.StatusRequeued || d.RequeuedBy != "ops-desk" || d.RequeueReason != "topic limit raised to 4 MB" {
		t.Fatalf("requeue: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, auditStore, "requeue-1")
	if len(recs) != 1 || recs[0].EntityType != "Endpoint" || recs[0].EntityID != ids[0].String() || recs[0].Actor.Subject != "ops-desk" ||
		recs[0].PatientID == nil || *recs[0].PatientID != patient || recs[0].Description != "requeue dead-lettered event: topic limit raised to 4 MB" {
		t.Fatalf("audit of the requeue: %+v", recs)
	}
	unsent, err := reader.Unsent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	back := false
	for _, e := range unsent {
		back = back || e.ID == ids[0]
	}
	if !back {
		t.Fatal("the requeued event is not back in the outbox")
	}
	wantCode(t, call(t, srv, "POST", retry, operatorToken, ""), http.StatusConflict, CodeDeadLetterRequeued)
	wantCode(t, call(t, srv, "POST", list+"/"+uuid.NewString()+"/retry", operatorToken, ""), http.StatusNotFound, CodeNotFound)
	wantCode(t, call(t, srv, "POST", list+"/not-a-uuid/retry", operatorToken, ""), http.StatusBadRequest, CodeValidationFailed)
}
