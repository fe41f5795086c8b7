package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// engine calls the engine's API in this process: the request goes through
// the API's own router — its middleware, token check, scopes, audit and
// rate limits — as the browser's would, without a network hop, and carries
// the browser's address, so the audit trail names the user's device, not
// the console.
type engine struct {
	h http.Handler
}

// apiError is an answer of the API other than 2xx: its status and the
// error envelope's code and message.
type apiError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("engine answered %d %s: %s", e.Status, e.Code, e.Message)
}

// statusOf is the API status err carries, 0 for none.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// call is one request to the API on behalf of the browser's request from.
type call struct {
	from        *http.Request
	method      string
	path        string
	token       string
	body        string
	contentType string
	// header holds further request headers to send.
	header http.Header
}

// do sends c and returns the API's answer as it begins: the body streams
// while the handler writes it, so a live stream works too. The caller
// closes the body.
func (e engine) do(ctx context.Context, c call) (*http.Response, error) {
	var body io.Reader = http.NoBody
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.path, body)
	if err != nil {
		return nil, err
	}
	req.RequestURI = req.URL.RequestURI()
	req.Host = c.from.Host
	req.RemoteAddr = c.from.RemoteAddr
	req.Proto, req.ProtoMajor, req.ProtoMinor = c.from.Proto, c.from.ProtoMajor, c.from.ProtoMinor
	for _, h := range []string{"User-Agent", "X-Forwarded-For", "X-Real-Ip"} {
		if v := c.from.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		defer func() {
			w.WriteHeader(http.StatusOK)
			_ = pw.Close()
		}()
		e.h.ServeHTTP(w, req)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		_ = pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	return &http.Response{Status: http.StatusText(w.status), StatusCode: w.status, Header: w.sent, Body: pr,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: req}, nil
}

// json sends c and decodes a 2xx answer into v; any other answer is an
// *apiError.
func (e engine) json(ctx context.Context, c call, v any) error {
	res, err := e.do(ctx, c)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		ae := &apiError{}
		_ = json.Unmarshal(raw, ae)
		ae.Status = res.StatusCode
		return ae
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// get reads path with token into v.
func (e engine) get(r *http.Request, path, token string, v any) error {
	return e.json(r.Context(), call{from: r, method: http.MethodGet, path: path, token: token}, v)
}

// postForm posts form to path (the OAuth2 endpoints).
func (e engine) postForm(r *http.Request, path string, form url.Values, v any) error {
	return e.json(r.Context(), call{from: r, method: http.MethodPost, path: path, body: form.Encode(),
		contentType: "application/x-www-form-urlencoded"}, v)
}

// postJSON posts body (JSON) to path with token.
func (e engine) postJSON(r *http.Request, path, token, body string, v any) error {
	return e.json(r.Context(), call{from: r, method: http.MethodPost, path: path, token: token, body: body,
		contentType: "application/json"}, v)
}

// pipeWriter is the API handler's ResponseWriter: headers are handed over
// at the first write, the body streams through a pipe, and Flush is a
// no-op (every write already reaches the reader).
type pipeWriter struct {
	header http.Header
	sent   http.Header
	status int
	body   *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		return
	}
	w.once.Do(func() {
		w.status, w.sent = code, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Flush lets the API's streams flush.
func (w *pipeWriter) Flush() {}

// listAll reads every page of the list at path with query q (its cursor
// set page by page), up to queuePages pages; capped says there were more.
func listAll[T any](e engine, r *http.Request, token, path string, q url.Values) (list []T, capped bool, err error) {
	q = maps.Clone(q)
	for range queuePages {
		var page struct {
			Data []T     `json:"data"`
			Next *string `json:"next"`
		}
		if err := e.get(r, path+"?"+q.Encode(), token, &page); err != nil {
			return nil, false, err
		}
		list = append(list, page.Data...)
		if page.Next == nil || *page.Next == "" {
			return list, false, nil
		}
		q.Set("cursor", *page.Next)
	}
	return list, true, nil
}
