package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
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
func walkJSON(body []byte, schema *openapi3.Schema, goType reflect.Type, visit func(*jsonNode) bool) error {
	w := jsonWalker{body: body, dec: json.NewDecoder(bytes.NewReader(body)), visit: visit}
	w.dec.UseNumber()
	err := w.value("", schema, goType, 0)
	if errors.Is(err, errStopWalk) {
		return nil
	}
	return err
}

var errStopWalk = errors.New("stop")

type jsonWalker struct {
	body  []byte
	dec   *json.Decoder
	visit func(*jsonNode) bool
}

// valueStart is where the value that begins after off starts: separators
// and white space are skipped.
func (w *jsonWalker) valueStart(off int64) int64 {
	for off < int64(len(w.body)) {
		switch w.body[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
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
	before := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	n := &jsonNode{path: path, start: w.valueStart(before), schema: schema, goType: goType}
	switch t := tok.(type) {
	case json.Delim:
		n.kind = byte(t)
		if t == '{' {
			for w.dec.More() {
				kbefore := w.dec.InputOffset()
				ktok, err := w.dec.Token()
				if err != nil {
					return err
				}
				key, _ := ktok.(string)
				kpath := joinPath(path, key)
				fieldType, known := goField(goType, key)
				k := &jsonNode{path: kpath, start: w.valueStart(kbefore), end: w.dec.InputOffset(), kind: '"', key: true,
					str: key, schema: schema, goType: goType, unknown: !known}
				k.raw = w.body[k.start:k.end]
				if err := w.emit(k); err != nil {
					return err
				}
				if err := w.value(kpath, property(schema, key), fieldType, depth+1); err != nil {
					return err
				}
				n.items++
			}
		} else {
			itemSchema, itemType := items(schema), goItem(goType)
			for w.dec.More() {
				if err := w.value(path+"["+strconv.Itoa(n.items)+"]", itemSchema, itemType, depth+1); err != nil {
					return err
				}
				n.items++
			}
		}
		if _, err := w.dec.Token(); err != nil { // the closing delimiter
			return err
		}
	case string:
		n.kind, n.str = '"', t
	}
	n.end = w.dec.InputOffset()
	if n.kind == '"' {
		n.raw = w.body[n.start:n.end]
	}
	return w.emit(n)
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
