package api

import (
	"bytes"
	"net/http"

	"github.com/gin-gonic/gin"
)

// bufferedWriter holds a handler's response until the request's audit record
// is stored, so a response is never sent for an access that was not audited.
type bufferedWriter struct {
	gin.ResponseWriter
	status int
	body   bytes.Buffer
	// direct is set for a streaming response whose audit record was stored
	// before the stream began; writes then go straight to the client.
	direct bool
}

func newBufferedWriter(w gin.ResponseWriter) *bufferedWriter {
	return &bufferedWriter{ResponseWriter: w, status: http.StatusOK}
}

func (w *bufferedWriter) WriteHeader(code int) {
	if w.direct {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if code > 0 {
		w.status = code
	}
}

func (w *bufferedWriter) WriteHeaderNow() {
	if w.direct {
		w.ResponseWriter.WriteHeaderNow()
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.direct {
		return w.ResponseWriter.Write(b)
	}
	return w.body.Write(b)
}

func (w *bufferedWriter) WriteString(s string) (int, error) {
	if w.direct {
		return w.ResponseWriter.WriteString(s)
	}
	return w.body.WriteString(s)
}

func (w *bufferedWriter) Status() int {
	if w.direct {
		return w.ResponseWriter.Status()
	}
	return w.status
}

func (w *bufferedWriter) Size() int {
	if w.direct {
		return w.ResponseWriter.Size()
	}
	return w.body.Len()
}

func (w *bufferedWriter) Written() bool {
	if w.direct {
		return w.ResponseWriter.Written()
	}
	return w.body.Len() > 0
}

// Flush pushes a streaming response to the client; a held response waits.
func (w *bufferedWriter) Flush() {
	if w.direct {
		w.ResponseWriter.Flush()
	}
}

// release sends the held response.
func (w *bufferedWriter) release() {
	if w.direct {
		return
	}
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(w.body.Bytes())
}

// discard drops the held response and the headers the handler set, keeping
// the request id and the edge headers, so another response can be written
// instead.
func (w *bufferedWriter) discard() {
	w.body.Reset()
	w.status = http.StatusOK
	h := w.ResponseWriter.Header()
	id := h.Get(headerRequestID)
	for k := range h {
		delete(h, k)
	}
	h.Set(headerRequestID, id)
	for _, kv := range edgeHeaders {
		h.Set(kv[0], kv[1])
	}
}
