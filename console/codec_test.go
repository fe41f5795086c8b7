package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const testWebUI = "http://127.0.0.1:8233"

// codecRequest is the Web UI's call: POST with its origin and namespace.
func codecRequest(t *testing.T, c *http.Client, srv *httptest.Server, method, origin, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+CodecEndpoint+"/decode", strings.NewReader(body))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCodecCallsTheEngineAsTheSignedInUser: the Web UI's codec call
// reaches the engine's codec endpoint with the session's token and the
// namespace, and its answer comes back to the Web UI's origin with
// credentials allowed; without a session it is 401 and the engine is not
// called.
func TestCodecCallsTheEngineAsTheSignedInUser(t *testing.T) {
	srv, browser, f := signedInClient(t, func(o *Options) { o.WorkflowUI = testWebUI + "/namespaces/default" })

	pre := codecRequest(t, browser, srv, http.MethodOptions, testWebUI, "")
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != testWebUI ||
		pre.Header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	if res := codecRequest(t, browser, srv, http.MethodOptions, "http://elsewhere.example", ""); res.StatusCode != http.StatusForbidden ||
		res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", res.StatusCode, res.Header)
	}

	const payloads = `{"payloads":[{"data":"e30="}]}`
	res := codecRequest(t, browser, srv, http.MethodPost, testWebUI, payloads)
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") != testWebUI {
		t.Fatalf("decode: %d %v %s", res.StatusCode, res.Header, body(res))
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body(res)), &got); err != nil || got["namespace"] != "default" || got["sent"] != payloads {
		t.Fatalf("the engine saw %v (%v)", got, err)
	}

	before := len(f.calls)
	anonymous := &http.Client{}
	if res := codecRequest(t, anonymous, srv, http.MethodPost, testWebUI, payloads); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("decode without a session: %d", res.StatusCode)
	}
	if len(f.calls) != before {
		t.Fatalf("the engine was called without a session: %v", f.calls[before:])
	}
}
