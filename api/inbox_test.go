package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// The inbox routes need only the inbox: a practitioner lists their in-app
// notifications and marks one read, on the record naming its patient; a
// machine client acting as itself reads no one's inbox.
func TestInboxRoutesOnTheirOwn(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	store := postgres.NewNotificationStore(pool)
	d.Inbox = store
	srv := serveRouter(t, d)
	patient := uuid.Must(uuid.NewV7())
	n := storedNotification(t, store, notification.ChannelInApp, patient, "", "")
	item, err := store.AddInboxItem(context.Background(), n.ID)
	if err != nil {
		t.Fatal(err)
	}
	who, as := "?practitionerId="+n.PractitionerID, practitionerToken(uuid.MustParse(n.PractitionerID))

	r := call(t, srv, "GET", "/v1/notifications/inbox"+who+"&unread=true", as, "")
	var page InboxPage
	if err := json.Unmarshal([]byte(r.body), &page); err != nil || r.status != http.StatusOK ||
		len(page.Data) != 1 || page.Data[0].ID != item.ID {
		t.Fatalf("unread inbox: %d %s", r.status, r.body)
	}
	r = call(t, srv, "POST", "/v1/notifications/inbox/"+item.ID.String()+"/read", as, "", "X-Request-Id", "inbox-read")
	var read notification.InboxItem
	if err := json.Unmarshal([]byte(r.body), &read); err != nil || r.status != http.StatusOK || read.ReadAt == nil {
		t.Fatalf("mark read: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, auditStore, "inbox-read")
	if len(recs) != 1 || recs[0].Action != audit.ActionUpdate || recs[0].EntityType != "Communication" ||
		recs[0].EntityID != item.ID.String() || recs[0].PatientID == nil || *recs[0].PatientID != patient ||
		recs[0].Actor.PractitionerID != n.PractitionerID {
		t.Errorf("audit record of the read: %+v", recs)
	}

	wantCode(t, call(t, srv, "GET", "/v1/notifications/inbox"+who, adminToken, ""), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "POST", "/v1/notifications/inbox/"+item.ID.String()+"/read"+who, adminToken, ""),
		http.StatusForbidden, CodePersonRequired)
}
