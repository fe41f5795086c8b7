package console

import (
	"io"
	"net/http"
	"strings"
)

// CodecEndpoint is the remote codec the embedded Temporal Web UI is pointed
// at, with credentials: the browser sends the console's session cookie, and
// the console opens the payloads through the engine's codec endpoint with
// the signed-in operator's token — the engine checks the operator's scope
// and audits every opening.
const CodecEndpoint = "/console/temporal/codec"

// engineCodecDecode is the engine's codec endpoint (api.CodecDecodePath).
const engineCodecDecode = "/v1/temporal/codec/decode"

// maxCodecBody bounds the payloads one call sends (the engine's own cap).
const maxCodecBody = 8 << 20

// codecOrigin allows the Web UI's origin to call with credentials; false
// for any other origin.
func (c *Console) codecOrigin(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if c.ui == "" || origin == "" || origin != uiOrigin(c.ui) {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Credentials", "true")
	return true
}

// uiOrigin is the origin (scheme://host:port) of the Web UI's base URL.
func uiOrigin(base string) string {
	scheme, rest, ok := strings.Cut(base, "://")
	if !ok {
		return base
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

func (c *Console) codecPreflight(w http.ResponseWriter, r *http.Request) {
	if !c.codecOrigin(w, r) {
		http.Error(w, "This origin may not call the codec endpoint.", http.StatusForbidden)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// codecDecode sends the payloads to the engine's codec endpoint as the
// signed-in user and answers what the engine answers: the opened payloads,
// or its refusal (403 for a user whose role opens none).
func (c *Console) codecDecode(w http.ResponseWriter, r *http.Request) {
	c.codecOrigin(w, r)
	s, ok := c.signedIn(w, r, false)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCodecBody+1))
	if err != nil {
		http.Error(w, "The payloads could not be read.", http.StatusBadRequest)
		return
	}
	if len(body) > maxCodecBody {
		http.Error(w, "Too many payloads at once.", http.StatusRequestEntityTooLarge)
		return
	}
	res, err := c.api.do(r.Context(), call{from: r, method: http.MethodPost, path: engineCodecDecode, token: s.Access,
		body: string(body), contentType: "application/json",
		header: http.Header{"X-Namespace": {r.Header.Get("X-Namespace")}}})
	if err != nil {
		c.log.WarnContext(r.Context(), "codec call failed", "error", err)
		http.Error(w, "The engine did not answer.", http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}
