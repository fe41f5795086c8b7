package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// This file holds what the parse_<type>.go readers share: a resource read
// for a create element by element, every element a create cannot honour
// refused by its FHIRPath, and the map from the REST API's field names
// back to the elements they were read from.

// The issue-type codes a refused resource's issues carry, beside those of
// outcome.go.
const (
	// IssueStructure: the body is not a resource of the right shape (not
	// JSON, a list where an object belongs, a null).
	IssueStructure = "structure"
	// IssueRequired: an element the create needs is absent.
	IssueRequired = "required"
	// IssueBusinessRule: the element is valid FHIR but this server's rules
	// refuse it (our MRN on a new patient, someone else as requester).
	IssueBusinessRule = "business-rule"
)

// ParseError is a resource a create cannot take: one issue per element at
// fault, each naming it in expression.
type ParseError struct {
	Issues []Issue
}

func (e *ParseError) Error() string {
	parts := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		parts[i] = is.Diagnostics
	}
	return strings.Join(parts, "; ")
}

// Unprocessable reports whether every issue is one of a valid resource this
// server will not take (an element it does not support, a rule of its
// own), which FHIR answers with 422; any other makes the resource
// malformed (400).
func (e *ParseError) Unprocessable() bool {
	for _, is := range e.Issues {
		if is.Code != IssueNotSupported && is.Code != IssueBusinessRule {
			return false
		}
	}
	return len(e.Issues) > 0
}

// ElementMap names, for each field of the REST API's request body a
// resource was read into, the FHIR element it came from, so a refusal of
// the body's field names the resource's element.
type ElementMap struct {
	root  string
	paths map[string]string
}

func newElementMap(root string) ElementMap {
	return ElementMap{root: root, paths: map[string]string{}}
}

// set names element as the source of field and of everything under it.
func (m ElementMap) set(field, element string) { m.paths[field] = element }

// Element is the FHIR element a body field (patientId, name.given[1],
// components[0].unit) was read from: the longest field mapped that is the
// field or holds it, with the rest of the path kept. False for a field the
// resource did not give (a header, say).
func (m ElementMap) Element(field string) (string, bool) {
	for prefix := field; prefix != ""; {
		if el, ok := m.paths[prefix]; ok {
			return el + field[len(prefix):], true
		}
		i := strings.LastIndexAny(prefix, ".[")
		if i <= 0 {
			break
		}
		prefix = prefix[:i]
	}
	return "", false
}

// resourceReader reads one resource's elements, collecting every issue.
type resourceReader struct {
	typ    string
	issues []Issue
}

func (r *resourceReader) fail(code, element, diagnostics string) {
	r.issues = append(r.issues, Issue{Severity: "error", Code: code, Diagnostics: element + ": " + diagnostics,
		Expression: []string{element}})
}

// err is the issues collected, or nil.
func (r *resourceReader) err() error {
	if len(r.issues) == 0 {
		return nil
	}
	return &ParseError{Issues: r.issues}
}

// unsupported refuses an element the create cannot honour.
func (r *resourceReader) unsupported(element string) {
	r.fail(IssueNotSupported, element, "is not taken by a create of "+r.typ+" here: it would be lost, so the resource is refused")
}

// Elements every resource may carry that a create refuses or passes over.
var (
	// serverAssigned are assigned by the server on create.
	serverAssigned = []string{"id"}
	// passedOver carry nothing the engine keeps: the narrative is the
	// server's own rendering, and profiles only claim conformance.
	passedOver = []string{"text"}
)

// readResource reads body as a resource of type typ, taking the elements
// take and meta (profiles only); any other element is refused. It returns
// the elements taken, present ones only.
func readResource(body []byte, typ string, take ...string) (map[string]json.RawMessage, *resourceReader) {
	r := &resourceReader{typ: typ}
	dec := json.NewDecoder(bytes.NewReader(body))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil || top == nil {
		var syntax *json.SyntaxError
		msg := "is not a JSON object"
		switch {
		case errors.As(err, &syntax):
			msg = fmt.Sprintf("is not valid JSON (at byte %d)", syntax.Offset)
		case errors.Is(err, io.EOF):
			msg = "is empty"
		case errors.Is(err, io.ErrUnexpectedEOF):
			msg = "ends in the middle of a JSON value"
		}
		r.fail(IssueStructure, typ, "the body "+msg)
		return nil, r
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		r.fail(IssueStructure, typ, "the body holds more than one JSON value")
		return nil, r
	}
	var rt string
	switch raw, ok := top["resourceType"]; {
	case !ok:
		r.fail(IssueRequired, "resourceType", "is required: "+typ)
		return nil, r
	case json.Unmarshal(raw, &rt) != nil || rt != typ:
		r.fail(IssueInvalid, "resourceType", "must be "+typ+" on this endpoint, not "+string(raw))
		return nil, r
	}
	out := map[string]json.RawMessage{}
	for _, k := range sortedKeys(top) {
		el := typ + "." + k
		raw := top[k]
		switch {
		case k == "resourceType":
		case slices.Contains(serverAssigned, k):
			r.fail(IssueInvalid, el, "is assigned by the server: a create carries none")
		case slices.Contains(passedOver, k):
		case k == "meta":
			r.meta(el, raw)
		case isNull(raw):
			r.fail(IssueStructure, el, "is null: leave the element out instead")
		case slices.Contains(take, k):
			out[k] = raw
		default:
			r.unsupported(el)
		}
	}
	return out, r
}

// meta takes profiles (claims of conformance, passed over) and refuses the
// rest: a version and a time of change are the server's to assign.
func (r *resourceReader) meta(el string, raw json.RawMessage) {
	m, ok := r.object(el, raw, "profile", "versionId", "lastUpdated")
	if !ok {
		return
	}
	for _, k := range []string{"versionId", "lastUpdated"} {
		if _, given := m[k]; given {
			r.fail(IssueInvalid, el+"."+k, "is assigned by the server: a create carries none")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// object reads an object element, refusing the keys not in take (a
// primitive's extension, _value, among them).
func (r *resourceReader) object(el string, raw json.RawMessage, take ...string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		r.fail(IssueStructure, el, "must be a JSON object")
		return nil, false
	}
	ok := true
	for _, k := range sortedKeys(m) {
		switch {
		case isNull(m[k]):
			r.fail(IssueStructure, el+"."+k, "is null: leave the element out instead")
			delete(m, k)
			ok = false
		case !slices.Contains(take, k):
			r.unsupported(el + "." + k)
			delete(m, k)
			ok = false
		}
	}
	return m, ok
}

// list reads a repeating element: a non-empty JSON array.
func (r *resourceReader) list(el string, raw json.RawMessage) ([]json.RawMessage, bool) {
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil || len(l) == 0 {
		r.fail(IssueStructure, el, "must be a non-empty JSON array")
		return nil, false
	}
	return l, true
}

// str reads a string element: FHIR strings are never empty.
func (r *resourceReader) str(el string, raw json.RawMessage) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		r.fail(IssueStructure, el, "must be a string")
		return "", false
	}
	if strings.TrimSpace(s) == "" {
		r.fail(IssueInvalid, el, "must not be empty: leave the element out instead")
		return "", false
	}
	return s, true
}

// strs reads a repeating string element.
func (r *resourceReader) strs(el string, raw json.RawMessage) ([]string, bool) {
	l, ok := r.list(el, raw)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for i, item := range l {
		s, ok := r.str(el+"["+strconv.Itoa(i)+"]", item)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// number reads a decimal element.
func (r *resourceReader) number(el string, raw json.RawMessage) (float64, bool) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		r.fail(IssueStructure, el, "must be a number")
		return 0, false
	}
	return f, true
}

// boolean reads a boolean element.
func (r *resourceReader) boolean(el string, raw json.RawMessage) (bool, bool) {
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		r.fail(IssueStructure, el, "must be true or false")
		return false, false
	}
	return b, true
}

// dateTime reads a dateTime or instant element that names a moment: a
// date alone, or a time without a zone, names none.
func (r *resourceReader) dateTime(el string, raw json.RawMessage) (time.Time, bool) {
	s, ok := r.str(el, raw)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.fail(IssueInvalid, el, "must be a date and time with its time zone, such as 2026-11-25T09:00:00Z")
		return time.Time{}, false
	}
	return t, true
}

// reference reads a Reference to one of our typ resources: typ/<id>, the
// id a UUID. A display beside it is passed over.
func (r *resourceReader) reference(el string, raw json.RawMessage, typ string) (uuid.UUID, bool) {
	m, ok := r.object(el, raw, "reference", "display")
	if !ok {
		return uuid.Nil, false
	}
	ref, given := m["reference"]
	if !given {
		r.fail(IssueRequired, el+".reference", "is required: "+typ+"/<id>")
		return uuid.Nil, false
	}
	s, ok := r.str(el+".reference", ref)
	if !ok {
		return uuid.Nil, false
	}
	rest, cut := strings.CutPrefix(s, typ+"/")
	id, err := uuid.Parse(rest)
	if !cut || err != nil || strings.Contains(rest, "/") {
		r.fail(IssueInvalid, el+".reference", "must be "+typ+"/<id>, the id of a "+typ+" of this server")
		return uuid.Nil, false
	}
	return id, true
}

// coding is one Coding element read.
type coding struct {
	system, code string
	// at is the coding's element: Observation.code.coding[0].
	at string
}

// codings reads a CodeableConcept's codings; its text and each coding's
// display are passed over, the server's own catalogue naming the code.
func (r *resourceReader) codings(el string, raw json.RawMessage) ([]coding, bool) {
	m, ok := r.object(el, raw, "coding", "text")
	if !ok {
		return nil, false
	}
	rawCodings, given := m["coding"]
	if !given {
		r.fail(IssueRequired, el+".coding", "is required: a code and its system")
		return nil, false
	}
	l, ok := r.list(el+".coding", rawCodings)
	if !ok {
		return nil, false
	}
	out := make([]coding, 0, len(l))
	for i, item := range l {
		at := el + ".coding[" + strconv.Itoa(i) + "]"
		cm, ok := r.object(at, item, "system", "code", "display", "version", "userSelected")
		if !ok {
			return nil, false
		}
		c := coding{at: at}
		if raw, ok := cm["system"]; ok {
			if c.system, ok = r.str(at+".system", raw); !ok {
				return nil, false
			}
		}
		raw, given := cm["code"]
		if !given {
			r.fail(IssueRequired, at+".code", "is required")
			return nil, false
		}
		if c.code, ok = r.str(at+".code", raw); !ok {
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}

// codeOf is the one coding of system among cs: a coding of another system
// would be lost, and two of system are ambiguous.
func (r *resourceReader) codeOf(el string, cs []coding, system, name string) (coding, bool) {
	var found []coding
	ok := true
	for _, c := range cs {
		if c.system == system {
			found = append(found, c)
			continue
		}
		r.fail(IssueNotSupported, c.at, "only "+name+" codings ("+system+") are taken; this one would be lost")
		ok = false
	}
	switch {
	case len(found) == 0:
		r.fail(IssueRequired, el+".coding", "needs a "+name+" coding ("+system+")")
		return coding{}, false
	case len(found) > 1:
		r.fail(IssueInvalid, found[1].at, "is a second "+name+" coding: give one")
		return coding{}, false
	}
	return found[0], ok
}

// quantity is one Quantity element read.
type quantity struct {
	value *float64
	unit  string
	// unitAt is the element the unit was read from: the UCUM code, else
	// the unit text.
	unitAt string
}

// quantity reads a Quantity; its unit is the UCUM code when it has
// one, else its unit text.
func (r *resourceReader) quantity(el string, raw json.RawMessage) (quantity, bool) {
	m, ok := r.object(el, raw, "value", "unit", "system", "code")
	if !ok {
		return quantity{}, false
	}
	var q quantity
	if raw, given := m["value"]; given {
		v, ok := r.number(el+".value", raw)
		if !ok {
			return quantity{}, false
		}
		q.value = &v
	}
	var system, code, unit string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"system", &system}, {"code", &code}, {"unit", &unit}} {
		if raw, given := m[f.name]; given {
			if *f.dst, ok = r.str(el+"."+f.name, raw); !ok {
				return quantity{}, false
			}
		}
	}
	switch {
	case system != "" && system != SystemUCUM:
		r.fail(IssueInvalid, el+".system", "must be UCUM ("+SystemUCUM+")")
		return quantity{}, false
	case code != "":
		q.unit, q.unitAt = code, el+".code"
	default:
		q.unit, q.unitAt = unit, el+".unit"
	}
	return q, true
}

// requestKind reads a request's status and intent: intent order, status
// one of statuses.
func (r *resourceReader) requestKind(typ string, els map[string]json.RawMessage, statuses []string, why string) {
	switch raw, ok := els["status"]; {
	case !ok:
		r.fail(IssueRequired, typ+".status", "is required")
	default:
		if s, ok := r.str(typ+".status", raw); ok && !slices.Contains(statuses, s) {
			r.fail(IssueBusinessRule, typ+".status", strconv.Quote(s)+": "+why)
		}
	}
	switch raw, ok := els["intent"]; {
	case !ok:
		r.fail(IssueRequired, typ+".intent", "is required: order")
	default:
		if s, ok := r.str(typ+".intent", raw); ok && s != "order" {
			r.fail(IssueNotSupported, typ+".intent", strconv.Quote(s)+": only orders are placed here (intent order)")
		}
	}
}

// reasonText reads the one reason kept: a reasonCode's text.
func (r *resourceReader) reasonText(el string, raw json.RawMessage) string {
	l, ok := r.list(el, raw)
	if !ok {
		return ""
	}
	for i := 1; i < len(l); i++ {
		r.fail(IssueNotSupported, el+"["+strconv.Itoa(i)+"]", "one reason is kept, as text")
	}
	rm, ok := r.object(el+"[0]", l[0], "text")
	if !ok {
		return ""
	}
	raw, given := rm["text"]
	if !given {
		r.fail(IssueRequired, el+"[0].text", "is required: the reason is kept as text")
		return ""
	}
	s, _ := r.str(el+"[0].text", raw)
	return s
}

// noteText reads the one note kept, as text.
func (r *resourceReader) noteText(el string, raw json.RawMessage) string {
	l, ok := r.list(el, raw)
	if !ok {
		return ""
	}
	for i := 1; i < len(l); i++ {
		r.fail(IssueNotSupported, el+"["+strconv.Itoa(i)+"]", "one note is kept: the specimen requirements")
	}
	nm, ok := r.object(el+"[0]", l[0], "text")
	if !ok {
		return ""
	}
	raw, given := nm["text"]
	if !given {
		r.fail(IssueRequired, el+"[0].text", "is required")
		return ""
	}
	s, _ := r.str(el+"[0].text", raw)
	return s
}
