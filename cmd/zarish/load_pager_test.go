package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// pager is one practitioner's live notification stream, as the ward
// system's pager holds it open: each page is handed to whoever awaits the
// page's patient or alert.
type pager struct {
	connected chan struct{}
	once      sync.Once
	mu        sync.Mutex
	waiting   map[string]chan string
}

func newPager() *pager {
	return &pager{connected: make(chan struct{}), waiting: map[string]chan string{}}
}

// await returns the alert ids paged from now on whose patient or alert is
// key, and the func that stops waiting.
func (p *pager) await(key string) (<-chan string, func()) {
	ch := make(chan string, 16)
	p.mu.Lock()
	p.waiting[key] = ch
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		delete(p.waiting, key)
		p.mu.Unlock()
	}
}

// route hands a page to its waiters; a page nobody awaits is dropped.
func (p *pager) route(data string) {
	var item struct {
		AlertID   string `json:"alertId"`
		PatientID string `json:"patientId"`
	}
	if json.Unmarshal([]byte(data), &item) != nil || item.AlertID == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, key := range []string{item.AlertID, item.PatientID} {
		if ch, ok := p.waiting[key]; ok {
			select {
			case ch <- item.AlertID:
			default: // the waiter has pages enough to read
			}
		}
	}
}

// listen holds the stream open as c until ctx ends, opening it again when
// the server closes it.
func (p *pager) listen(ctx context.Context, c *loadClient) {
	streams := &http.Client{}
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/notifications/stream", nil)
		if err != nil {
			return
		}
		c.authorize(req)
		if res, err := streams.Do(req); err == nil {
			if res.StatusCode == http.StatusOK {
				p.once.Do(func() { close(p.connected) })
				sc := bufio.NewScanner(res.Body)
				for sc.Scan() {
					if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
						p.route(data)
					}
				}
			}
			res.Body.Close()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
