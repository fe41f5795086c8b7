package hl7v2

import (
	"encoding/hex"
	"strings"
)

// codec is what a value needs to split and decode itself: the message's
// delimiters and character set. The nil codec splits and decodes nothing: it
// is that of MSH-1 and MSH-2, whose values are the delimiters themselves, and
// of the zero values.
type codec struct {
	d  Delimiters
	cs charset
}

// delims returns the delimiters to split at, none for the nil codec.
func (c *codec) delims() Delimiters {
	if c == nil {
		return Delimiters{}
	}
	return c.d
}

// unescape decodes the escape sequences of raw (HL7 v2.5.1 section 2.7).
// Sequences it does not decode are kept as they are, escape characters
// included.
func (c *codec) unescape(raw string) string {
	if c == nil || c.d.Escape == 0 || strings.IndexByte(raw, c.d.Escape) < 0 {
		return raw
	}
	e := c.d.Escape
	var b strings.Builder
	b.Grow(len(raw))
	for {
		i := strings.IndexByte(raw, e)
		if i < 0 {
			b.WriteString(raw)
			return b.String()
		}
		j := strings.IndexByte(raw[i+1:], e)
		if j < 0 {
			b.WriteString(raw)
			return b.String()
		}
		j += i + 1
		b.WriteString(raw[:i])
		if text, ok := c.decodeSequence(raw[i+1 : j]); ok {
			b.WriteString(text)
		} else {
			b.WriteString(raw[i : j+1])
		}
		raw = raw[j+1:]
	}
}

// decodeSequence returns the text an escape sequence (without its escape
// characters) stands for.
func (c *codec) decodeSequence(seq string) (string, bool) {
	d := c.d
	switch seq {
	case "F":
		return string(d.Field), true
	case "S":
		return string(d.Component), true
	case "R":
		return string(d.Repetition), true
	case "E":
		return string(d.Escape), true
	case "T":
		if d.SubComponent != 0 {
			return string(d.SubComponent), true
		}
	case "P":
		if d.Truncation != 0 {
			return string(d.Truncation), true
		}
	case ".br":
		return "\n", true
	}
	if len(seq) >= 3 && seq[0] == 'X' && len(seq)%2 == 1 {
		b, err := hex.DecodeString(seq[1:])
		if err != nil {
			return "", false
		}
		return c.cs.decodeBytes(b)
	}
	return "", false
}

// Escape returns text written for a value in a message with delimiters d:
// each delimiter becomes its escape sequence (\F\ \S\ \R\ \E\ \T\, and \P\
// for a truncation character) and each control character other than tab a
// \Xhh\ sequence, so that the value can hold any text without breaking the
// message or its MLLP frame. d must declare an escape character.
func Escape(text string, d Delimiters) string {
	e := d.Escape
	needs := false
	for i := 0; i < len(text); i++ {
		if escapeNeeded(text[i], d) {
			needs = true
			break
		}
	}
	if !needs || e == 0 {
		return text
	}
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(text) + 8)
	for i := 0; i < len(text); i++ {
		c := text[i]
		var name byte
		switch {
		case !escapeNeeded(c, d):
			b.WriteByte(c)
			continue
		case isControl(c):
			// Before the delimiters: an undeclared one is 0, a control
			// character.
			b.WriteByte(e)
			b.WriteByte('X')
			b.WriteByte(digits[c>>4])
			b.WriteByte(digits[c&0xf])
			b.WriteByte(e)
			continue
		case c == d.Field:
			name = 'F'
		case c == d.Component:
			name = 'S'
		case c == d.Repetition:
			name = 'R'
		case c == e:
			name = 'E'
		case c == d.SubComponent:
			name = 'T'
		default: // the truncation character
			name = 'P'
		}
		b.WriteByte(e)
		b.WriteByte(name)
		b.WriteByte(e)
	}
	return b.String()
}

// escapeNeeded reports whether byte c cannot stand for itself in a value.
func escapeNeeded(c byte, d Delimiters) bool {
	return isControl(c) || c == d.Field || c == d.Component || c == d.Repetition ||
		c == d.Escape || c == d.SubComponent || c == d.Truncation
}

// isControl reports whether c is an ASCII control character other than tab.
func isControl(c byte) bool { return c < ' ' && c != '\t' || c == 0x7f }
