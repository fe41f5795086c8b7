package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/notification"
)

// Inbox is what the in-app notification routes need.
type Inbox interface {
	ListInbox(ctx context.Context, practitionerID string, unreadOnly bool, limit int, cursor string) ([]notification.InboxItem, string, error)
	MarkRead(ctx context.Context, practitionerID string, itemID uuid.UUID) (notification.InboxItem, error)
	// SubscribeInbox wakes the caller when the practitioner's inbox gets
	// an item, until ctx ends; every stream shares one database listener.
	SubscribeInbox(ctx context.Context, practitionerID string) (<-chan notification.InboxEvent, error)
}

// InboxPage is one page of a practitioner's in-app notifications.
type InboxPage struct {
	Data []notification.InboxItem `json:"data"`
	Next *string                  `json:"next"`
}

// inboxRoutes serve a practitioner's in-app notifications, as pages and as
// a live stream: the inbox, the count of each client's open streams, and
// the audit log a stream's record is stored in before it starts.
type inboxRoutes struct {
	*edge
	inbox    Inbox
	streams  *streamCount
	auditLog AuditLog
}

func (s *inboxRoutes) routes() []Route {
	const scopeR, scopeW, entity = "system/Communication.read", "system/Communication.write", "Communication"
	return []Route{
		{http.MethodGet, "/v1/notifications/inbox", scopeR, entity, s.listInbox},
		{http.MethodPost, "/v1/notifications/inbox/:id/read", scopeW, entity, s.markInboxRead},
		{http.MethodGet, "/v1/notifications/stream", scopeR, entity, s.streamInbox},
	}
}

// sseKeepAlive is how often an idle stream sends a comment, so proxies keep it open.
const sseKeepAlive = 15 * time.Second

// inboxOf is whose inbox the request reads: the acting practitioner's,
// from actor (a practitionerId naming anyone else is 403 ACTOR_MISMATCH).
// It reports false when it has answered.
func inboxOf(c *gin.Context) (string, bool) {
	who, ok := actor(c, "practitionerId", c.Query("practitionerId"))
	return who.String(), ok
}

func (s *inboxRoutes) listInbox(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "practitionerId", "unread", "limit", "cursor")
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	who, ok := inboxOf(c)
	if !ok {
		return
	}
	unread := false
	if v := c.Query("unread"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			verr.Add("unread", "must be true or false")
		}
		unread = b
	}
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			verr.Add("limit", "must be a whole number from 1 to 500")
		}
		limit = n
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, "Communication", who, nil)
	items, next, err := s.inbox.ListInbox(c.Request.Context(), who, unread, limit, c.Query("cursor"))
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, it := range items {
		a.disclosed(it.PatientID)
	}
	page := InboxPage{Data: items}
	if page.Data == nil {
		page.Data = []notification.InboxItem{}
	}
	if next != "" {
		page.Next = &next
	}
	c.JSON(http.StatusOK, page)
}

func (s *inboxRoutes) markInboxRead(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "practitionerId")
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		verr.Add("id", "must be a UUID")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	who, ok := inboxOf(c)
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionUpdate, "Communication", id.String(), nil)
	item, err := s.inbox.MarkRead(c.Request.Context(), who, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).rec.PatientID = &item.PatientID
	c.JSON(http.StatusOK, item)
}

// recordStreamed stores the audit record of a batch of notifications the
// stream is about to send: the stream's own record, again, naming their
// patients. False (the stream ends) when it cannot be stored: nothing is
// sent unaudited.
func (s *inboxRoutes) recordStreamed(ctx context.Context, opened audit.Record, items []notification.InboxItem) bool {
	rec := opened
	id, err := s.newID()
	if err != nil {
		return false
	}
	rec.ID, rec.Time, rec.PatientID, rec.PatientIDs = id, s.now().UTC(), nil, nil
	a := &auditing{rec: rec}
	for _, it := range items {
		a.disclosed(it.PatientID)
	}
	if err := s.auditLog.Append(context.WithoutCancel(ctx), a.rec); err != nil {
		s.log.Error("audit record of streamed notifications not stored; stream ended", "error", err)
		return false
	}
	return true
}

// streamInbox sends a practitioner's unread in-app notifications as
// Server-Sent Events, then each new one as it arrives. A client holds at
// most MaxStreamsPerClient streams at once; the next is refused with 429
// TOO_MANY_STREAMS.
func (s *inboxRoutes) streamInbox(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "practitionerId")
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	who, ok := inboxOf(c)
	if !ok {
		return
	}
	release, ok := s.openStream(c)
	if !ok {
		return
	}
	defer release()
	ctx := c.Request.Context()
	events, err := s.inbox.SubscribeInbox(ctx, who)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, "Communication", who, nil)
	// The stream's record names the patients of the unread items it opens
	// with; each later batch is recorded before it is sent.
	unread, _, err := s.inbox.ListInbox(ctx, who, true, 100, "")
	if err != nil {
		s.fail(c, err)
		return
	}
	covered := map[uuid.UUID]bool{} // sent under the stream's own record
	for _, it := range unread {
		a.disclosed(it.PatientID)
		covered[it.ID] = true
	}
	if !beginStream(c, s.auditLog, s.log) {
		return
	}
	opened := a.rec
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)

	sent := map[uuid.UUID]bool{}
	sendUnread := func() bool {
		items, _, err := s.inbox.ListInbox(ctx, who, true, 100, "")
		if err != nil {
			s.log.Warn("inbox stream read failed", "requestId", requestID(c), "error", err)
			return false
		}
		var fresh []notification.InboxItem
		for i := len(items) - 1; i >= 0; i-- { // oldest first
			if !sent[items[i].ID] {
				fresh = append(fresh, items[i])
			}
		}
		var uncovered []notification.InboxItem
		for _, it := range fresh {
			if !covered[it.ID] {
				uncovered = append(uncovered, it)
			}
		}
		if len(uncovered) > 0 && !s.recordStreamed(ctx, opened, uncovered) {
			return false
		}
		for _, it := range fresh {
			sent[it.ID] = true
			b, _ := json.Marshal(it)
			if _, err := fmt.Fprintf(c.Writer, "id: %s\nevent: notification\ndata: %s\n\n", it.ID, b); err != nil {
				return false
			}
		}
		c.Writer.Flush()
		return true
	}
	if !sendUnread() {
		return
	}
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok || !sendUnread() {
				return
			}
		case <-keepAlive.C:
			if _, err := fmt.Fprint(c.Writer, ": keep-alive\n\n"); err != nil {
				return
			}
			c.Writer.Flush()
		}
	}
}
