package access

import "errors"

// ErrInvalidToken is returned, wrapped with the reason, for any bearer token
// that does not verify.
var ErrInvalidToken = errors.New("invalid access token")
