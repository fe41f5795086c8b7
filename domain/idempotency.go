package domain

import "errors"

// Idempotency is one client's Idempotency-Key on one route, with the hash of
// the request's canonical body: a repeated key with the same body is the
// same request, answered with the first one's result.
type Idempotency struct {
	Scope string   // who and where: the client and the route
	Key   string   // the client's key
	Hash  [32]byte // SHA-256 of the canonical body (key order and whitespace do not count)
}

// ErrIdempotencyMismatch means an Idempotency-Key was reused with a
// different request.
var ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
