package hl7v2

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// addSeeds adds the real messages and a few odd ones to a fuzz corpus.
func addSeeds(f *testing.F) {
	for _, m := range realMessages(f) {
		f.Add(m.data)
	}
	for _, s := range [][]byte{
		msg(`MSH#$*@!#LAB$1.2#HOSP#EHR#WARD#2024##ORU$R01#C$5#P#2.5.1`, `OBX#1#ST#X##a@F@b`),
		msg(`MSH|^~\&#|A|B|C|D|||ORU^R01^ORU_R01|C#7|P|2.7`, `OBX|1|ST|X||cut\P\`),
		msg(`MSH|^~|A|B|C|D|||ORU^R01|C\6|P|2.5.1`),
		[]byte("MSH|^~\\&|CAF\xc9|B|C|D|||ORU^R01|C8|P|2.5.1||||||8859/1\rPID|1||\\XE9\\\r"),
		msg(`FHS|^~\&`, `BHS|^~\&`, mshORU, "BTS|1", "FTS|1"),
		[]byte("MSH|"),
	} {
		f.Add(s)
	}
}

// FuzzParse checks that Parse never panics, refuses only with a located
// *Error of table 0357, and that what it accepts reads consistently.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if _, known := errorCodeText[e.Code]; !known || e.Code == MessageAccepted {
				t.Fatalf("error code %d", e.Code)
			}
			if e.Message == "" || e.Error() == "" {
				t.Fatalf("error without a message: %+v", e)
			}
			return
		}
		h, err := ParseHeader(data)
		if err != nil {
			t.Fatalf("Parse reads it but ParseHeader does not: %v", err)
		}
		if !reflect.DeepEqual(*h, m.Header) {
			t.Fatalf("ParseHeader %+v, Parse %+v", *h, m.Header)
		}
		msh := m.Segments[m.Header.Position-1]
		if msh.ID() != "MSH" {
			t.Fatalf("Header.Position %d is a %s", m.Header.Position, msh.ID())
		}
		for i, s := range m.Segments {
			if s.Position() != i+1 || s.Sequence() < 1 || !isSegmentID(s.ID()) {
				t.Fatalf("segment %d: %s position %d sequence %d", i+1, s.ID(), s.Position(), s.Sequence())
			}
			if strings.Contains(s.Raw(), "\r") || strings.Contains(s.Raw(), "\n") && !bytes.Contains(data, []byte("\r")) {
				t.Fatalf("segment %d holds a line break", i+1)
			}
			for n := 0; n <= s.NumFields()+1; n++ {
				f := s.Field(n)
				reps := f.Reps()
				if len(reps) != f.NumReps() || len(reps) > 0 && reps[len(reps)-1] != f.Rep(len(reps)) {
					t.Fatalf("%s-%d: Reps and Rep disagree", s.ID(), n)
				}
				for i, r := range reps {
					for j, c := range r.Comps() {
						if c != r.Comp(j+1) {
							t.Fatalf("%s-%d(%d).%d: Comps and Comp disagree", s.ID(), n, i+1, j+1)
						}
						for k, sub := range c.Subs() {
							if sub != c.Sub(k+1) || !utf8.ValidString(sub.Text()) {
								t.Fatalf("%s-%d(%d).%d.%d: %q", s.ID(), n, i+1, j+1, k+1, sub.Text())
							}
						}
						_ = c.Text()
					}
					_ = r.Text()
				}
			}
		}
	})
}

// FuzzMLLPReader checks the Reader against a byte-at-a-time model of MLLP
// framing, whatever the reads' sizes, and that no frame exceeds the limit.
func FuzzMLLPReader(f *testing.F) {
	// The heads of the real messages, framed: long enough to cross reads
	// and limits, short enough for many runs a second.
	for _, m := range realMessages(f) {
		head := m.data[:min(len(m.data), 700)]
		f.Add(append(append([]byte{StartBlock}, head...), EndBlock, '\r'), uint16(len(head)))
	}
	f.Add([]byte("x\x0bA\x1c\r\n\x0bB\x0bC\x1c\x0bDDDDDDDD\x1c\r\x0bE"), uint16(4))
	f.Fuzz(func(t *testing.T, stream []byte, limit uint16) {
		lim := int(limit%512) + 1
		want := modelFrames(stream, lim)
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader, "half": iotest.HalfReader,
		} {
			r := NewReader(wrap(bytes.NewReader(stream)), lim)
			got := readAll(r)
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("%s reads: %q\nmodel: %q", name, got, want)
			}
			if cap(r.frame) > lim {
				t.Fatalf("the Reader holds %d bytes for a %d-byte limit", cap(r.frame), lim)
			}
		}
		for _, fr := range want {
			if !strings.HasPrefix(fr, "!") && len(fr) > lim {
				t.Fatalf("frame of %d bytes for a limit of %d", len(fr), lim)
			}
		}
	})
}

// modelFrames is MLLP framing as the Reader documents it, one byte at a
// time, in readAll's notation.
func modelFrames(stream []byte, limit int) []string {
	var out []string
	const (
		between = iota
		in
		dropping
	)
	state := between
	var frame []byte
	for _, c := range stream {
		switch state {
		case between, dropping:
			if c == StartBlock {
				state, frame = in, nil
			}
		case in:
			switch {
			case c == EndBlock:
				out = append(out, string(frame))
				state = between
			case c == StartBlock:
				out = append(out, "!"+ErrFrameInterrupted.Error()+":"+string(frame))
				frame = nil
			case len(frame) == limit:
				out = append(out, "!"+ErrFrameTooLarge.Error()+":"+string(frame))
				state = dropping
			default:
				frame = append(frame, c)
			}
		}
	}
	if state == in {
		out = append(out, "!"+io.ErrUnexpectedEOF.Error())
	}
	return out
}

// FuzzACK checks that the acknowledgment of any message Parse reads parses
// in turn, with MSA-2 the original control ID and the addresses swapped; and
// that the acknowledgment of anything Parse refuses parses as an AR.
func FuzzACK(f *testing.F) {
	addSeeds(f)
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			ack := ACKUnparsed(data, Acknowledgment{ControlID: "R1", Time: when, Errors: []error{err}})
			a, err := Parse(ack)
			if err != nil {
				t.Fatalf("the ACK of refused bytes does not parse: %v\n%q", err, ack)
			}
			if got := a.First("MSA").Field(1).Text(); got != "AR" {
				t.Fatalf("MSA-1 = %q, want AR", got)
			}
			if h, err := ParseHeader(data); err == nil {
				if got := a.First("MSA").Field(2).Text(); got != h.ControlID {
					t.Fatalf("MSA-2 = %q, want %q", got, h.ControlID)
				}
			}
			return
		}
		h := m.Header
		note := &Error{Code: DataTypeError, Segment: "OBX", Sequence: 1, Field: 5, Message: h.ControlID + h.Version}
		ack := ACK(&h, Acknowledgment{Code: AckError, ControlID: h.Type.Trigger + "|ack", Time: when, Errors: []error{note}})
		a, err := Parse(ack)
		if err != nil {
			t.Fatalf("the ACK does not parse: %v\n%q", err, ack)
		}
		checks := []struct{ what, got, want string }{
			{"MSA-2", a.First("MSA").Field(2).Text(), h.ControlID},
			{"MSA-1", a.First("MSA").Field(1).Text(), "AE"},
			{"MSH-10", a.Header.ControlID, h.Type.Trigger + "|ack"},
			{"MSH-9.2", a.Header.Type.Trigger, h.Type.Trigger},
			{"ERR-8", a.First("ERR").Field(8).Text(), note.Message},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Fatalf("%s = %q, want %q\n%q", c.what, c.got, c.want, ack)
			}
		}
		if a.Header.ReceivingApplication != h.SendingApplication || a.Header.SendingFacility != h.ReceivingFacility {
			t.Fatalf("addresses not swapped: %+v from %+v", a.Header, h)
		}
	})
}
