package hl7v2

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Parse reads one HL7 v2 message in the ER7 encoding. It refuses what it
// cannot read faithfully with an *Error that says where and why: no header
// segment, bad encoding characters, a line that is not a segment, a second
// MSH, an unsupported character set or bytes the character set does not
// allow. It does not check what the segments contain; see Header.Check.
//
// The message keeps no reference to b.
func Parse(b []byte) (*Message, error) {
	m, err := parse(string(b))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ParseHeader reads only the header of a message: the delimiters and the MSH
// segment. It is lenient where Parse is strict, so that a receiver can still
// address an acknowledgment to a message Parse refused: the rest of the
// message is not looked at, an unsupported character set is not an error
// (bytes it cannot read become '?'), and neither are bytes the declared one
// does not allow. It fails only when there is no readable MSH.
func ParseHeader(b []byte) (*Header, error) {
	p, err := scan(trimBOM(string(b)))
	if err != nil {
		return nil, err
	}
	line := p.lines[p.msh]
	cs, ok := lookupCharset(mshCharset(line, p.d))
	switch {
	case !ok:
		cs = charsetASCII
		line = replaceInvalid(line, charsetASCII)
	case cs == charsetLatin1:
		line = cs.toUTF8(line)
	default:
		line = replaceInvalid(line, cs)
	}
	c := &codec{d: p.d, cs: cs}
	h := readHeader(newSegment(line, "MSH", p.msh+1, 1, c))
	return &h, nil
}

func parse(s string) (*Message, *Error) {
	s = trimBOM(s)
	p, err := scan(s)
	if err != nil {
		return nil, err
	}
	name := mshCharset(p.lines[p.msh], p.d)
	cs, ok := lookupCharset(name)
	if !ok {
		return nil, &Error{
			Code: TableValueNotFound, Segment: "MSH", Sequence: 1, Position: p.msh + 1, Field: 18, Repetition: 1,
			Message: fmt.Sprintf("MSH-18 names the character set %q, which is not supported (ASCII, 8859/1 and UNICODE UTF-8 are)", name),
			Err:     &UnsupportedCharsetError{Charset: name},
		}
	}
	if cs == charsetLatin1 {
		if u := cs.toUTF8(s); len(u) != len(s) {
			p.lines = splitLines(u, p.d.Field)
		}
	}
	m := &Message{Delimiters: p.d, c: codec{d: p.d, cs: cs}}
	m.Segments = make([]*Segment, 0, len(p.lines))
	// One array for the segments and one for all their fields.
	segs := make([]Segment, len(p.lines))
	nfields := 0
	for _, line := range p.lines {
		nfields += pieces(line, p.d.Field) + 1
	}
	fields := make([]string, 0, nfields)
	var counts idCounts
	mshSeen := false
	for i, line := range p.lines {
		pos := i + 1
		if !isSegmentStart(line, p.d.Field) {
			return nil, notASegment(pos, m.Segments)
		}
		id := line[:3]
		seq := counts.next(id)
		if at := cs.invalidAt(line); at >= 0 {
			return nil, invalidByte(line, at, id, seq, pos, p.d, cs, name)
		}
		switch id {
		case "MSH":
			if mshSeen {
				return nil, &Error{Code: SegmentSequenceError, Segment: id, Sequence: seq, Position: pos,
					Message: "a second MSH segment: batches of several messages are not supported"}
			}
			mshSeen = true
		case "FHS", "BHS":
			if mshSeen {
				return nil, &Error{Code: SegmentSequenceError, Segment: id, Sequence: seq, Position: pos,
					Message: id + " after the MSH segment: batches of several messages are not supported"}
			}
		}
		if isHeaderID(id) {
			if d, err := parseDelimiters(line); err != nil || d != p.d {
				return nil, &Error{Code: DataTypeError, Segment: id, Sequence: seq, Position: pos, Field: 2,
					Message: id + " declares encoding characters other than the first segment's"}
			}
		}
		fields = segs[i].init(line, id, pos, seq, &m.c, fields)
		m.Segments = append(m.Segments, &segs[i])
	}
	m.Header = readHeader(m.Segments[p.msh])
	return m, nil
}

// prelude is what scan finds before the character set is known: the lines,
// the delimiters and which line is the MSH.
type prelude struct {
	lines []string
	d     Delimiters
	msh   int
}

// scan splits s into lines and reads the delimiters from the first, which
// must be an MSH, or an FHS or BHS followed (after at most the other of the
// two) by the MSH.
func scan(s string) (prelude, *Error) {
	lines := splitLines(s, fieldSeparator(s))
	if len(lines) == 0 {
		return prelude{}, &Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1,
			Message: "the message is empty"}
	}
	first := lines[0]
	if len(first) < 3 || !isHeaderID(first[:3]) {
		what := "no segment ID"
		if len(first) >= 3 && isSegmentID(first[:3]) {
			what = first[:3]
		}
		return prelude{}, &Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1, Position: 1,
			Message: fmt.Sprintf("the message must begin with an MSH segment (or FHS, BHS), not %s", what)}
	}
	d, err := parseDelimiters(first)
	if err != nil {
		err.Position = 1
		return prelude{}, err
	}
	for i, line := range lines {
		if !isSegmentStart(line, d.Field) {
			return prelude{}, notASegment(i+1, nil)
		}
		switch line[:3] {
		case "MSH":
			return prelude{lines: lines, d: d, msh: i}, nil
		case "FHS", "BHS":
			continue
		}
		return prelude{}, &Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1, Position: i + 1,
			Message: fmt.Sprintf("segment %d is %s, but only FHS and BHS may come before the MSH", i+1, line[:3])}
	}
	return prelude{}, &Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1,
		Message: "there is no MSH segment"}
}

// mshCharset returns MSH-18's first repetition from an MSH line, as written.
func mshCharset(line string, d Delimiters) string {
	// Split at the field separator, part 1 is MSH-2, so MSH-18 is part 18
	// counting "MSH" as part 1.
	v := piece(line, d.Field, 18)
	return strings.TrimSpace(piece(v, d.Repetition, 1))
}

// notASegment is the Error for a line that does not begin as a segment does.
func notASegment(pos int, before []*Segment) *Error {
	msg := "not a segment: it does not begin with a segment ID (three capital letters or digits, then the field separator)"
	if len(before) > 0 {
		prev := before[len(before)-1]
		msg += fmt.Sprintf("; it follows %s, whose last field may hold a line break that should have been escaped", prev.id)
	}
	return &Error{Code: SegmentSequenceError, Position: pos, Message: msg}
}

// invalidByte is the Error for the byte at offset at of line that charset
// cs does not allow.
func invalidByte(line string, at int, id string, seq, pos int, d Delimiters, cs charset, name string) *Error {
	e := &Error{Code: DataTypeError, Segment: id, Sequence: seq, Position: pos}
	e.Field, e.Repetition, e.Component, e.SubComponent = locate(line, at, d, isHeaderID(id))
	switch {
	case cs == charsetASCII:
		e.Message = fmt.Sprintf("byte 0x%02X is not ASCII, the character set MSH-18 declares", line[at])
	case name == "":
		e.Message = fmt.Sprintf("byte 0x%02X is neither ASCII nor UTF-8, and MSH-18 declares no other character set (8859/1 for Latin-1)", line[at])
	default:
		e.Message = fmt.Sprintf("byte 0x%02X is not valid in %q, the character set MSH-18 declares", line[at], name)
	}
	return e
}

// locate returns the field, repetition, component and sub-component of the
// byte at offset at of a segment line.
func locate(line string, at int, d Delimiters, header bool) (field, rep, comp, sub int) {
	field, rep, comp, sub = 0, 1, 1, 1
	i := 3
	if header {
		// MSH-1 is the separator at offset 3 and MSH-2 runs to the next one;
		// both are ASCII by construction, so at lies further on.
		field = 2
		i = 4
		for i < len(line) && line[i] != d.Field {
			i++
		}
	}
	for ; i < at && i < len(line); i++ {
		switch c := line[i]; {
		case c == 0:
		case c == d.Field:
			field, rep, comp, sub = field+1, 1, 1, 1
		case c == d.Repetition:
			rep, comp, sub = rep+1, 1, 1
		case c == d.Component:
			comp, sub = comp+1, 1
		case c == d.SubComponent:
			sub++
		}
	}
	return field, rep, comp, sub
}

// replaceInvalid replaces each byte of s that cs does not allow with '?'.
func replaceInvalid(s string, cs charset) string {
	at := cs.invalidAt(s)
	if at < 0 {
		return s
	}
	b := []byte(s[:at])
	for s = s[at:]; len(s) > 0; {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 || cs == charsetASCII && r >= utf8.RuneSelf {
			b = append(b, '?')
			s = s[1:]
			continue
		}
		b = append(b, s[:n]...)
		s = s[n:]
	}
	return string(b)
}

// idCounts counts the segments seen per ID, to number their occurrences.
// Messages use few distinct IDs, so a slice beats a map.
type idCounts []struct {
	id string
	n  int
}

func (c *idCounts) next(id string) int {
	for i := range *c {
		if (*c)[i].id == id {
			(*c)[i].n++
			return (*c)[i].n
		}
	}
	*c = append(*c, struct {
		id string
		n  int
	}{id, 1})
	return 1
}
