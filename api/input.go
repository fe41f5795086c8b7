package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// Input is checked at the edge, by one middleware on every route, before the
// handler runs; a refusal is a 400 VALIDATION_FAILED naming each field, and
// is audited like any other request. The rules:
//
//   - Text is UTF-8. Every string — JSON property names and values (checked
//     on the raw bytes, before encoding/json would silently turn invalid
//     bytes and unpaired surrogate escapes into U+FFFD), query and path
//     parameters, form fields, and the headers the API stores — must be valid
//     UTF-8 and hold no NUL and no other control character (C0, DEL, C1)
//     except tab, line feed and carriage return. A JSON or form body that
//     declares a charset other than utf-8 is refused (field Content-Type).
//   - Sizes and shapes are the OpenAPI document's: every string's maxLength
//     (counted in characters, not bytes) and pattern, every array's maxItems
//     and every free-form object's maxProperties, for bodies and parameters
//     alike. The domain validators hold the same limits for their fields.
//   - The body is at most maxBodyBytes, or the cap its OpenAPI operation
//     names in x-max-body-bytes (413 PAYLOAD_TOO_LARGE: at once, unread,
//     when its Content-Length says so), and must arrive within the server's
//     read timeout (408 REQUEST_TIMEOUT).

// maxInputProblems caps how many fields one refusal names.
const maxInputProblems = 20

// maxCodeLen bounds an enumerated value whose schema has no maxLength.
const maxCodeLen = 64

// storedHeaders are the request headers whose text the API keeps (in
// resources or the audit trail), checked like any other text on every
// route, with their maximum length in characters and, for some, the form
// their value must have.
var storedHeaders = []storedHeader{
	{name: "Idempotency-Key", max: 255}, {name: "X-On-Behalf-Of", max: 200}, {name: headerPurpose, max: 64},
	{name: headerBreakGlass, max: maxBreakGlassText},
	{name: headerServiceName, max: audit.MaxServiceLen, pattern: serviceNamePattern,
		form: "letters, digits, '.', '-' and '_'"},
}

type storedHeader struct {
	name string
	max  int
	// pattern, when set, is what the whole value must match; form says
	// it in words.
	pattern *regexp.Regexp
	form    string
}

func isStoredHeader(name string) bool {
	return slices.ContainsFunc(storedHeaders, func(h storedHeader) bool { return h.name == name })
}

// inputSpec is what the OpenAPI document says one route accepts.
type inputSpec struct {
	// params by "in:name", e.g. "query:limit", "path:id", "header:If-Match".
	params map[string]*openapi3.Parameter
	// json and form are the request body's schemas by media type, if any.
	json, form *openapi3.Schema
	// maxBody is the operation's own body cap in bytes (x-max-body-bytes);
	// 0 means maxBodyBytes.
	maxBody int64
}

// extMaxBodyBytes names an operation's body cap where it differs from
// maxBodyBytes (a batch route's, say).
const extMaxBodyBytes = "x-max-body-bytes"

// maxBodyOf reads an operation's x-max-body-bytes; 0 when it names none.
func maxBodyOf(op *openapi3.Operation) int64 {
	switch v := op.Extensions[extMaxBodyBytes].(type) {
	case float64:
		return int64(v)
	case int:
		return int64(v)
	case int64:
		return v
	}
	return 0
}

var openAPIDoc = sync.OnceValues(LoadOpenAPI)

var routeParam = regexp.MustCompile(`:([A-Za-z]+)`)

// inputSpecs reads each route's parameters and body schema from the OpenAPI
// document, by "METHOD /gin/path".
func inputSpecs(routes []Route) (map[string]inputSpec, error) {
	doc, err := openAPIDoc()
	if err != nil {
		return nil, err
	}
	out := map[string]inputSpec{}
	for _, rt := range routes {
		item := doc.Paths.Find(routeParam.ReplaceAllString(rt.Path, "{$1}"))
		if item == nil || item.GetOperation(rt.Method) == nil {
			continue
		}
		op := item.GetOperation(rt.Method)
		spec := inputSpec{params: map[string]*openapi3.Parameter{}, maxBody: maxBodyOf(op)}
		for _, p := range slices.Concat(item.Parameters, op.Parameters) {
			if p != nil && p.Value != nil {
				spec.params[p.Value.In+":"+p.Value.Name] = p.Value
			}
		}
		if op.RequestBody != nil && op.RequestBody.Value != nil {
			content := op.RequestBody.Value.Content
			if mt := content.Get("application/json"); mt != nil && mt.Schema != nil {
				spec.json = mt.Schema.Value
			}
			if mt := content.Get("application/x-www-form-urlencoded"); mt != nil && mt.Schema != nil {
				spec.form = mt.Schema.Value
			}
		}
		out[rt.Method+" "+rt.Path] = spec
	}
	return out, nil
}

// checkedInput refuses a request whose text or sizes break the rules above,
// before the route's handler runs.
func (s *server) checkedInput(spec inputSpec) gin.HandlerFunc {
	return func(c *gin.Context) {
		in := &inputCheck{spec: spec}
		in.query(c.Request.URL.RawQuery)
		for _, p := range c.Params {
			in.param("path", p.Key, p.Value)
		}
		in.headers(c.Request)
		if in.refuse(c) {
			return
		}
		if spec.maxBody > 0 {
			c.Set(ctxBodyLimit, spec.maxBody)
		}
		if !in.body(c) || in.refuse(c) {
			return
		}
		c.Next()
	}
}

type inputCheck struct {
	spec     inputSpec
	problems []domain.FieldError
}

func (in *inputCheck) add(field, message string) {
	field = printable(field)
	if len(in.problems) >= maxInputProblems || slices.ContainsFunc(in.problems, func(f domain.FieldError) bool { return f.Field == field }) {
		return
	}
	in.problems = append(in.problems, domain.FieldError{Field: field, Message: message})
}

// refuse answers 400 naming the problems found so far, if any.
func (in *inputCheck) refuse(c *gin.Context) bool {
	if len(in.problems) == 0 {
		return false
	}
	abort(c, http.StatusBadRequest, CodeValidationFailed, "The request has invalid fields.", in.problems...)
	return true
}

func (in *inputCheck) query(raw string) {
	if raw == "" {
		return
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		in.add("(query)", "is not a valid URL query: escape characters as %XX and separate parameters with &")
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if msg := textProblem(k); msg != "" {
			in.add(k, "(a parameter name) "+msg)
			continue
		}
		for _, v := range values[k] {
			in.param("query", k, v)
		}
	}
}

// param checks one parameter's text and its documented limits.
func (in *inputCheck) param(where, name, value string) {
	if msg := textProblem(value); msg != "" {
		in.add(name, msg)
		return
	}
	if p := in.spec.params[where+":"+name]; p != nil && p.Schema != nil {
		in.limits(name, value, p.Schema.Value)
	}
}

func (in *inputCheck) headers(r *http.Request) {
	for _, h := range storedHeaders {
		v := r.Header.Get(h.name)
		if v == "" {
			continue
		}
		if utf8.ValidString(v) && utf8.RuneCountInString(v) > h.max {
			in.add(h.name, fmt.Sprintf("must be at most %d characters", h.max))
			continue
		}
		if h.pattern != nil && !h.pattern.MatchString(v) {
			in.add(h.name, "must be "+h.form)
			continue
		}
		in.param("header", h.name, v)
	}
	for key, p := range in.spec.params {
		if p.In != "header" || p.Name == headerRequestID || isStoredHeader(p.Name) || p.Schema == nil {
			continue // X-Request-Id is replaced when unfit, never refused
		}
		if v := r.Header.Get(p.Name); v != "" {
			in.limits(strings.TrimPrefix(key, "header:"), v, p.Schema.Value)
		}
	}
	// The token endpoint's client credentials.
	if user, pass, ok := r.BasicAuth(); ok {
		if textProblem(user) != "" || textProblem(pass) != "" {
			in.add("Authorization", "must carry UTF-8 client credentials without control characters")
		}
	}
}

// limits checks a string against its schema's maxLength and pattern.
func (in *inputCheck) limits(field, value string, schema *openapi3.Schema) {
	l := limitsOf(schema)
	if l.maxLength != nil && uint64(utf8.RuneCountInString(value)) > *l.maxLength {
		in.add(field, fmt.Sprintf("must be at most %d characters", *l.maxLength))
		return
	}
	// An enumerated value far longer than every member (and than a code
	// ever is) is none of them: it is refused here, so that no handler
	// holds or echoes it; the handler reports the others, in its own words.
	if l.maxLength == nil && len(l.enum) > 0 {
		longest, names := maxCodeLen, make([]string, 0, len(l.enum))
		for _, e := range l.enum {
			if str, ok := e.(string); ok {
				longest = max(longest, utf8.RuneCountInString(str))
				names = append(names, str)
			}
		}
		if len(names) > 0 && utf8.RuneCountInString(value) > longest {
			in.add(field, "must be one of "+strings.Join(names, ", "))
			return
		}
	}
	if l.pattern != "" {
		if re := pattern(l.pattern); re != nil && !re.MatchString(value) {
			message := "must match " + l.pattern
			if l.patternMessage != "" {
				message = l.patternMessage
			}
			in.add(field, message)
		}
	}
}

// body reads a JSON or form body, checks it, and puts it back for the
// handler. It reports false when it has answered.
func (in *inputCheck) body(c *gin.Context) bool {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
		return true
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return true // the handler refuses the media type
	}
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	isForm := mt == "application/x-www-form-urlencoded"
	if !isJSON && !isForm {
		return true
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		in.add("Content-Type", "must declare charset=utf-8, or no charset: the body must be UTF-8")
		return true
	}
	limit := bodyLimit(c)
	if declaredTooLarge(c, limit) {
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, r.Body, limit))
	if err != nil {
		r.Body = http.NoBody // what is left of it is read by no one (see declaredTooLarge)
		var (
			tooBig *http.MaxBytesError
			netErr net.Error
		)
		switch {
		case errors.As(err, &tooBig):
			abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, fmt.Sprintf("The body is larger than %d bytes.", limit))
		case errors.As(err, &netErr) && netErr.Timeout():
			c.Header("Connection", "close")
			abort(c, http.StatusRequestTimeout, CodeRequestTimeout, "The body did not arrive in time.")
		default:
			abort(c, http.StatusBadRequest, CodeInvalidJSON, "The body could not be read.")
		}
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if isForm {
		in.formBody(body)
		return true
	}
	if in.spec.json == nil && utf8.Valid(body) && bytes.IndexByte(body, '\\') < 0 &&
		bytes.IndexByte(body, 0x7f) < 0 && bytes.IndexByte(body, 0xc2) < 0 {
		return true // nothing to check: no limits, no escapes, no DEL or C1 controls (U+0080-U+009F begin with 0xC2)
	}
	err = walkJSON(body, in.spec.json, nil, func(n *jsonNode) bool {
		in.jsonValue(n)
		return len(in.problems) < maxInputProblems
	})
	if errors.Is(err, errTooDeep) {
		abort(c, http.StatusBadRequest, CodeInvalidJSON, fmt.Sprintf("The body nests more than %d levels deep.", maxJSONDepth))
		return false
	}
	return true // a syntax error is the handler's to report
}

// declaredTooLarge answers 413 for a body whose declared Content-Length is
// over limit, before a byte of it is read (RFC 9110 §15.5.14); a body of
// unknown length (chunked) is held to limit as it is read, by
// http.MaxBytesReader. The refused body is then read by no one, not even
// by the audit record looking for a form's client_id. It reports true when
// it has answered.
func declaredTooLarge(c *gin.Context, limit int64) bool {
	if c.Request.ContentLength <= limit {
		return false
	}
	c.Request.Body = http.NoBody
	abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, fmt.Sprintf("The body is larger than %d bytes.", limit))
	return true
}

func (in *inputCheck) jsonValue(n *jsonNode) {
	field := n.path
	if field == "" {
		field = "(body)"
	}
	switch n.kind {
	case '"':
		switch {
		case !utf8.Valid(n.raw):
			in.add(field, "must be UTF-8 text")
		case unpairedSurrogate(n.raw):
			in.add(field, "must be UTF-8 text (it holds an unpaired UTF-16 surrogate escape)")
		default:
			if msg := textProblem(n.str); msg != "" {
				if n.key {
					msg = "(a property name) " + msg
				}
				in.add(field, msg)
			} else if !n.key {
				in.limits(field, n.str, n.schema)
			}
		}
	case '[':
		if l := limitsOf(n.schema); l.maxItems != nil && uint64(n.items) > *l.maxItems {
			in.add(field, fmt.Sprintf("must hold at most %d items", *l.maxItems))
		}
	case '{':
		if l := limitsOf(n.schema); l.maxProperties != nil && uint64(n.items) > *l.maxProperties {
			in.add(field, fmt.Sprintf("must hold at most %d properties", *l.maxProperties))
		}
	}
}

func (in *inputCheck) formBody(body []byte) {
	if !utf8.Valid(body) {
		in.add("(body)", "must be UTF-8 text")
		return
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return // the handler refuses a malformed form
	}
	for k, vs := range values {
		if msg := textProblem(k); msg != "" {
			in.add(k, "(a field name) "+msg)
			continue
		}
		for _, v := range vs {
			if msg := textProblem(v); msg != "" {
				in.add(k, msg)
			} else if in.spec.form != nil {
				if p := property(in.spec.form, k); p != nil {
					in.limits(k, v, p)
				}
			}
		}
	}
}

// textProblem says what keeps s from being text the API stores as sent, or "".
func textProblem(s string) string {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b < 0x7f {
			continue // printable ASCII, the common case
		}
		if !utf8.ValidString(s) {
			return "must be UTF-8 text"
		}
		for _, r := range s[i:] {
			switch {
			case r == 0:
				return "must not contain NUL (U+0000)"
			case r == '\t' || r == '\n' || r == '\r':
			case r < 0x20 || (r >= 0x7f && r <= 0x9f):
				return "must not contain control characters other than tab, line feed and carriage return"
			}
		}
		return ""
	}
	return ""
}

// printable replaces invalid UTF-8 and control characters (but tab, line
// feed and carriage return) with U+FFFD, for text that must be shown or
// stored whatever was sent: field names in error bodies, audit records.
func printable(s string) string {
	if textProblem(s) == "" {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != 0x7f && (r < 0x80 || r > 0x9f)) {
			return r
		}
		return utf8.RuneError
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

// unpairedSurrogate reports whether a raw JSON string holds a \uD800-\uDFFF
// escape that is not half of a surrogate pair.
func unpairedSurrogate(raw []byte) bool {
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // a two-character escape such as \\ or \"
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			return false // not JSON; the decoder reports it
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			lo, ok := hex4(raw, i+8)
			if i+7 >= len(raw) || raw[i+6] != '\\' || raw[i+7] != 'u' || !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 11
		case r >= 0xdc00 && r <= 0xdfff:
			return true
		default:
			i += 5
		}
	}
	return false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// schemaLimits are the size and shape limits of a schema, allOf included.
type schemaLimits struct {
	maxLength, maxItems, maxProperties *uint64
	pattern                            string
	// patternMessage is the refusal of a value the pattern does not match,
	// in words (the schema's x-pattern-message); else the pattern is named.
	patternMessage string
	enum           []any
}

func limitsOf(s *openapi3.Schema) schemaLimits {
	var l schemaLimits
	var merge func(s *openapi3.Schema, depth int)
	merge = func(s *openapi3.Schema, depth int) {
		if s == nil || depth > 8 {
			return
		}
		if l.maxLength == nil {
			l.maxLength = s.MaxLength
		}
		if l.maxItems == nil {
			l.maxItems = s.MaxItems
		}
		if l.maxProperties == nil {
			l.maxProperties = s.MaxProps
		}
		if l.pattern == "" {
			l.pattern = s.Pattern
			l.patternMessage, _ = s.Extensions["x-pattern-message"].(string)
		}
		if l.enum == nil {
			l.enum = s.Enum
		}
		for _, a := range s.AllOf {
			if a != nil {
				merge(a.Value, depth+1)
			}
		}
	}
	merge(s, 0)
	return l
}

var patterns sync.Map // pattern → *regexp.Regexp (nil when it does not compile)

func pattern(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		re = nil
	}
	patterns.Store(p, re)
	return re
}
