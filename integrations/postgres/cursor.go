package postgres

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// ErrBadCursor means a pagination cursor was not one this store issued.
var ErrBadCursor = errors.New("invalid cursor")

// encodeCursor renders a keyset position as an opaque URL-safe string.
func encodeCursor[T any](position T) string {
	b, _ := json.Marshal(position)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor encodeCursor made; "" means the first page
// (nil). A cursor that does not decode, or whose position valid rejects, is
// ErrBadCursor.
func decodeCursor[T any](s string, valid func(T) bool) (*T, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var position T
	if err := json.Unmarshal(b, &position); err != nil || !valid(position) {
		return nil, ErrBadCursor
	}
	return &position, nil
}
