package hl7v2

import "strings"

// Message is a parsed HL7 v2 message. Reading it never changes it, so
// goroutines may read one message at the same time.
type Message struct {
	// Header holds the MSH facts that routing and acknowledgment need.
	Header Header
	// Delimiters are the encoding characters declared in MSH-1 and MSH-2.
	Delimiters Delimiters
	// Segments are all segments in the order received, envelope segments
	// (FHS, BHS, BTS, FTS) included.
	Segments []*Segment

	c codec
}

// First returns the first segment with the given ID, or nil. The methods of
// a nil *Segment return empty values, so lookups chain:
// m.First("PV1").Field(3).Comp(1).Text() is "" when there is no PV1.
func (m *Message) First(id string) *Segment {
	for _, s := range m.Segments {
		if s.id == id {
			return s
		}
	}
	return nil
}

// All returns the segments with the given ID, in order.
func (m *Message) All(id string) []*Segment {
	var out []*Segment
	for _, s := range m.Segments {
		if s.id == id {
			out = append(out, s)
		}
	}
	return out
}

// Segment is one segment of a message.
type Segment struct {
	id       string
	position int
	sequence int
	raw      string
	// fields[n] is field n; fields[0] is the ID. For header segments (MSH,
	// FHS, BHS) fields[1] is the field separator and fields[2] the encoding
	// characters, so that numbering matches the standard's.
	fields []string
	header bool
	c      *codec
}

// ID returns the segment ID, such as "PID".
func (s *Segment) ID() string {
	if s == nil {
		return ""
	}
	return s.id
}

// Position returns the segment's place in the message, 1 for the first.
func (s *Segment) Position() int {
	if s == nil {
		return 0
	}
	return s.position
}

// Sequence returns the occurrence of the segment's ID in the message, 1 for
// the first: the third OBX has Sequence 3 (ERR-2.2).
func (s *Segment) Sequence() int {
	if s == nil {
		return 0
	}
	return s.sequence
}

// Raw returns the segment as received, without its terminator.
func (s *Segment) Raw() string {
	if s == nil {
		return ""
	}
	return s.raw
}

// NumFields returns the number of the segment's last field.
func (s *Segment) NumFields() int {
	if s == nil {
		return 0
	}
	return len(s.fields) - 1
}

// Field returns field n, numbered as the standard numbers it: for MSH, FHS
// and BHS, Field(1) is the field separator and Field(2) the encoding
// characters, both returned as they are. A field the segment does not have
// is empty.
func (s *Segment) Field(n int) Field {
	if s == nil || n < 1 || n >= len(s.fields) {
		return Field{}
	}
	if s.header && n <= 2 {
		return Field{raw: s.fields[n]}
	}
	return Field{raw: s.fields[n], c: s.c}
}

// newSegment splits line into fields.
func newSegment(line, id string, pos, seq int, c *codec) *Segment {
	s := &Segment{}
	s.init(line, id, pos, seq, c, nil)
	return s
}

// init fills s from line, appending its fields to buf (so that the segments
// of a message share one array) and returning the rest of buf.
func (s *Segment) init(line, id string, pos, seq int, c *codec, buf []string) []string {
	header := isHeaderID(id)
	sep := c.d.Field
	n := pieces(line, sep)
	if header {
		n++
	}
	if cap(buf)-len(buf) < n {
		buf = make([]string, 0, n)
	}
	start := len(buf)
	rest := line
	for {
		k := strings.IndexByte(rest, sep)
		if k < 0 {
			buf = append(buf, rest)
			break
		}
		buf = append(buf, rest[:k])
		rest = rest[k+1:]
		if header && len(buf)-start == 1 {
			buf = append(buf, line[3:4])
		}
	}
	*s = Segment{id: id, position: pos, sequence: seq, raw: line, fields: buf[start:len(buf):len(buf)], header: header, c: c}
	return buf[len(buf):]
}
