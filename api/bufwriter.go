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
}

func newBufferedWriter(w gin.ResponseWriter) *bufferedWriter {
	return &bufferedWriter{ResponseWriter: w, status: http.StatusOK}
}

func (w *bufferedWriter) WriteHeader(code int) {
	if code > 0 {
		w.status = code
	}
}

func (w *bufferedWriter) WriteHeaderNow() {}

func (w *bufferedWriter) Write(b []byte) (int, error) { return w.body.Write(b) }

func (w *bufferedWriter) WriteString(s string) (int, error) { return w.body.WriteString(s) }

func (w *bufferedWriter) Status() int { return w.status }

func (w *bufferedWriter) Size() int { return w.body.Len() }

func (w *bufferedWriter) Written() bool { return w.body.Len() > 0 }

// Flush is a no-op until release: streaming responses are not audited routes.
func (w *bufferedWriter) Flush() {}

// release sends the held response.
func (w *bufferedWriter) release() {
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(w.body.Bytes())
}

// discard drops the held response and the headers the handler set, keeping
// the request id, so another response can be written instead.
func (w *bufferedWriter) discard() {
	w.body.Reset()
	w.status = http.StatusOK
	h := w.ResponseWriter.Header()
	id := h.Get(headerRequestID)
	for k := range h {
		delete(h, k)
	}
	h.Set(headerRequestID, id)
}
