package observation

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// AppendEventJSON appends e as json.Marshal encodes it — the same bytes,
// field by field (TestEventJSON holds it to that) — at a fraction of the
// cost: a batch's events and its minimal answer hold one per observation,
// and json.Marshal spent more than the database did storing them. A value
// json.Marshal refuses falls back to it, and to its error, appending
// nothing.
func AppendEventJSON(b []byte, e EventData) ([]byte, error) {
	start := len(b)
	if out, ok := appendEventData(b, &e); ok {
		return out, nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return b[:start], err
	}
	return append(b[:start], data...), nil
}

// appendEventData appends e as json.Marshal would; false for a value it
// leaves to json.Marshal (a float that is not finite, a time outside years
// 0–9999).
func appendEventData(b []byte, e *EventData) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":"`...)
	b = appendUUID(b, e.ID)
	b = append(b, `","version":`...)
	b = strconv.AppendInt(b, int64(e.Version), 10)
	b = append(b, `,"patientId":"`...)
	b = appendUUID(b, e.PatientID)
	b = append(b, '"')
	if e.EncounterID != nil {
		b = append(b, `,"encounterId":"`...)
		b = appendUUID(b, *e.EncounterID)
		b = append(b, '"')
	}
	if e.BasedOn != nil {
		b = append(b, `,"basedOn":"`...)
		b = appendUUID(b, *e.BasedOn)
		b = append(b, '"')
	}
	b = append(b, `,"category":`...)
	b = appendJSONString(b, string(e.Category))
	b = append(b, `,"code":`...)
	b = appendJSONString(b, e.Code)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(e.Status))
	b = append(b, `,"effectiveAt":`...)
	if t := e.EffectiveAt; t.Location() == time.UTC && t.Year() >= 0 && t.Year() <= 9999 {
		// What MarshalJSON writes of such a time, without its allocation.
		b = append(t.AppendFormat(append(b, '"'), time.RFC3339Nano), '"')
	} else {
		t, err := t.MarshalJSON()
		if err != nil {
			return b, false
		}
		b = append(b, t...)
	}
	if q := e.Quantity; q != nil {
		b = append(b, `,"quantity":`...)
		b = appendQuantity(b, *q, &ok)
	}
	if e.Answer != "" {
		b = append(b, `,"answer":`...)
		b = appendJSONString(b, e.Answer)
	}
	if e.Text != "" {
		b = append(b, `,"text":`...)
		b = appendJSONString(b, e.Text)
	}
	if e.Boolean != nil {
		b = append(b, `,"boolean":`...)
		b = strconv.AppendBool(b, *e.Boolean)
	}
	if len(e.Components) > 0 {
		b = append(b, `,"components":[`...)
		for i, c := range e.Components {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"code":`...)
			b = appendJSONString(b, c.Code)
			b = append(b, `,"quantity":`...)
			b = appendQuantity(b, c.Quantity, &ok)
			b = append(b, `,"interpretation":`...)
			b = appendLimits(b, c.Interpretation, &ok)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"interpretation":`...)
	b = appendLimits(b, e.Interpretation, &ok)
	if len(e.DeltaFlags) > 0 {
		b = append(b, `,"deltaFlags":[`...)
		for i, f := range e.DeltaFlags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, string(f))
		}
		b = append(b, ']')
	}
	if e.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, e.Reason)
	}
	return append(b, '}'), ok
}

func appendQuantity(b []byte, q Quantity, ok *bool) []byte {
	b = append(b, `{"value":`...)
	b = appendJSONFloat(b, q.Value, ok)
	b = append(b, `,"unit":`...)
	b = appendJSONString(b, q.Unit)
	return append(b, '}')
}

func appendLimits(b []byte, l Limits, ok *bool) []byte {
	b = append(b, '{')
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
	}
	if l.Flag != "" {
		field("flag")
		b = appendJSONString(b, string(l.Flag))
	}
	for _, v := range [...]struct {
		name string
		v    *float64
	}{{"low", l.Low}, {"high", l.High}, {"criticalLow", l.CriticalLow}, {"criticalHigh", l.CriticalHigh}} {
		if v.v != nil {
			field(v.name)
			b = appendJSONFloat(b, *v.v, ok)
		}
	}
	return append(b, '}')
}

// appendJSONFloat appends f as encoding/json writes a float64 (ES6 number
// form); ok becomes false for a NaN or an infinity, which it refuses.
func appendJSONFloat(b []byte, f float64, ok *bool) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		*ok = false
		return b
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 && (f != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(b, int64(f), 10) // as 'f' writes a whole number, in a third of the time
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-09 to e-9
		b = b[:n-1]
	}
	return b
}

// appendJSONString appends s quoted as encoding/json writes it: printable
// ASCII other than " \ < > & as it is, anything else through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendUUID appends id in its canonical text form, as uuid.UUID.String.
func appendUUID(b []byte, id uuid.UUID) []byte {
	const hexDigits = "0123456789abcdef"
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}
