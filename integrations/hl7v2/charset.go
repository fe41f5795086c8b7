package hl7v2

import (
	"strings"
	"unicode/utf8"
)

// charset is how a message's bytes are read, chosen by MSH-18.
type charset int

const (
	charsetDefault charset = iota // MSH-18 empty: ASCII, UTF-8 tolerated
	charsetASCII                  // "ASCII": 7-bit only
	charsetLatin1                 // "8859/1"
	charsetUTF8                   // "UNICODE UTF-8", "UTF-8", "UNICODE"
)

// lookupCharset maps an MSH-18 value (HL7 table 0211) to the way its bytes
// are read.
func lookupCharset(name string) (charset, bool) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "":
		return charsetDefault, true
	case "ASCII":
		return charsetASCII, true
	case "8859/1":
		return charsetLatin1, true
	case "UNICODE UTF-8", "UTF-8", "UNICODE":
		return charsetUTF8, true
	}
	return 0, false
}

// invalidAt returns the offset of the first byte of s that cs does not
// allow, or -1 when s is valid. Latin-1 allows every byte.
func (cs charset) invalidAt(s string) int {
	switch cs {
	case charsetLatin1:
		return -1
	case charsetASCII:
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return i
			}
		}
		return -1
	}
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// toUTF8 converts s, read in cs, to UTF-8. Only Latin-1 changes anything:
// each byte is the code point of the same value.
func (cs charset) toUTF8(s string) string {
	if cs != charsetLatin1 {
		return s
	}
	high := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			high++
		}
	}
	if high == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+high)
	for i := 0; i < len(s); i++ {
		b = utf8.AppendRune(b, rune(s[i]))
	}
	return string(b)
}

// decodeBytes turns the bytes spelt by a \X…\ escape into text, reading them
// in cs; ok is false when they are not valid in it.
func (cs charset) decodeBytes(b []byte) (string, bool) {
	switch cs {
	case charsetLatin1:
		return charsetLatin1.toUTF8(string(b)), true
	case charsetASCII:
		for _, c := range b {
			if c >= utf8.RuneSelf {
				return "", false
			}
		}
		return string(b), true
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// fromUTF8 writes the UTF-8 text s in cs, for messages we send: characters
// cs cannot carry become '?'.
func (cs charset) fromUTF8(s string) string {
	switch cs {
	case charsetASCII, charsetLatin1:
	default:
		return s
	}
	limit := rune(0x7f)
	if cs == charsetLatin1 {
		limit = 0xff
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > limit {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return string(b)
}
