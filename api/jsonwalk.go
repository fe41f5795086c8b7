package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxJSONDepth is the deepest nesting a request body may have.
const maxJSONDepth = 64

var errTooDeep = errors.New("json: nested too deeply")

// jsonNode is one value (or property name) of a JSON document as the walker
// meets it, named by its path in the API's own names: "name.family",
// "sections[1].text". Containers are visited after their contents.
type jsonNode struct {
	path string
	// start and end are the value's byte span in the document.
	start, end int64
	// kind is '{', '[', '"' (a string) or 0 (a number, boolean or null).
	kind byte
	// key marks a property name rather than a value; path is then the
	// property's own path.
	key bool
	// str is a string's decoded text; raw its bytes as sent, quotes included.
	str string
	raw []byte
	// items counts an array's items or an object's properties.
	items int
	// schema is the OpenAPI schema the value is documented by, if any;
	// goType the Go type it decodes into, if known.
	schema *openapi3.Schema
	goType reflect.Type
	// unknown marks a property name the Go type has no field for.
	unknown bool
}

// walkJSON visits every value of the JSON document body, guided by schema
// and goType (either may be nil). It stops at the first syntax error, or when
// visit returns false, and returns the syntax error, if any.
//
// The document is scanned here rather than with encoding/json's
// Decoder.Token, which costs about five times as much (it decodes each
// scalar as a top-level value, building and dropping a syntax error at the
// delimiter after it): a 10,000-item batch is walked in a fraction of the
// time. Strings are decoded as encoding/json decodes them.
func walkJSON(body []byte, schema *openapi3.Schema, goType reflect.Type, visit func(*jsonNode) bool) error {
	w := jsonWalker{body: body, visit: visit}
	err := w.value("", schema, goType, 0)
	if errors.Is(err, errStopWalk) {
		return nil
	}
	return err
}

var errStopWalk = errors.New("stop")

type jsonWalker struct {
	body  []byte
	pos   int
	visit func(*jsonNode) bool
}

// syntaxError is a document that is not JSON, at byte off.
type syntaxError struct{ off int }

func (e *syntaxError) Error() string { return "json: invalid syntax at byte " + strconv.Itoa(e.off) }

func (w *jsonWalker) syntax() error { return &syntaxError{off: w.pos} }

// space skips white space and reports the byte after it (0 at the end).
func (w *jsonWalker) space() byte {
	for w.pos < len(w.body) {
		switch c := w.body[w.pos]; c {
		case ' ', '\t', '\r', '\n':
			w.pos++
		default:
			return c
		}
	}
	return 0
}

func (w *jsonWalker) emit(n *jsonNode) error {
	if !w.visit(n) {
		return errStopWalk
	}
	return nil
}

func (w *jsonWalker) value(path string, schema *openapi3.Schema, goType reflect.Type, depth int) error {
	if depth > maxJSONDepth {
		return errTooDeep
	}
	c := w.space()
	n := &jsonNode{path: path, start: int64(w.pos), schema: schema, goType: goType}
	switch c {
	case '{':
		n.kind = '{'
		w.pos++
		if w.space() == '}' {
			w.pos++
			break
		}
		for {
			if w.space() != '"' {
				return w.syntax()
			}
			kstart := w.pos
			key, err := w.str()
			if err != nil {
				return err
			}
			kpath := joinPath(path, key)
			fieldType, known := goField(goType, key)
			k := &jsonNode{path: kpath, start: int64(kstart), end: int64(w.pos), kind: '"', key: true,
				str: key, schema: schema, goType: goType, unknown: !known}
			k.raw = w.body[kstart:w.pos]
			if err := w.emit(k); err != nil {
				return err
			}
			if w.space() != ':' {
				return w.syntax()
			}
			w.pos++
			if err := w.value(kpath, property(schema, key), fieldType, depth+1); err != nil {
				return err
			}
			n.items++
			if next := w.space(); next == ',' {
				w.pos++
				continue
			} else if next == '}' {
				w.pos++
				break
			}
			return w.syntax()
		}
	case '[':
		n.kind = '['
		w.pos++
		if w.space() == ']' {
			w.pos++
			break
		}
		itemSchema, itemType := items(schema), goItem(goType)
		for {
			if err := w.value(path+"["+strconv.Itoa(n.items)+"]", itemSchema, itemType, depth+1); err != nil {
				return err
			}
			n.items++
			if next := w.space(); next == ',' {
				w.pos++
				continue
			} else if next == ']' {
				w.pos++
				break
			}
			return w.syntax()
		}
	case '"':
		str, err := w.str()
		if err != nil {
			return err
		}
		n.kind, n.str = '"', str
	default:
		if err := w.literal(); err != nil {
			return err
		}
	}
	n.end = int64(w.pos)
	if n.kind == '"' {
		n.raw = w.body[n.start:n.end]
	}
	return w.emit(n)
}

// str reads the string at w.pos (its opening quote) and decodes it as
// encoding/json does (invalid UTF-8 and unpaired surrogates become U+FFFD).
func (w *jsonWalker) str() (string, error) {
	start, plain := w.pos, true
	for i := start + 1; i < len(w.body); i++ {
		switch c := w.body[i]; {
		case c == '"':
			w.pos = i + 1
			if plain {
				return string(w.body[start+1 : i]), nil
			}
			var s string
			if err := json.Unmarshal(w.body[start:w.pos], &s); err != nil {
				w.pos = start
				return "", w.syntax()
			}
			return s, nil
		case c == '\\':
			plain = false
			i++
		case c < 0x20:
			w.pos = i
			return "", w.syntax()
		case c >= 0x80:
			plain = false
		}
	}
	w.pos = len(w.body)
	return "", io.ErrUnexpectedEOF
}

// literal reads the number, true, false or null at w.pos.
func (w *jsonWalker) literal() error {
	b := w.body
	for _, word := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(b[w.pos:], []byte(word)) {
			w.pos += len(word)
			return w.ended()
		}
	}
	digits := func() int {
		n := 0
		for w.pos < len(b) && b[w.pos] >= '0' && b[w.pos] <= '9' {
			w.pos, n = w.pos+1, n+1
		}
		return n
	}
	if w.pos < len(b) && b[w.pos] == '-' {
		w.pos++
	}
	switch {
	case w.pos < len(b) && b[w.pos] == '0':
		w.pos++
	case digits() == 0:
		return w.syntax()
	}
	if w.pos < len(b) && b[w.pos] == '.' {
		w.pos++
		if digits() == 0 {
			return w.syntax()
		}
	}
	if w.pos < len(b) && (b[w.pos] == 'e' || b[w.pos] == 'E') {
		w.pos++
		if w.pos < len(b) && (b[w.pos] == '+' || b[w.pos] == '-') {
			w.pos++
		}
		if digits() == 0 {
			return w.syntax()
		}
	}
	return w.ended()
}

// ended refuses a literal run on into other characters (truex, 12a).
func (w *jsonWalker) ended() error {
	if w.pos < len(w.body) {
		switch w.body[w.pos] {
		case ' ', '\t', '\r', '\n', ',', ']', '}', ':':
		default:
			return w.syntax()
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// property is the schema of an object's property key (through allOf and
// additionalProperties), or nil.
func property(s *openapi3.Schema, key string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p, ok := s.Properties[key]; ok && p != nil {
		return p.Value
	}
	for _, a := range s.AllOf {
		if a != nil {
			if p := property(a.Value, key); p != nil {
				return p
			}
		}
	}
	if ap := s.AdditionalProperties.Schema; ap != nil {
		return ap.Value
	}
	return nil
}

// items is the schema of an array's items, or nil.
func items(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if s.Items != nil {
		return s.Items.Value
	}
	for _, a := range s.AllOf {
		if a != nil {
			if i := items(a.Value); i != nil {
				return i
			}
		}
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodesItself reports whether values of t are decoded by their own
// UnmarshalJSON or UnmarshalText, as encoding/json would call them.
func decodesItself(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if t.Kind() != reflect.Pointer {
		t = reflect.PointerTo(t)
	}
	return t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler)
}

// goField is the Go type property key decodes into when the enclosing
// value decodes into t, matching names as encoding/json does (json tags,
// promoted fields of embedded structs, then case-insensitively). known is
// false only when t is a struct without such a field.
func goField(t reflect.Type, key string) (field reflect.Type, known bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || decodesItself(t) {
		return nil, true
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem(), true
	case reflect.Struct:
		fields := jsonFields(t)
		if f, ok := fields[key]; ok {
			return f, true
		}
		for name, f := range fields {
			if strings.EqualFold(name, key) {
				return f, true
			}
		}
		return nil, false
	}
	return nil, true
}

// goItem is the Go type an array's items decode into, or nil.
func goItem(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || decodesItself(t) {
		return nil
	}
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		return t.Elem()
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields, promoted ones
// included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var collect func(t reflect.Type, depth int)
	collect = func(t reflect.Type, depth int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous && name == "" {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct && depth < 8 {
					collect(et, depth+1)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := out[name]; !dup || depth == 0 {
				out[name] = ft
			}
		}
	}
	collect(t, 0)
	return out
}

// apiFieldPath turns encoding/json's dotted Go field path (which names
// embedded structs by their Go names, "carePlanBody.title") into the API's
// (title), by dropping the segments that name embedded structs of t.
func apiFieldPath(t reflect.Type, goPath string) string {
	var out []string
	for _, seg := range strings.Split(goPath, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t != nil && t.Kind() == reflect.Struct {
			if f, ok := t.FieldByName(seg); ok && f.Anonymous {
				if _, tagged := f.Tag.Lookup("json"); !tagged {
					t = f.Type
					continue
				}
			}
		}
		out = append(out, seg)
		next, _ := goField(t, seg)
		t = next
	}
	return strings.Join(out, ".")
}
