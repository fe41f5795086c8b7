package hl7v2

import "fmt"

// Delimiters are a message's encoding characters: MSH-1 and the characters
// of MSH-2 in their fixed order. A zero byte means the message did not
// declare that character: nothing is split on it (or escaped with it).
type Delimiters struct {
	Field        byte // MSH-1, usually '|'
	Component    byte // MSH-2, first character, usually '^'
	Repetition   byte // second, usually '~'
	Escape       byte // third, usually '\'
	SubComponent byte // fourth, usually '&'
	Truncation   byte // fifth (v2.7 and later), usually '#'
}

// StandardDelimiters are the encoding characters the standard recommends,
// |^~\& without a truncation character.
var StandardDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', SubComponent: '&'}

// EncodingCharacters returns MSH-2 as it is written for these delimiters.
func (d Delimiters) EncodingCharacters() string {
	b := make([]byte, 0, 5)
	for _, c := range []byte{d.Component, d.Repetition, d.Escape, d.SubComponent, d.Truncation} {
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// complete reports whether all four MSH-2 characters are declared, so that
// any text can be written with these delimiters.
func (d Delimiters) complete() bool {
	return d.Field != 0 && d.Component != 0 && d.Repetition != 0 && d.Escape != 0 && d.SubComponent != 0
}

// isDelimiterChar reports whether c may serve as an encoding character: a
// printable ASCII character that is neither a letter nor a digit.
func isDelimiterChar(c byte) bool {
	switch {
	case c <= ' ' || c >= 0x7f:
		return false
	case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return false
	}
	return true
}

// parseDelimiters reads the field separator and MSH-2 from a header segment
// (MSH, FHS or BHS) that starts line.
func parseDelimiters(line string) (Delimiters, *Error) {
	id := line[:3]
	loc := func(field int, code ErrorCode, format string, args ...any) *Error {
		return &Error{Code: code, Segment: id, Sequence: 1, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if len(line) < 4 {
		return Delimiters{}, loc(1, RequiredFieldMissing, "%s-1, the field separator, is missing", id)
	}
	d := Delimiters{Field: line[3]}
	if !isDelimiterChar(d.Field) {
		return Delimiters{}, loc(1, DataTypeError, "%s-1, the field separator, is %q: it must be a printable character that is not a letter or digit", id, d.Field)
	}
	end := 4
	for end < len(line) && line[end] != d.Field {
		end++
	}
	enc := line[4:end]
	switch {
	case enc == "":
		return Delimiters{}, loc(2, RequiredFieldMissing, "%s-2, the encoding characters, is missing", id)
	case len(enc) > 5:
		return Delimiters{}, loc(2, DataTypeError, "%s-2 has %d encoding characters; at most 5 are defined", id, len(enc))
	}
	var seen [256]bool
	seen[d.Field] = true
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if !isDelimiterChar(c) {
			return Delimiters{}, loc(2, DataTypeError, "%s-2 character %d is %q: encoding characters must be printable and not letters or digits", id, i+1, c)
		}
		if seen[c] {
			return Delimiters{}, loc(2, DataTypeError, "%s-2 character %d, %q, is used twice", id, i+1, c)
		}
		seen[c] = true
	}
	chars := []*byte{&d.Component, &d.Repetition, &d.Escape, &d.SubComponent, &d.Truncation}
	for i := 0; i < len(enc); i++ {
		*chars[i] = enc[i]
	}
	return d, nil
}
