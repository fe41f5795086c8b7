package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zarish-sphere/zarish/domain/notification"
)

// inboxReconnectDelay is how long the hub waits before listening again
// after its connection failed.
const inboxReconnectDelay = time.Second

// Buffer sizes of the hub's subscriptions: one practitioner's wake-ups
// coalesce (a stream re-reads the inbox on each), while a subscriber to
// every practitioner gets each announcement, up to a backlog.
const (
	practitionerBuffer = 1
	everyoneBuffer     = 64
)

// inboxHub fans one LISTEN inbox connection out to every subscriber, by
// practitioner, however many live streams there are: the connection is
// opened for the first subscriber, reopened when it fails, and closed when
// the last one leaves. Delivery never blocks the hub: a subscriber that
// has not taken its last event misses the next (see Subscribe).
type inboxHub struct {
	pool *pgxpool.Pool

	mu   sync.Mutex
	subs map[string]map[chan notification.InboxEvent]struct{} // by practitioner; "" is everyone
	n    int
	stop context.CancelFunc // ends the running listener; nil when none runs
}

func newInboxHub(pool *pgxpool.Pool) *inboxHub {
	return &inboxHub{pool: pool, subs: map[string]map[chan notification.InboxEvent]struct{}{}}
}

// subscribe sends an InboxEvent on the returned channel for each new inbox
// item of practitionerID ("" for every practitioner), until ctx ends; then
// the channel is closed. It is listening when it returns. A practitioner's
// events coalesce (the channel holds one), and after the hub reconnects
// each practitioner's subscribers get one, since items may have arrived
// while it was away; a subscriber to everyone holds up to 64 and gets no
// event for the gap.
func (h *inboxHub) subscribe(ctx context.Context, practitionerID string) (<-chan notification.InboxEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stop == nil {
		conn, err := h.listen(ctx)
		if err != nil {
			return nil, err
		}
		lctx, cancel := context.WithCancel(context.Background())
		h.stop = cancel
		go h.run(lctx, conn)
	}
	size := practitionerBuffer
	if practitionerID == "" {
		size = everyoneBuffer
	}
	ch := make(chan notification.InboxEvent, size)
	if h.subs[practitionerID] == nil {
		h.subs[practitionerID] = map[chan notification.InboxEvent]struct{}{}
	}
	h.subs[practitionerID][ch] = struct{}{}
	h.n++
	context.AfterFunc(ctx, func() { h.unsubscribe(practitionerID, ch) })
	return ch, nil
}

// unsubscribe removes ch and closes it; the last subscriber stops the
// listener.
func (h *inboxHub) unsubscribe(practitionerID string, ch chan notification.InboxEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[practitionerID], ch)
	if len(h.subs[practitionerID]) == 0 {
		delete(h.subs, practitionerID)
	}
	close(ch)
	if h.n--; h.n == 0 && h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

// listen takes a connection out of the pool for good and listens on it.
func (h *inboxHub) listen(ctx context.Context) (*pgx.Conn, error) {
	pc, err := h.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen inbox: %w", err)
	}
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, "LISTEN "+inboxChannel); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("listen inbox: %w", err)
	}
	return conn, nil
}

// run delivers conn's notifications until ctx ends, listening again on a
// new connection whenever one fails.
func (h *inboxHub) run(ctx context.Context, conn *pgx.Conn) {
	for {
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				break
			}
			h.deliver(n.Payload)
		}
		_ = conn.Close(context.Background())
		for conn = nil; conn == nil; {
			select {
			case <-ctx.Done():
				return
			case <-time.After(inboxReconnectDelay):
			}
			conn, _ = h.listen(ctx)
		}
		h.resync()
	}
}

// deliver announces a new item of practitionerID to its subscribers and to
// those of everyone, without waiting for any of them.
func (h *inboxHub) deliver(practitionerID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := notification.InboxEvent{PractitionerID: practitionerID}
	for _, key := range []string{practitionerID, ""} {
		if key == "" && practitionerID == "" {
			continue
		}
		for ch := range h.subs[key] {
			select {
			case ch <- ev:
			default:
			}
		}
	}
}

// resync wakes every practitioner's subscribers after a gap in listening.
func (h *inboxHub) resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for practitionerID, chans := range h.subs {
		if practitionerID == "" {
			continue
		}
		for ch := range chans {
			select {
			case ch <- notification.InboxEvent{PractitionerID: practitionerID}:
			default:
			}
		}
	}
}
