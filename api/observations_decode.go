package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// readBatch reads the body of POST /v1/observations/batch as readJSON does,
// with the same checks and the same refusals, but decodes it with
// decodeBatchBody: a 10,000-item batch in a fraction of encoding/json's
// time. A body holding anything decodeBatchBody leaves to encoding/json
// (escapes, nulls, another spelling of a field, a mistake) is decoded by
// readJSON, which answers a mistake as it always has.
func readBatch(c *gin.Context, b *batchBody) []byte {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return readJSON(c, b) // refused there
	}
	limit := bodyLimit(c)
	body, err := readAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit), min(c.Request.ContentLength, limit))
	if err != nil {
		// readJSON's refusals of a body that cannot be read.
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The body is larger than "+strconv.FormatInt(limit, 10)+" bytes.")
			return nil
		}
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body could not be read.")
		return nil
	}
	if decodeBatchBody(body, b) {
		return body
	}
	*b = batchBody{}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	return readJSON(c, b)
}

// readAll is io.ReadAll starting with room for size bytes (the
// Content-Length, when known) and one more, so that a body is read in one
// piece rather than copied again each time the buffer grows.
func readAll(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, 0, max(size, 511)+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append grow it
		}
	}
}

// decodeBatchBody decodes body into b and reports true when the body is a
// batch exactly as encoding/json, refusing unknown fields, would decode it
// (FuzzDecodeBatchBody holds it to that): every field spelled as documented,
// given once, of its documented type, no null, no string escape, nothing
// after the object. Otherwise it reports false and b holds nothing useful.
func decodeBatchBody(body []byte, b *batchBody) bool {
	d := batchDecoder{data: body}
	if !d.byte('{') || !d.key("items") || !d.byte('[') {
		return false
	}
	// Room for the items: an item names its patient once.
	b.Items = make([]observationBody, 0, min(bytes.Count(body, []byte(`"patientId"`)), observation.MaxBatch+1))
	if d.byte(']') {
		return d.end()
	}
	// A large batch is read in two halves at once, the second from the
	// first item that seems to begin after the middle. The first half is
	// read from the start, so it meets every item where it truly begins:
	// the second half counts only if the first ends at its start.
	split := -1
	if len(body) >= splitBody {
		if i := bytes.Index(body[len(body)/2:], []byte("},{")); i >= 0 {
			split = len(body)/2 + i + len("},")
		}
	}
	var (
		second   batchBody
		secondOK bool
		done     chan struct{}
	)
	if split > 0 {
		second.Items = make([]observationBody, 0, cap(b.Items)/2+1)
		done = make(chan struct{})
		go func() {
			defer close(done)
			rest := batchDecoder{data: body, pos: split}
			secondOK = rest.items(&second, -1) && rest.end()
		}()
	}
	if !d.items(b, split) {
		if done != nil {
			<-done
		}
		return false
	}
	if d.pos != split { // read to the end alone
		if done != nil {
			<-done
		}
		return d.end()
	}
	<-done
	b.Items = append(b.Items, second.Items...)
	return secondOK
}

// splitBody is the size from which decodeBatchBody reads a body in two
// halves at once.
const splitBody = 256 << 10

// items reads items into b up to the closing bracket, or until the next
// item would begin at stop, where it stops before it.
func (d *batchDecoder) items(b *batchBody, stop int) bool {
	for {
		var it observationBody
		if !d.item(&it) {
			return false
		}
		b.Items = append(b.Items, it)
		if d.byte(']') {
			return true
		}
		if !d.byte(',') {
			return false
		}
		if d.peek() == '{' && d.pos == stop {
			return true
		}
	}
}

// end reads the closing brace of the body and reports whether nothing but
// white space follows.
func (d *batchDecoder) end() bool {
	if !d.byte('}') {
		return false
	}
	d.space()
	return d.pos == len(d.data)
}

// batchDecoder reads a batch body left to right; each method reports
// whether what it met is what it decodes.
type batchDecoder struct {
	data []byte
	pos  int
	// values and floats hold the items' values, allocated a few at a time.
	values []observation.ValueInput
	floats []float64
}

func (d *batchDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (d *batchDecoder) peek() byte {
	d.space()
	if d.pos == len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// byte consumes c, after white space.
func (d *batchDecoder) byte(c byte) bool {
	if d.peek() != c {
		return false
	}
	d.pos++
	return true
}

// key consumes "name" and the colon after it.
func (d *batchDecoder) key(name string) bool {
	k, ok := d.str()
	return ok && string(k) == name && d.byte(':')
}

// str consumes a string without escapes and returns its bytes, which are
// valid UTF-8 (encoding/json would replace invalid bytes).
func (d *batchDecoder) str() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start, ascii := d.pos, true
	for ; d.pos < len(d.data); d.pos++ {
		switch c := d.data[d.pos]; {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			return s, ascii || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

// number consumes a JSON number that is a finite float64.
func (d *batchDecoder) number() (float64, bool) {
	d.space()
	start, p := d.pos, d.pos
	digits := func() bool {
		from := p
		for p < len(d.data) && d.data[p] >= '0' && d.data[p] <= '9' {
			p++
		}
		return p > from
	}
	if p < len(d.data) && d.data[p] == '-' {
		p++
	}
	switch {
	case p < len(d.data) && d.data[p] == '0':
		p++
	case !digits():
		return 0, false
	}
	if p < len(d.data) && d.data[p] == '.' {
		p++
		if !digits() {
			return 0, false
		}
	}
	if p < len(d.data) && (d.data[p] == 'e' || d.data[p] == 'E') {
		p++
		if p < len(d.data) && (d.data[p] == '+' || d.data[p] == '-') {
			p++
		}
		if !digits() {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(d.data[start:p]), 64)
	if err != nil {
		return 0, false
	}
	d.pos = p
	return f, true
}

// float consumes a number into a *float64 of the batch's.
func (d *batchDecoder) float() (*float64, bool) {
	f, ok := d.number()
	if !ok {
		return nil, false
	}
	if len(d.floats) == cap(d.floats) {
		d.floats = make([]float64, 0, 256)
	}
	d.floats = append(d.floats, f)
	return &d.floats[len(d.floats)-1], true
}

func (d *batchDecoder) text() (string, bool) {
	s, ok := d.str()
	return string(s), ok
}

func (d *batchDecoder) uuid() (uuid.UUID, bool) {
	s, ok := d.str()
	var id uuid.UUID
	return id, ok && id.UnmarshalText(s) == nil
}

// time consumes a string as time.Time's UnmarshalJSON reads it.
func (d *batchDecoder) time() (time.Time, bool) {
	d.space()
	start := d.pos
	if _, ok := d.str(); !ok {
		return time.Time{}, false
	}
	var t time.Time
	return t, t.UnmarshalJSON(d.data[start:d.pos]) == nil
}

// object consumes an object, handing each key to field, which consumes the
// value; every key at most once, at most 64 of them.
func (d *batchDecoder) object(field func(key string) (bit uint64, ok bool)) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	var seen uint64
	for {
		k, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		bit, ok := field(string(k))
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if d.byte('}') {
			return true
		}
		if !d.byte(',') {
			return false
		}
	}
}

// item consumes one observation of the batch.
func (d *batchDecoder) item(it *observationBody) bool {
	in := &it.Input
	return d.object(func(key string) (uint64, bool) {
		var ok bool
		switch key {
		case "patientId":
			in.PatientID, ok = d.uuid()
			return 1 << 0, ok
		case "encounterId":
			var id uuid.UUID
			id, ok = d.uuid()
			in.EncounterID = &id
			return 1 << 1, ok
		case "category":
			var s string
			s, ok = d.text()
			in.Category = observation.Category(s)
			return 1 << 2, ok
		case "code":
			in.Code, ok = d.text()
			return 1 << 3, ok
		case "value":
			in.Value, ok = d.value()
			return 1 << 4, ok
		case "components":
			in.Components, ok = d.components()
			return 1 << 5, ok
		case "effectiveAt":
			in.EffectiveAt, ok = d.time()
			return 1 << 6, ok
		case "issued":
			var t time.Time
			t, ok = d.time()
			in.Issued = &t
			return 1 << 7, ok
		case "status":
			var s string
			s, ok = d.text()
			in.Status = observation.Status(s)
			return 1 << 8, ok
		case "method":
			in.Method, ok = d.text()
			return 1 << 9, ok
		case "device":
			in.Device, ok = d.text()
			return 1 << 10, ok
		case "referenceRange":
			in.ReferenceRange, ok = d.referenceRange()
			return 1 << 11, ok
		case "performer":
			it.Performer, ok = d.text()
			return 1 << 12, ok
		}
		return 0, false
	})
}

func (d *batchDecoder) value() (*observation.ValueInput, bool) {
	if len(d.values) == cap(d.values) {
		d.values = make([]observation.ValueInput, 0, 256)
	}
	d.values = append(d.values, observation.ValueInput{})
	v := &d.values[len(d.values)-1]
	return v, d.object(func(key string) (uint64, bool) {
		var ok bool
		switch key {
		case "value":
			v.Value, ok = d.float()
			return 1 << 0, ok
		case "unit":
			v.Unit, ok = d.text()
			return 1 << 1, ok
		case "code":
			v.Code, ok = d.text()
			return 1 << 2, ok
		case "text":
			var s string
			s, ok = d.text()
			v.Text = &s
			return 1 << 3, ok
		case "boolean":
			var yes bool
			yes, ok = d.boolean()
			v.Boolean = &yes
			return 1 << 4, ok
		}
		return 0, false
	})
}

func (d *batchDecoder) boolean() (bool, bool) {
	d.space()
	switch {
	case bytes.HasPrefix(d.data[d.pos:], []byte("true")):
		d.pos += len("true")
		return true, true
	case bytes.HasPrefix(d.data[d.pos:], []byte("false")):
		d.pos += len("false")
		return false, true
	}
	return false, false
}

func (d *batchDecoder) components() ([]observation.ComponentInput, bool) {
	if !d.byte('[') {
		return nil, false
	}
	out := []observation.ComponentInput{}
	if d.byte(']') {
		return out, true
	}
	for {
		var c observation.ComponentInput
		if !d.object(func(key string) (uint64, bool) {
			var ok bool
			switch key {
			case "code":
				c.Code, ok = d.text()
				return 1 << 0, ok
			case "value":
				c.Value, ok = d.float()
				return 1 << 1, ok
			case "unit":
				c.Unit, ok = d.text()
				return 1 << 2, ok
			}
			return 0, false
		}) {
			return nil, false
		}
		out = append(out, c)
		if d.byte(']') {
			return out, true
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

func (d *batchDecoder) referenceRange() (*observation.RangeInput, bool) {
	r := &observation.RangeInput{}
	return r, d.object(func(key string) (uint64, bool) {
		var ok bool
		switch key {
		case "low":
			r.Low, ok = d.float()
			return 1 << 0, ok
		case "high":
			r.High, ok = d.float()
			return 1 << 1, ok
		case "unit":
			r.Unit, ok = d.text()
			return 1 << 2, ok
		}
		return 0, false
	})
}
