// Package domain holds what every clinical process shares: the errors stores and
// rules report, translated once at each boundary.
package domain

import "errors"

var (
	// ErrNotFound means the resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write collides with existing state (a duplicate key).
	ErrConflict = errors.New("conflict")
	// ErrVersionMismatch means an optimistic-concurrency precondition failed.
	ErrVersionMismatch = errors.New("version mismatch")
	// ErrBadCursor means a pagination cursor was not one the store issued.
	ErrBadCursor = errors.New("invalid cursor")
)

// FieldError names one invalid input field and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError collects every invalid field of one input, so callers can
// report them all at once.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Fields) == 0 {
		return "validation failed"
	}
	return "validation failed: " + e.Fields[0].Field + ": " + e.Fields[0].Message
}

// Add records an invalid field.
func (e *ValidationError) Add(field, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
}

// OrNil returns the error when it holds at least one field, nil otherwise.
func (e *ValidationError) OrNil() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}
