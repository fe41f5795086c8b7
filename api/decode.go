package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// maxBodyBytes is the largest body a route accepts, unless its OpenAPI
// operation names its own cap (x-max-body-bytes, see bodyLimit).
const maxBodyBytes = 1 << 20

// ctxBodyLimit holds the route's own body cap, set by checkedInput.
const ctxBodyLimit = "zarish.bodyLimit"

// bodyLimit is the most bytes the request's body may hold: the cap its
// route's OpenAPI operation names (x-max-body-bytes), else maxBodyBytes.
func bodyLimit(c *gin.Context) int64 {
	if v, ok := c.Get(ctxBodyLimit); ok {
		if n, ok := v.(int64); ok && n > 0 {
			return n
		}
	}
	return maxBodyBytes
}

// readJSON reads a JSON body into v strictly: the media type must be JSON,
// unknown fields and trailing data are rejected, and a type mismatch names the
// field. On failure it has already answered and returns nil body.
func readJSON(c *gin.Context, v any) []byte {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Send the body as application/json.")
		return nil
	}
	limit := bodyLimit(c)
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, fmt.Sprintf("The body is larger than %d bytes.", limit))
			return nil
		}
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body could not be read.")
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		jsonError(c, err, body, v)
		return nil
	}
	if dec.More() {
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body holds more than one JSON value.")
		return nil
	}
	return body
}

// jsonError answers a body that did not decode into v, naming the field by
// its path in the API's own names ("sections[1].text"), never by Go's.
func jsonError(c *gin.Context, err error, body []byte, v any) {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		abort(c, http.StatusBadRequest, CodeInvalidJSON, fmt.Sprintf("The body is not valid JSON (at byte %d).", syntax.Offset))
	case errors.As(err, &typeErr):
		fieldError(c, typeErrorPath(body, v, typeErr), "must be "+kindPhrase(typeErr.Type))
	case errors.Is(err, io.EOF):
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body is empty.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body ends in the middle of a JSON value.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if unquoted, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field ")); uerr == nil {
			name = unquoted
		}
		fieldError(c, unknownFieldPath(body, v, name), "is not a field of this resource")
	default:
		// A value its own type refused (a malformed UUID or time, say).
		if field, msg, ok := refusedValue(body, v); ok {
			fieldError(c, field, msg)
			return
		}
		abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body is not valid JSON.")
	}
}

// typeErrorPath names the value a type error is about: the innermost value
// around the error's offset, unless that disagrees with encoding/json's own
// field path (a custom decoder reports offsets of its own), which is then
// used with Go's embedded struct names dropped.
func typeErrorPath(body []byte, v any, e *json.UnmarshalTypeError) string {
	goPath := apiFieldPath(reflect.TypeOf(v), e.Field)
	best, bestLen, found := "", int64(-1), false
	_ = walkJSON(body, nil, nil, func(n *jsonNode) bool {
		if !n.key && n.start < e.Offset && e.Offset <= n.end && (bestLen < 0 || n.end-n.start < bestLen) {
			best, bestLen, found = n.path, n.end-n.start, true
		}
		return true
	})
	if !found || lastKey(best) != lastKey(goPath) {
		best = goPath
	}
	if best == "" {
		return "(body)"
	}
	return best
}

// lastKey is a path's last property name: "given" for "name.given[0]".
func lastKey(path string) string {
	for strings.HasSuffix(path, "]") {
		i := strings.LastIndexByte(path, '[')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return path[strings.LastIndexByte(path, '.')+1:]
}

// unknownFieldPath is the path of the first property named name that v's
// type has no field for.
func unknownFieldPath(body []byte, v any, name string) string {
	path := name
	_ = walkJSON(body, nil, reflect.TypeOf(v), func(n *jsonNode) bool {
		if n.key && n.unknown && n.str == name {
			path = n.path
			return false
		}
		return true
	})
	return path
}

var (
	uuidType = reflect.TypeFor[uuid.UUID]()
	timeType = reflect.TypeFor[time.Time]()
)

// refusedValue finds the first value whose own decoder (UnmarshalJSON or
// UnmarshalText) refuses it, and says what it must be.
func refusedValue(body []byte, v any) (field, message string, ok bool) {
	_ = walkJSON(body, nil, reflect.TypeOf(v), func(n *jsonNode) bool {
		if n.key || !decodesItself(n.goType) {
			return true
		}
		t := n.goType
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if err := json.Unmarshal(body[n.start:n.end], reflect.New(t).Interface()); err == nil {
			return true
		}
		field, ok = n.path, true
		switch t {
		case uuidType:
			message = "must be a UUID"
		case timeType:
			message = "must be an RFC 3339 time such as 2026-11-25T09:00:00Z"
		default:
			message = "is not a valid value"
		}
		if field == "" {
			field = "(body)"
		}
		return false
	})
	return field, message, ok
}

// kindPhrase names the JSON kind a Go type decodes from: a type that decodes
// its own text (a UUID, a time) is sent as a string.
func kindPhrase(t reflect.Type) string {
	if t != nil && reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	if t == nil {
		return "a different kind of value"
	}
	switch kind := jsonKind(t.Kind().String()); kind {
	case "object":
		return "an object"
	case "bool":
		return "true or false"
	default:
		return "a " + kind
	}
}

func jsonKind(kind string) string {
	switch kind {
	case "slice", "array":
		return "list"
	case "struct", "map":
		return "object"
	case "int", "int64", "int32", "float64", "float32", "uint", "uint64":
		return "number"
	default:
		return kind
	}
}
