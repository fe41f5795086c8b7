// Package bundle imports FHIR R4 transaction and batch Bundles: a streaming
// reader of their entries, and an importer that registers the patients and
// records the observations the engine holds, answering each entry.
package bundle

import (
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
// (and the decoder's buffer) in memory. resourceType and type must come
// before entry, as every FHIR server writes them.
type Reader struct {
	dec        *json.Decoder
	src        *capped
	typ        string
	maxEntry   int64
	maxEntries int
	next       int
	// state: inEntries while the entry array is open; done after the end.
	inEntries, done bool
}

// NewReader reads the bundle's opening up to its first entry, refusing a
// body that is not a transaction or batch Bundle.
func NewReader(r io.Reader, opts ...Option) (*Reader, error) {
	br := &Reader{maxEntry: DefaultMaxEntryBytes, maxEntries: DefaultMaxEntries}
	for _, o := range opts {
		o(br)
	}
	br.src = &capped{r: r}
	br.dec = json.NewDecoder(br.src)
	br.dec.UseNumber()
	br.allow()
	tok, err := br.dec.Token()
	if err != nil {
		return nil, br.syntax(-1, "(body)", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &Error{Entry: -1, Path: "(body)", Err: ErrNotBundle, Detail: "expected a JSON object"}
	}
	var resourceType string
	for {
		key, end, err := br.key("(body)")
		if err != nil {
			return nil, err
		}
		if end {
			br.done = true
			break
		}
		switch key {
		case "resourceType", "type":
			var s string
			br.allow()
			if err := br.dec.Decode(&s); err != nil {
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
		if err := br.skip(-1, key); err != nil {
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
	br.allow()
	tok, err = br.dec.Token()
	if err != nil {
		return nil, br.syntax(-1, "entry", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, &Error{Entry: -1, Path: "entry", Err: ErrSyntax, Detail: "expected an array"}
	}
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
		if br.dec.More() {
			return br.entry()
		}
		br.allow()
		if _, err := br.dec.Token(); err != nil { // ']'
			return Entry{}, br.syntax(-1, "entry", err)
		}
		br.inEntries = false
	}
	for {
		key, end, err := br.key("(body)")
		if err != nil {
			return Entry{}, err
		}
		if end {
			break
		}
		if key == "entry" || key == "resourceType" || key == "type" {
			return Entry{}, &Error{Entry: -1, Path: key, Err: ErrSyntax, Detail: "appears twice"}
		}
		if err := br.skip(-1, key); err != nil {
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
	var raw json.RawMessage
	start := br.dec.InputOffset()
	br.allow()
	if err := br.dec.Decode(&raw); err != nil {
		return Entry{}, br.syntax(i, path, err)
	}
	if int64(len(raw)) > br.maxEntry || br.dec.InputOffset()-start > br.maxEntry+1 {
		return Entry{}, br.tooLarge(i, path)
	}
	var e rawEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return Entry{}, br.syntax(i, path, err)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	switch {
	case len(e.Resource) == 0 || string(e.Resource) == "null":
		return Entry{}, &Error{Entry: i, Path: path + ".resource", Err: ErrInvalidEntry, Detail: "is required"}
	case json.Unmarshal(e.Resource, &head) != nil:
		return Entry{}, &Error{Entry: i, Path: path + ".resource", Err: ErrInvalidEntry, Detail: "must be a JSON object"}
	case head.ResourceType == "":
		return Entry{}, &Error{Entry: i, Path: path + ".resource.resourceType", Err: ErrInvalidEntry, Detail: "is required"}
	case e.Request == nil:
		return Entry{}, &Error{Entry: i, Path: path + ".request", Err: ErrInvalidEntry, Detail: "is required in a " + br.typ}
	case e.Request.Method == "":
		return Entry{}, &Error{Entry: i, Path: path + ".request.method", Err: ErrInvalidEntry, Detail: "is required"}
	case e.Request.URL == "":
		return Entry{}, &Error{Entry: i, Path: path + ".request.url", Err: ErrInvalidEntry, Detail: "is required"}
	}
	return Entry{Index: i, FullURL: e.FullURL, ResourceType: head.ResourceType, Resource: e.Resource,
		Method: e.Request.Method, URL: e.Request.URL, Hash: sha256.Sum256(raw)}, nil
}

// key reads an object key, or reports the object's end.
func (br *Reader) key(path string) (string, bool, error) {
	br.allow()
	tok, err := br.dec.Token()
	if err != nil {
		return "", false, br.syntax(-1, path, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		return "", true, nil // '}': Token refuses any other delimiter here
	case string:
		return t, false, nil
	}
	return "", false, &Error{Entry: -1, Path: path, Err: ErrSyntax, Detail: "expected a property name"}
}

// skip reads and drops one value, within the entry cap.
func (br *Reader) skip(entry int, path string) error {
	var raw json.RawMessage
	br.allow()
	if err := br.dec.Decode(&raw); err != nil {
		return br.syntax(entry, path, err)
	}
	return nil
}

// trailing refuses anything after the bundle's closing brace.
func (br *Reader) trailing() error {
	br.allow()
	if _, err := br.dec.Token(); err != io.EOF {
		if err != nil {
			return br.syntax(-1, "(body)", err)
		}
		return &Error{Entry: -1, Path: "(body)", Err: ErrSyntax, Detail: "data after the bundle"}
	}
	return nil
}

// allow lets the decoder read up to one entry cap past where it stands.
func (br *Reader) allow() {
	br.src.limit = br.dec.InputOffset() + br.maxEntry + capSlack
}

func (br *Reader) tooLarge(entry int, path string) *Error {
	return &Error{Entry: entry, Path: path, Err: ErrEntryTooLarge, Detail: fmt.Sprintf("at most %d bytes", br.maxEntry)}
}

// syntax translates a decoding error into an *Error at path.
func (br *Reader) syntax(entry int, path string, err error) error {
	if path == "" {
		// Nothing read yet names where: the body itself.
		path = "(body)"
	}
	var (
		typeErr *json.UnmarshalTypeError
		synErr  *json.SyntaxError
	)
	switch {
	case errors.Is(err, errCapped):
		return br.tooLarge(entry, path)
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			path += "." + typeErr.Field
		}
		return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: "must be a JSON " + jsonKind(typeErr.Type.Kind().String()) + ", not " + typeErr.Value}
	case errors.As(err, &synErr):
		return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: fmt.Sprintf("%v (at byte %d)", synErr, synErr.Offset)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Entry: entry, Path: path, Err: ErrSyntax, Detail: "the body ends early"}
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

// capSlack is how far past the entry cap the decoder may read ahead.
const capSlack = 64 << 10

var errCapped = errors.New("bundle: read past the entry cap")

// capped reads r until limit bytes in all, then fails with errCapped: the
// decoder never buffers more than one entry cap (and its slack) ahead.
type capped struct {
	r     io.Reader
	read  int64
	limit int64
}

func (c *capped) Read(p []byte) (int, error) {
	room := c.limit - c.read
	if room <= 0 {
		return 0, errCapped
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	return n, err
}
