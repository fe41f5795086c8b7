package hl7v2

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"
)

// AckCode is MSA-1, the acknowledgment code (HL7 table 0008).
type AckCode string

// The acknowledgment codes of original mode.
const (
	AckAccept AckCode = "AA" // application accept: the message was taken
	AckError  AckCode = "AE" // application error: it was read but not processed
	AckReject AckCode = "AR" // application reject: it was not understood or not supported
)

// Defaults written when the received header does not say.
const (
	// AckVersion is MSH-12 of an acknowledgment to a message whose version is
	// unknown: the version whose ERR layout ACK writes.
	AckVersion = "2.5.1"
	// AckProcessingID is MSH-11 of an acknowledgment to a message whose
	// processing ID is unknown.
	AckProcessingID = "P"
)

// Acknowledgment is what a receiver says about a message.
type Acknowledgment struct {
	Code AckCode
	// ControlID is the acknowledgment's own MSH-10, unique among the
	// messages the receiver sends.
	ControlID string
	// Time is the acknowledgment's MSH-7; the zero Time leaves it empty.
	Time time.Time
	// Errors become ERR segments, in order. An *Error is written as it is;
	// any other error as ApplicationInternalError without its text, which
	// may say more than a sender should read.
	Errors []error
}

// ACK builds the acknowledgment of the message whose header is h, in the
// message's own encoding characters (the standard ones if it declared fewer
// than four) and character set:
//
//	MSH|^~\&|<MSH-5>|<MSH-6>|<MSH-3>|<MSH-4>|<time>||ACK^<trigger>^ACK|<a.ControlID>|<MSH-11>|<MSH-12>
//	MSA|<a.Code>|<MSH-10>
//	ERR||<segment>^<sequence>^<field>^<repetition>^<component>^<sub-component>|<code>^<text>^HL70357|<severity>||||<message>
//
// MSH-18 repeats the received character set when it is one Parse reads.
// ERR segments follow the v2.5 layout whatever the received version. Every
// value is escaped, so nothing a sender wrote can break the acknowledgment
// or its MLLP frame. Each segment ends with a carriage return.
func ACK(h *Header, a Acknowledgment) []byte {
	d := h.Delimiters
	if !d.complete() {
		d = StandardDelimiters
	}
	w := ackWriter{d: d, cs: h.cs}
	processing := h.ProcessingID
	if processing == "" && h.ProcessingMode == "" {
		processing = AckProcessingID
	}
	version := h.Version
	if version == "" {
		version = AckVersion
	}
	var when string
	if !a.Time.IsZero() {
		when = a.Time.Format("20060102150405-0700")
	}

	// The separator after "MSH" is MSH-1, so MSH-2 is the first field written.
	w.segment("MSH", d.EncodingCharacters(),
		w.hd(h.ReceivingApplication), w.hd(h.ReceivingFacility),
		w.hd(h.SendingApplication), w.hd(h.SendingFacility),
		when, "", "ACK"+string(d.Component)+w.text(h.Type.Trigger)+string(d.Component)+"ACK",
		w.text(a.ControlID), w.join(d.Component, processing, h.ProcessingMode), w.text(version),
		"", "", "", "", "", charsetField(h, &w))
	w.segment("MSA", w.text(string(a.Code)), w.text(h.ControlID))
	for _, err := range a.Errors {
		w.err(err)
	}
	return w.buf.Bytes()
}

// charsetField returns MSH-18 for the acknowledgment: the received value when
// it was one this package reads, else nothing (and ASCII text).
func charsetField(h *Header, w *ackWriter) string {
	if h.Charset == "" {
		return ""
	}
	if _, ok := lookupCharset(h.Charset); !ok {
		return ""
	}
	return w.text(h.Charset)
}

// ACKUnparsed builds the acknowledgment of bytes that Parse refused. It
// addresses it from the header when ParseHeader can read one; otherwise it
// looks for an MSH-10 as best it can (the tenth field after the first "MSH",
// split at the character after it) and writes the standard encoding
// characters and version 2.5.1. An empty a.Code means AckReject.
func ACKUnparsed(raw []byte, a Acknowledgment) []byte {
	if a.Code == "" {
		a.Code = AckReject
	}
	h, err := ParseHeader(raw)
	if err != nil {
		h = &Header{Delimiters: StandardDelimiters, ControlID: guessControlID(raw), cs: charsetASCII}
	}
	return ACK(h, a)
}

// guessControlID finds MSH-10 in bytes too broken for ParseHeader, or "".
func guessControlID(raw []byte) string {
	i := bytes.Index(raw, []byte("MSH"))
	if i < 0 || i+3 >= len(raw) || !isDelimiterChar(raw[i+3]) {
		return ""
	}
	sep := raw[i+3]
	rest := raw[i+4:]
	if end := bytes.IndexAny(rest, "\r\n"); end >= 0 {
		rest = rest[:end]
	}
	// rest begins with MSH-2, so MSH-10 is its ninth part.
	id := piece(string(rest), sep, 9)
	return replaceInvalid(strings.TrimSpace(id), charsetASCII)
}

// ackWriter writes the segments of an acknowledgment.
type ackWriter struct {
	buf bytes.Buffer
	d   Delimiters
	cs  charset
}

// text escapes a value and writes it in the acknowledgment's character set.
func (w *ackWriter) text(s string) string { return w.cs.fromUTF8(Escape(s, w.d)) }

// join escapes each part and joins them with sep, dropping empty trailing
// parts.
func (w *ackWriter) join(sep byte, parts ...string) string {
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = w.text(p)
	}
	return strings.Join(out, string(sep))
}

func (w *ackWriter) hd(h HD) string {
	return w.join(w.d.Component, h.NamespaceID, h.UniversalID, h.UniversalIDType)
}

// segment writes one segment; fields are already encoded. Empty trailing
// fields are dropped.
func (w *ackWriter) segment(id string, fields ...string) {
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	w.buf.WriteString(id)
	for _, f := range fields {
		w.buf.WriteByte(w.d.Field)
		w.buf.WriteString(f)
	}
	w.buf.WriteByte('\r')
}

// err writes one ERR segment.
func (w *ackWriter) err(err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: ApplicationInternalError}
	}
	var location string
	if e.Segment != "" {
		num := func(n int) string {
			if n <= 0 {
				return ""
			}
			return strconv.Itoa(n)
		}
		location = w.join(w.d.Component, e.Segment, num(e.Sequence), num(e.Field), num(e.Repetition), num(e.Component), num(e.SubComponent))
	}
	severity := e.Severity
	if severity == 0 {
		severity = SeverityError
	}
	code := w.join(w.d.Component, strconv.Itoa(int(e.Code)), e.Code.String(), "HL70357")
	w.segment("ERR", "", location, code, w.text(string(severity)), "", "", "", w.text(e.Message))
}
