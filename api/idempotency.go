package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
)

const (
	headerIdempotencyKey = "Idempotency-Key"
	maxIdempotencyKey    = 255
)

// idempotencyOf is the one reading of a POST's Idempotency-Key: the key,
// scoped to the client and the route, with the hash of the canonical body.
// It returns nil without a key, and false (having answered 400) for a key
// that is too long. Stores claim it inside the write's transaction, before
// any side effect (see integrations/postgres claimIdempotency).
func idempotencyOf(c *gin.Context, body []byte) (*domain.Idempotency, bool) {
	key := strings.TrimSpace(c.GetHeader(headerIdempotencyKey))
	if key == "" {
		return nil, true
	}
	if len([]rune(key)) > maxIdempotencyKey || strings.ContainsRune(key, 0) {
		fieldError(c, headerIdempotencyKey, "must be at most 255 characters, without NUL")
		return nil, false
	}
	p, _ := principal(c)
	return &domain.Idempotency{
		Scope: p.ClientID + " " + c.Request.Method + " " + c.FullPath(),
		Key:   key,
		Hash:  sha256.Sum256(canonicalJSON(body)),
	}, true
}

// canonicalJSON re-encodes a JSON body with object keys sorted and no
// insignificant whitespace, numbers kept as written; a body that is not
// JSON is hashed as it is.
func canonicalJSON(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return body
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}
