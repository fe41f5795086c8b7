// Package bundle imports FHIR R4 transaction and batch Bundles: a streaming
// reader of their entries, and an importer that registers the patients and
// records the observations the engine holds, answering each entry.
package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Bundle types the reader accepts.
const (
	TypeTransaction = "transaction"
	TypeBatch       = "batch"
)

// The reader's default caps.
const (
	// DefaultMaxEntryBytes caps one entry (and any other top-level value).
	DefaultMaxEntryBytes = 4 << 20
	// DefaultMaxEntries caps the entries of one bundle.
	DefaultMaxEntries = 20_000
)

// Why a bundle was refused, for callers to match with errors.Is; each comes
// wrapped in an *Error naming where.
var (
	// ErrNotBundle: the body is not a JSON object of resourceType Bundle.
	ErrNotBundle = errors.New("is not a FHIR Bundle")
	// ErrBundleType: the bundle is neither a transaction nor a batch.
	ErrBundleType = errors.New("must be transaction or batch")
	// ErrOrder: entry came before resourceType and type, which a streaming
	// reader needs first.
	ErrOrder = errors.New("must come after resourceType and type")
	// ErrEntryTooLarge: one entry (or another top-level value) exceeds the cap.
	ErrEntryTooLarge = errors.New("is larger than the entry cap")
	// ErrTooManyEntries: the bundle holds more entries than the cap.
	ErrTooManyEntries = errors.New("exceeds the entry count cap")
	// ErrSyntax: the JSON is malformed, or a value has the wrong JSON type.
	ErrSyntax = errors.New("is not valid JSON of the expected shape")
	// ErrInvalidEntry: an entry lacks what a transaction or batch entry needs.
	ErrInvalidEntry = errors.New("is not a valid bundle entry")
)

// Error is a refusal of the bundle: Entry is the index of the entry it
// concerns (-1 when none), Path the JSON path ("entry[3].request.method"),
// Err one of the Err* values above, and Detail what was wrong.
type Error struct {
	Entry  int
	Path   string
	Err    error
	Detail string
}

// Error reads "entry[3].request.method: is not a valid bundle entry: …".
func (e *Error) Error() string {
	msg := e.Path + ": " + e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the Err* value.
func (e *Error) Unwrap() error { return e.Err }

// Entry is one bundle entry as read: its resource left as raw JSON.
type Entry struct {
	// Index counts entries from 0, in the bundle's order.
	Index   int
	FullURL string
	// ResourceType is the resource's resourceType.
	ResourceType string
	Resource     json.RawMessage
	// Method and URL are the entry's request.method and request.url.
	Method, URL string
	// Hash is the SHA-256 of the entry's JSON as sent.
	Hash [32]byte
}

// Option sets one of the reader's caps.
type Option func(*Reader)

// MaxEntryBytes caps one entry at n bytes of JSON.
func MaxEntryBytes(n int64) Option { return func(r *Reader) { r.maxEntry = n } }

// MaxEntries caps the entries of the bundle at n.
func MaxEntries(n int) Option { return func(r *Reader) { r.maxEntries = n } }

// Reader yields a bundle's entries one at a time, holding at most one entry
// (and one read's worth more) in memory. resourceType and type must come
// before entry, as every FHIR server writes them.
//
// It reads the JSON itself rather than through encoding/json's Decoder:
// each value is found by one pass over its bytes and checked by a second
// (validJSON), where the Decoder takes two passes of its slower scanner
// and the entry's decoding two more; encoding/json still reports what is
// wrong with a value that fails the check.
type Reader struct {
	src io.Reader
	// buf[pos:end] is read and not yet consumed; off is the body offset of
	// buf[0].
	buf        []byte
	pos, end   int
	off        int64
	eof        bool
	typ        string
	maxEntry   int64
	maxEntries int
	next       int
	// state: inEntries while the entry array is open; done after the end;
	// member once the bundle object has a member (the next needs a comma).
	inEntries, done, member bool
}

// readSize is how much the reader asks of its source at a time.
const readSize = 64 << 10

// NewReader reads the bundle's opening up to its first entry, refusing a
// body that is not a transaction or batch Bundle.
func NewReader(r io.Reader, opts ...Option) (*Reader, error) {
	br := &Reader{src: r, maxEntry: DefaultMaxEntryBytes, maxEntries: DefaultMaxEntries}
	for _, o := range opts {
		o(br)
	}
	c, err := br.nonSpace(-1, "(body)")
	if err != nil {
		return nil, err
	}
	if c != '{' {
		if !valueStart(c) {
			return nil, br.invalid(-1, "(body)", c)
		}
		return nil, &Error{Entry: -1, Path: "(body)", Err: ErrNotBundle, Detail: "expected a JSON object"}
	}
	br.pos++
	var resourceType string
	for {
		key, end, err := br.key()
		if err != nil {
			return nil, err
		}
		if end {
			br.done = true
			break
		}
		switch key {
		case "resourceType", "type":
			raw, err := br.value(-1, key)
			if err != nil {
				return nil, err
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, br.syntax(-1, key, err)
			}
			if key == "type" {
				br.typ = s
			} else {
				resourceType = s
			}
			continue
		case "entry":
			if resourceType == "" || br.typ == "" {
				return nil, &Error{Entry: -1, Path: "entry", Err: ErrOrder}
			}
		}
		if key == "entry" {
			break
		}
		if _, err := br.value(-1, key); err != nil {
			return nil, err
		}
	}
	switch {
	case resourceType != "Bundle":
		return nil, &Error{Entry: -1, Path: "resourceType", Err: ErrNotBundle, Detail: fmt.Sprintf("resourceType is %q", resourceType)}
	case br.typ != TypeTransaction && br.typ != TypeBatch:
		return nil, &Error{Entry: -1, Path: "type", Err: ErrBundleType, Detail: fmt.Sprintf("type is %q", br.typ)}
	}
	if br.done {
		return br, br.trailing()
	}
	c, err = br.nonSpace(-1, "entry")
	if err != nil {
		return nil, err
	}
	if c != '[' {
		return nil, &Error{Entry: -1, Path: "entry", Err: ErrSyntax, Detail: "expected an array"}
	}
	br.pos++
	br.inEntries = true
	return br, nil
}

// Type is the bundle's type: TypeTransaction or TypeBatch.
func (br *Reader) Type() string { return br.typ }

// Next returns the next entry, io.EOF after the last (once the rest of the
// bundle has been read and found well formed), or an *Error.
func (br *Reader) Next() (Entry, error) {
	if br.done {
		return Entry{}, io.EOF
	}
	if br.inEntries {
		c, err := br.nonSpace(-1, "entry")
		if err != nil {
			return Entry{}, err
		}
		if c != ']' {
			if br.next > 0 {
				if c != ',' {
					return Entry{}, br.expected(-1, "entry", c, "',' or ']' after an entry")
				}
				br.pos++
				if _, err := br.nonSpace(-1, "entry"); err != nil {
					return Entry{}, err
				}
			}
			return br.entry()
		}
		br.pos++
		br.inEntries = false
	}
	for {
		key, end, err := br.key()
		if err != nil {
			return Entry{}, err
		}
		if end {
			break
		}
		if key == "entry" || key == "resourceType" || key == "type" {
			return Entry{}, &Error{Entry: -1, Path: key, Err: ErrSyntax, Detail: "appears twice"}
		}
		if _, err := br.value(-1, key); err != nil {
			return Entry{}, err
		}
	}
	br.done = true
	if err := br.trailing(); err != nil {
		return Entry{}, err
	}
	return Entry{}, io.EOF
}

// rawEntry is the part of an entry the reader reads.
type rawEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

func (br *Reader) entry() (Entry, error) {
	i := br.next
	path := "entry[" + strconv.Itoa(i) + "]"
	if i >= br.maxEntries {
		return Entry{}, &Error{Entry: i, Path: path, Err: ErrTooManyEntries, Detail: fmt.Sprintf("at most %d entries", br.maxEntries)}
	}
	br.next++
	value, err := br.value(i, path)
	if err != nil {
		return Entry{}, err
	}
	// The entry outlives the reader's buffer.
	raw := json.RawMessage(append([]byte(nil), value...))
	e, resourceType, ok := fastEntry(raw)
	if !ok {
		var err error
		if e, resourceType, err = br.checkEntry(i, path, raw); err != nil {
			return Entry{}, err
		}
	}
	return Entry{Index: i, FullURL: e.FullURL, ResourceType: resourceType, Resource: e.Resource,
		Method: e.Request.Method, URL: e.Request.URL, Hash: sha256.Sum256(raw)}, nil
}

// checkEntry decodes an entry fastEntry would not read, refusing it with
// the path of what is wrong.
func (br *Reader) checkEntry(i int, path string, raw json.RawMessage) (rawEntry, string, error) {
	var e rawEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, "", br.syntax(i, path, err)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	switch {
	case len(e.Resource) == 0 || string(e.Resource) == "null":
		return e, "", &Error{Entry: i, Path: path + ".resource", Err: ErrInvalidEntry, Detail: "is required"}
	case json.Unmarshal(e.Resource, &head) != nil:
		return e, "", &Error{Entry: i, Path: path + ".resource", Err: ErrInvalidEntry, Detail: "must be a JSON object"}
	case head.ResourceType == "":
		return e, "", &Error{Entry: i, Path: path + ".resource.resourceType", Err: ErrInvalidEntry, Detail: "is required"}
	case e.Request == nil:
		return e, "", &Error{Entry: i, Path: path + ".request", Err: ErrInvalidEntry, Detail: "is required in a " + br.typ}
	case e.Request.Method == "":
		return e, "", &Error{Entry: i, Path: path + ".request.method", Err: ErrInvalidEntry, Detail: "is required"}
	case e.Request.URL == "":
		return e, "", &Error{Entry: i, Path: path + ".request.url", Err: ErrInvalidEntry, Detail: "is required"}
	}
	return e, head.ResourceType, nil
}

// key reads the next property name of the bundle object and its colon, or
// reports the object's end.
func (br *Reader) key() (string, bool, error) {
	c, err := br.nonSpace(-1, "(body)")
	if err != nil {
		return "", false, err
	}
	if c == '}' {
		br.pos++
		return "", true, nil
	}
	if br.member {
		if c != ',' {
			return "", false, br.expected(-1, "(body)", c, "',' or '}' after a property")
		}
		br.pos++
		if c, err = br.nonSpace(-1, "(body)"); err != nil {
			return "", false, err
		}
	}
	if c != '"' {
		return "", false, &Error{Entry: -1, Path: "(body)", Err: ErrSyntax, Detail: "expected a property name"}
	}
	raw, err := br.value(-1, "(body)")
	if err != nil {
		return "", false, err
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil {
		return "", false, br.syntax(-1, "(body)", err)
	}
	if c, err = br.nonSpace(-1, key); err != nil {
		return "", false, err
	}
	if c != ':' {
		return "", false, br.expected(-1, key, c, "':' after a property name")
	}
	br.pos++
	br.member = true
	if _, err := br.nonSpace(-1, key); err != nil {
		return "", false, err
	}
	return key, false, nil
}

// trailing refuses anything after the bundle's closing brace.
func (br *Reader) trailing() error {
	_, err := br.nonSpace(-1, "(body)")
	switch {
	case err == nil:
		return &Error{Entry: -1, Path: "(body)", Err: ErrSyntax, Detail: "data after the bundle"}
	case br.eof && br.pos == br.end:
		return nil // white space, then the end
	}
	return err
}

// nonSpace skips white space and returns the next byte, unconsumed; the
// body ending first is an *Error at path.
func (br *Reader) nonSpace(entry int, path string) (byte, error) {
	path = at(path)
	for {
		for br.pos < br.end {
			switch c := br.buf[br.pos]; c {
			case ' ', '\t', '\n', '\r':
				br.pos++
			default:
				return c, nil
			}
		}
		if err := br.fill(entry, path); err != nil {
			return 0, err
		}
	}
}

// value reads the JSON value starting at the current byte, within the
// entry cap, checks it, and returns its bytes (valid until the next read).
func (br *Reader) value(entry int, path string) ([]byte, error) {
	path = at(path)
	start, i := br.pos, br.pos
	first := br.buf[start]
	literal := first != '{' && first != '[' && first != '"'
	var (
		depth             int
		inString, escaped bool
	)
	for {
		done := false
	scan:
		for ; i < br.end; i++ {
			c := br.buf[i]
			switch {
			case literal:
				switch c {
				case ',', '}', ']', ' ', '\t', '\n', '\r':
					done = true
					break scan
				}
			case inString:
				switch {
				case escaped:
					escaped = false
				case c == '\\':
					escaped = true
				case c == '"':
					inString = false
					if depth == 0 {
						i, done = i+1, true
						break scan
					}
				default:
					// On to the next quote or backslash.
					i += quoteOrBackslash(br.buf[i:br.end]) - 1
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					i, done = i+1, true
					break scan
				}
			}
		}
		if int64(i-start) > br.maxEntry {
			return nil, br.tooLarge(entry, path)
		}
		if done {
			break
		}
		shift := br.pos
		err := br.fill(entry, path)
		start, i = start-shift, i-shift
		if err != nil {
			if literal && br.eof && i > start {
				break // a number or literal ending the body
			}
			return nil, err
		}
	}
	raw := br.buf[start:i]
	if !validJSON(raw) {
		var v json.RawMessage
		if err := json.Unmarshal(raw, &v); err != nil {
			var synErr *json.SyntaxError
			if errors.As(err, &synErr) {
				return nil, &Error{Entry: entry, Path: path, Err: ErrSyntax,
					Detail: fmt.Sprintf("%v (at byte %d)", synErr, br.off+int64(start)+synErr.Offset)}
			}
			return nil, br.syntax(entry, path, err)
		}
	}
	br.pos = i
	return raw, nil
}

// quoteOrBackslash is the index of the first '"' or '\\' in b, or len(b).
func quoteOrBackslash(b []byte) int {
	q := bytes.IndexByte(b, '"')
	if q < 0 {
		q = len(b)
	}
	if bs := bytes.IndexByte(b[:q], '\\'); bs >= 0 {
		return bs
	}
	return q
}

// fill reads more of the body into the buffer, first dropping what has
// been consumed (buf[:pos], which moves what is left to the front). The
// body ending is an *Error at path saying so.
func (br *Reader) fill(entry int, path string) error {
	if br.pos > 0 {
		n := copy(br.buf, br.buf[br.pos:br.end])
		br.off += int64(br.pos)
		br.pos, br.end = 0, n
	}
	if br.eof {
		return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: "the body ends early"}
	}
	if len(br.buf)-br.end < readSize/2 {
		grown := make([]byte, max(2*len(br.buf), br.end+readSize))
		copy(grown, br.buf[:br.end])
		br.buf = grown
	}
	for {
		n, err := br.src.Read(br.buf[br.end:min(len(br.buf), br.end+readSize)])
		br.end += n
		switch {
		case errors.Is(err, io.EOF):
			br.eof = true
			if n > 0 {
				return nil
			}
			return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: "the body ends early"}
		case err != nil:
			return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: err.Error()}
		case n > 0:
			return nil
		}
	}
}

// at is path, or "(body)" for a property without a name: nothing else
// names where.
func at(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

// valueStart reports whether c can begin a JSON value.
func valueStart(c byte) bool {
	switch c {
	case '{', '[', '"', '-', 't', 'f', 'n':
		return true
	}
	return c >= '0' && c <= '9'
}

func (br *Reader) invalid(entry int, path string, c byte) *Error {
	path = at(path)
	return &Error{Entry: entry, Path: path, Err: ErrSyntax,
		Detail: fmt.Sprintf("invalid character %q (at byte %d)", c, br.off+int64(br.pos))}
}

func (br *Reader) expected(entry int, path string, c byte, what string) *Error {
	path = at(path)
	return &Error{Entry: entry, Path: path, Err: ErrSyntax,
		Detail: fmt.Sprintf("expected %s, not %q (at byte %d)", what, c, br.off+int64(br.pos))}
}

func (br *Reader) tooLarge(entry int, path string) *Error {
	path = at(path)
	return &Error{Entry: entry, Path: path, Err: ErrEntryTooLarge, Detail: fmt.Sprintf("at most %d bytes", br.maxEntry)}
}

// syntax translates a decoding error into an *Error at path.
func (br *Reader) syntax(entry int, path string, err error) error {
	path = at(path)
	var (
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			path += "." + typeErr.Field
		}
		return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: "must be a JSON " + jsonKind(typeErr.Type.Kind().String()) + ", not " + typeErr.Value}
	case errors.As(err, &synErr):
		return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: fmt.Sprintf("%v (at byte %d)", synErr, synErr.Offset)}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return goKind
}
