package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/workflows/process"
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

// StepKeys claims the Idempotency-Keys of workflow steps, which store
// nothing of their own before their Update is sent: the same mechanism as
// a store's write (claimIdempotency), in a transaction of its own.
type StepKeys interface {
	// ClaimStep records idem for a step on resource, or finds it recorded:
	// replay true with the same body, domain.ErrIdempotencyMismatch with
	// another.
	ClaimStep(ctx context.Context, idem domain.Idempotency, resource uuid.UUID) (replay bool, err error)
}

// stepContext reads a step's Idempotency-Key, scoped to the client, the
// route and resource id, claims it, and returns the context to send the
// step's Update with (updateContext). The same key and body again is a
// replay (Idempotent-Replayed: true), whose audit record the API writes
// after the answer; the same key with another body is 422
// IDEMPOTENCY_KEY_REUSED. It reports false when it has answered.
func (e *edge) stepContext(c *gin.Context, body []byte, id uuid.UUID) (context.Context, bool) {
	ctx := c.Request.Context()
	idem, ok := idempotencyOf(c, body)
	if !ok || idem == nil {
		return ctx, ok
	}
	idem.Scope += " " + id.String()
	if e.steps == nil {
		e.fail(c, errors.New("no step key store to claim an Idempotency-Key with"))
		return ctx, false
	}
	replay, err := e.steps.ClaimStep(ctx, *idem, id)
	if err != nil {
		e.fail(c, err)
		return ctx, false
	}
	if replay {
		c.Header("Idempotent-Replayed", "true")
		// The replay's own record is written after the answer: its Update
		// is the first one's, which carried the first request's record.
		auditOf(c).replayedStep = true
	}
	return updateContext(ctx, idem), true
}

// updateContext is ctx for sending a workflow step under idem: its Update
// goes under an id made of the key, its scope and the body's hash
// (process.WithUpdateID). A step sent again with its key and body (its
// answer lost with a worker or a connection, or a 503 whose wait ran out)
// is done once and answered with the first one's outcome: one dose given,
// one booking, one acknowledgement.
func updateContext(ctx context.Context, idem *domain.Idempotency) context.Context {
	if idem == nil {
		return ctx
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(idem.Scope), []byte(idem.Key), idem.Hash[:]} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return process.WithUpdateID(ctx, "idempotency-"+hex.EncodeToString(h.Sum(nil)))
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
