package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// liveKeepAlive is how often an idle board stream sends a comment, so
// proxies keep it open.
const liveKeepAlive = 20 * time.Second

// liveRetry is how long the browser waits before reconnecting a stream
// that ended, in milliseconds.
const liveRetry = 3000

// events serves the board's live stream: it relays the signed-in user's
// inbox stream (GET /v1/notifications/stream with their token) and, on each
// notification, tells the page to fetch its rows again. The notifications
// themselves stay on the server: the page reads the board through the
// API's own views. When the API's stream ends, so does this one, and the
// browser reconnects.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	if !validUnit.MatchString(r.PathValue("unit")) {
		http.NotFound(w, r)
		return
	}
	s, ok := c.signedIn(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	res, err := c.api.do(ctx, call{from: r, method: http.MethodGet, path: "/v1/notifications/stream", token: s.Access})
	if err != nil {
		http.Error(w, "The live stream could not be opened.", http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		c.clearSession(w, r)
		http.Error(w, "Signed out: sign in again.", http.StatusUnauthorized)
		return
	case res.StatusCode != http.StatusOK:
		// A user who is no practitioner has no inbox: the page still
		// works, without live updates. 429 means the console's streams
		// are at their cap; the browser retries.
		w.Header().Set("Retry-After", "10")
		http.Error(w, "Live updates are not available.", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		c.log.WarnContext(r.Context(), "board stream write deadline not lifted", "error", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", liveRetry); err != nil {
		return
	}
	_ = rc.Flush()

	notified := make(chan struct{}, 1)
	go func() {
		defer cancel()
		relayed(res.Body, func() {
			select {
			case notified <- struct{}{}:
			default: // a refresh is already pending
			}
		})
	}()
	keepAlive := time.NewTicker(liveKeepAlive)
	defer keepAlive.Stop()
	for {
		var msg string
		select {
		case <-ctx.Done():
			return
		case <-c.stop: // the server is draining; the browser reconnects elsewhere
			return
		case <-notified:
			msg = "event: refresh\ndata: {}\n\n"
		case <-keepAlive.C:
			msg = ": keep-alive\n\n"
		}
		if _, err := io.WriteString(w, msg); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// relayed reads a Server-Sent Events stream until it ends and calls notify
// once per event (a comment is no event).
func relayed(stream io.Reader, notify func()) {
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	data := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data {
				notify()
			}
			data = false
		case strings.HasPrefix(line, "data:"):
			data = true
		}
	}
}
