package api

import (
	"net/http"
	"time"
)

// The API server's timeouts. A client has ReadHeaderTimeout to send its
// headers and ReadTimeout to send the whole request, body included (a body
// trickled a byte at a time is cut off, answered 408 when the handler is
// reading it); a response must be written within WriteTimeout; an idle
// keep-alive connection is closed after IdleTimeout. A Server-Sent Events
// stream lifts its connection's deadlines once it begins (beginStream), so
// streams are not cut by timeouts meant for ordinary requests.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 60 * time.Second
)

// NewHTTPServer is the HTTP server for handler with the API's timeouts;
// the caller adds its logger and connection hooks.
func NewHTTPServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
	}
}
