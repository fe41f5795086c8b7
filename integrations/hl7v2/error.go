package hl7v2

import (
	"fmt"
	"strconv"
	"strings"
)

// ErrorCode is a value of HL7 table 0357 (message error condition codes), as
// written in ERR-3.
type ErrorCode int

// The codes of HL7 table 0357.
const (
	MessageAccepted          ErrorCode = 0
	SegmentSequenceError     ErrorCode = 100
	RequiredFieldMissing     ErrorCode = 101
	DataTypeError            ErrorCode = 102
	TableValueNotFound       ErrorCode = 103
	UnsupportedMessageType   ErrorCode = 200
	UnsupportedEventCode     ErrorCode = 201
	UnsupportedProcessingID  ErrorCode = 202
	UnsupportedVersionID     ErrorCode = 203
	UnknownKeyIdentifier     ErrorCode = 204
	DuplicateKeyIdentifier   ErrorCode = 205
	ApplicationRecordLocked  ErrorCode = 206
	ApplicationInternalError ErrorCode = 207
)

var errorCodeText = map[ErrorCode]string{
	MessageAccepted:          "Message accepted",
	SegmentSequenceError:     "Segment sequence error",
	RequiredFieldMissing:     "Required field missing",
	DataTypeError:            "Data type error",
	TableValueNotFound:       "Table value not found",
	UnsupportedMessageType:   "Unsupported message type",
	UnsupportedEventCode:     "Unsupported event code",
	UnsupportedProcessingID:  "Unsupported processing id",
	UnsupportedVersionID:     "Unsupported version id",
	UnknownKeyIdentifier:     "Unknown key identifier",
	DuplicateKeyIdentifier:   "Duplicate key identifier",
	ApplicationRecordLocked:  "Application record locked",
	ApplicationInternalError: "Application internal error",
}

// String returns the code's description from table 0357, or "Error" for a
// code the table does not list.
func (c ErrorCode) String() string {
	if s, ok := errorCodeText[c]; ok {
		return s
	}
	return "Error"
}

// Severity is a value of HL7 table 0516, as written in ERR-4.
type Severity byte

// The severities of HL7 table 0516. The zero Severity is written as
// SeverityError.
const (
	SeverityError       Severity = 'E'
	SeverityWarning     Severity = 'W'
	SeverityInformation Severity = 'I'
)

// Error is a problem found in a message, located as an ERR segment locates it
// (ERR-2) and coded from table 0357 (ERR-3). Parse returns one for every
// refusal; receivers build their own for the refusals they decide on, and
// ACK writes each as an ERR segment.
type Error struct {
	Code     ErrorCode
	Severity Severity // zero means SeverityError

	// Segment is the segment ID, empty when the segment has none that can be
	// read (then ERR-2 is left empty).
	Segment string
	// Sequence is the occurrence of that segment ID in the message, 1 for the
	// first (ERR-2.2: "the 5th OBX", whatever lies between).
	Sequence int
	// Position is the segment's place among all segments of the message, 1
	// for the first; it is not written to ERR but helps a person find it.
	Position int
	// Field, Repetition, Component and SubComponent locate the value inside
	// the segment, 1-based; 0 means the location stops at the level above.
	Field, Repetition, Component, SubComponent int

	// Message says what is wrong in words safe to send back to the sender
	// (ERR-8) and to log: it names locations and characters, never the
	// message's content.
	Message string
	// Err is the underlying cause, if any.
	Err error
}

// Error formats the code, location and message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hl7v2: ")
	b.WriteString(strconv.Itoa(int(e.Code)))
	b.WriteByte(' ')
	b.WriteString(strings.ToLower(e.Code.String()))
	if loc := e.Location(); loc != "" {
		b.WriteString(" at ")
		b.WriteString(loc)
	}
	if e.Position > 0 {
		fmt.Fprintf(&b, " (segment %d)", e.Position)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Location formats where the error is in the notation integration
// specifications use: "PID[2]-3(2).1.4" for the second PID's third field,
// second repetition, first component, fourth sub-component. Occurrence 1 and
// repetition 1 are left out.
func (e *Error) Location() string {
	if e.Segment == "" {
		return ""
	}
	var b strings.Builder
	b.WriteString(e.Segment)
	if e.Sequence > 1 {
		fmt.Fprintf(&b, "[%d]", e.Sequence)
	}
	if e.Field <= 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "-%d", e.Field)
	if e.Repetition > 1 {
		fmt.Fprintf(&b, "(%d)", e.Repetition)
	}
	if e.Component > 0 {
		fmt.Fprintf(&b, ".%d", e.Component)
		if e.SubComponent > 0 {
			fmt.Fprintf(&b, ".%d", e.SubComponent)
		}
	}
	return b.String()
}

// UnsupportedCharsetError is the cause of the Error that refuses a message
// whose MSH-18 names a character set this package does not read.
type UnsupportedCharsetError struct {
	Charset string // MSH-18 as received
}

// Error names the character set.
func (e *UnsupportedCharsetError) Error() string {
	return fmt.Sprintf("hl7v2: unsupported character set %q", e.Charset)
}
