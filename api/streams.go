package api

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/gin-gonic/gin"
)

// DefaultMaxStreamsPerClient is how many live notification streams one
// OAuth2 client may hold open at once.
const DefaultMaxStreamsPerClient = 10

// CodeTooManyStreams: the client already holds its maximum of open live
// streams; close one, or retry after retryAfter seconds.
const CodeTooManyStreams = "TOO_MANY_STREAMS"

// streamRetryAfter is the retryAfter of a stream refused for the cap.
const streamRetryAfter = 5

// streamCount counts the open streams of each client, up to a cap, in this
// process.
type streamCount struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

func newStreamCount(max int) *streamCount {
	if max <= 0 {
		max = DefaultMaxStreamsPerClient
	}
	return &streamCount{max: max, open: map[string]int{}}
}

// acquire counts one more stream of client and returns its release, or
// reports false when client holds the maximum already.
func (l *streamCount) acquire(client string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[client] >= l.max {
		return nil, false
	}
	l.open[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[client]--; l.open[client] <= 0 {
				delete(l.open, client)
			}
		})
	}, true
}

// openStream counts a stream of the request's client for as long as the
// handler runs, and reports false, having answered 429 TOO_MANY_STREAMS in
// the rate limit envelope, when the client holds its maximum already. The
// caller defers the release.
func (s *inboxRoutes) openStream(c *gin.Context) (release func(), ok bool) {
	client := "anonymous"
	if p, found := principal(c); found {
		client = p.ClientID
	}
	release, ok = s.streams.acquire(client)
	if ok {
		return release, true
	}
	c.Header("Retry-After", strconv.Itoa(streamRetryAfter))
	auditOf(c).rec.Description = "refused: too many open streams"
	c.AbortWithStatusJSON(http.StatusTooManyRequests, RateLimitBody{
		ErrorBody: ErrorBody{
			Error: CodeTooManyStreams,
			Message: "This client already holds " + strconv.Itoa(s.streams.max) +
				" open notification streams; close one, or share one stream between views.",
			RequestID: requestID(c),
		},
		RetryAfter: streamRetryAfter,
	})
	return nil, false
}
