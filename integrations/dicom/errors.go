package dicom

import (
	"errors"
	"fmt"
	"strconv"
)

// The reasons Read refuses an input. Every refusal is a *FormatError whose
// Err is one of these, so callers match them with errors.Is and never by
// message.
var (
	// ErrNotDICOM: no "DICM" after the 128-byte preamble (and, when
	// Options.AllowMissingPreamble is set, no data set at the start either).
	ErrNotDICOM = errors.New("not a DICOM Part 10 file")
	// ErrTruncated: the input ends inside an element, an item, or a
	// sequence or item that was never delimited.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: the bytes cannot be a data set in the transfer syntax
	// they claim (an invalid VR, a length that runs past its item or
	// sequence, a delimiter out of place, nesting deeper than MaxDepth …).
	ErrMalformed = errors.New("malformed data set")
	// ErrUnsupportedTransferSyntax: a private transfer syntax, or none.
	ErrUnsupportedTransferSyntax = errors.New("unsupported transfer syntax")
	// ErrUnsupportedCharacterSet: a Specific Character Set (0008,0005) term
	// this package cannot decode.
	ErrUnsupportedCharacterSet = errors.New("unsupported specific character set")
	// ErrValueTooLong: a value this package would keep is longer than
	// Options.MaxValueLength.
	ErrValueTooLong = errors.New("value too long")
	// ErrHeaderTooLarge: the elements kept so far would take more than
	// Options.MaxHeaderSize.
	ErrHeaderTooLarge = errors.New("header too large")
)

// FormatError says where and why an input was refused.
type FormatError struct {
	// Offset is the byte offset of the element (or item) being read when
	// the fault was found, counted from the start of the input; in a
	// deflated data set, offsets past the file meta information count
	// inflated bytes.
	Offset int64
	// Tag is the element being read, or zero when there was none (the
	// preamble, or the header of an element not yet read).
	Tag Tag
	// Err is one of the Err… values of this package.
	Err error
	// Detail says what exactly was wrong, for people.
	Detail string
}

// Error says where, what and why: "dicom: offset 1400 (0010,0010): truncated: …".
func (e *FormatError) Error() string {
	where := fmt.Sprintf("offset %d", e.Offset)
	if e.Tag != 0 {
		where += " " + e.Tag.String()
	}
	if e.Detail == "" {
		return fmt.Sprintf("dicom: %s: %v", where, e.Err)
	}
	return fmt.Sprintf("dicom: %s: %v: %s", where, e.Err, e.Detail)
}

// Unwrap lets errors.Is match Err.
func (e *FormatError) Unwrap() error { return e.Err }

// ValueError is an attribute whose value File could not turn into its typed
// field (a date that is not a date, an Instance Number that is not a
// number). The data set was still read; the field is left zero.
type ValueError struct {
	Tag   Tag
	VR    VR
	Value string
	Err   error
}

// Error names the attribute, its value and what is wrong with it.
func (e *ValueError) Error() string {
	return fmt.Sprintf("dicom: %s %s %q: %v", e.Tag, e.VR, e.Value, e.Err)
}

// Unwrap gives the parse error.
func (e *ValueError) Unwrap() error { return e.Err }

// quoteValue quotes an untrusted value for an error message, cut to a
// length a log line can carry.
func quoteValue(s string) string {
	const max = 64
	if s == "" {
		return "none given"
	}
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
