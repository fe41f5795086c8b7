package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// liveStream is one open GET /v1/notifications/stream; items carries the
// ids of the notifications it announces.
type liveStream struct {
	res   *http.Response
	items chan uuid.UUID
}

// openStream opens the stream of the practitioner token acts as, naming
// them in practitionerId.
func openStream(t *testing.T, ctx context.Context, srv *httptest.Server, token, practitioner string) (*http.Response, *liveStream) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/notifications/stream?practitionerId="+practitioner, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		return res, nil
	}
	s := &liveStream{res: res, items: make(chan uuid.UUID, 8)}
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var it notification.InboxItem
			if json.Unmarshal([]byte(data), &it) == nil {
				s.items <- it.NotificationID
			}
		}
	}()
	return res, s
}

// 60 live streams of six clients share one LISTEN connection: the
// database's connections stay bounded by the pool, and each stream still
// gets its practitioner's notification. A client's eleventh stream is
// refused with 429 TOO_MANY_STREAMS until one of its ten closes. Each
// stream is a practitioner's, signed in on one of the six ward apps.
func TestSixtyStreamsShareOneListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := pgtest.NewPool(t) // at most 8 pooled connections
	store := postgres.NewNotificationStore(pool)
	tokens := stubVerifier{}
	practitioners := make([]string, 60)
	tokenOf := map[string]string{} // practitioner → token
	for i := range practitioners {
		id := uuid.Must(uuid.NewV7()).String()
		practitioners[i], tokenOf[id] = id, fmt.Sprint("ward-", i%6, "/", i)
		tokens[tokenOf[id]] = access.Principal{Subject: "u-" + id, ClientID: fmt.Sprint("ward-", i%6), UserID: "u-" + id,
			PractitionerID: id, Scopes: []string{"user/Communication.read"}}
	}
	srv := httptest.NewServer(NewRouter(Deps{
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Audit:    postgres.NewAuditStore(pool),
		Inbox:    store,
		Verifier: tokens,
		Health:   NewHealth(nil, time.Second),
		Metrics:  NewMetrics(),
	}))
	t.Cleanup(srv.Close)
	var db string
	if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	connections := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	streams := map[string]*liveStream{}
	var client0 []*liveStream
	for i, practitioner := range practitioners {
		res, s := openStream(t, ctx, srv, tokenOf[practitioner], practitioner)
		if s == nil {
			t.Fatalf("stream %d: %d", i, res.StatusCode)
		}
		streams[practitioner] = s
		if i%6 == 0 {
			client0 = append(client0, s)
		}
	}
	if n := connections(); n > 8+1+1 {
		t.Fatalf("60 streams hold %d connections to the database; want at most the pool's 8, one listener and a spare", n)
	}

	// A notification for each practitioner reaches its stream, and only it.
	want := map[string]uuid.UUID{}
	for practitioner := range streams {
		n := notification.Notification{ID: uuid.Must(uuid.NewV7()), AlertID: uuid.New(), PatientID: uuid.New(),
			PractitionerID: practitioner, Channel: notification.ChannelInApp, Subject: "NEWS2 7", Body: "Bed 4: review now.",
			Severity: "urgent", Category: "news2", Level: 1}
		if _, err := store.Accept(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddInboxItem(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		want[practitioner] = n.ID
	}
	for practitioner, s := range streams {
		select {
		case got := <-s.items:
			if got != want[practitioner] {
				t.Errorf("%s's stream announced %s, want %s", practitioner, got, want[practitioner])
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s's stream got nothing", practitioner)
		}
	}
	if n := connections(); n > 8+1+1 {
		t.Fatalf("after the notifications, %d connections", n)
	}

	// The eleventh stream of one client.
	first := practitioners[0]
	res, s := openStream(t, ctx, srv, tokenOf[first], first)
	if s != nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("eleventh stream: %d, want 429", res.StatusCode)
	}
	var body RateLimitBody
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Error != CodeTooManyStreams || body.RetryAfter < 1 ||
		res.Header.Get("Retry-After") == "" || body.RequestID == "" {
		t.Fatalf("refusal %+v (%v), headers %v", body, err, res.Header)
	}
	res.Body.Close()
	// Closing one of ward-0's streams frees a place.
	client0[0].res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, s := openStream(t, ctx, srv, tokenOf[first], first)
		if s != nil {
			break
		}
		res.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("after closing a stream the client still gets %d", res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
