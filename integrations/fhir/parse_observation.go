package fhir

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// ObservationCreate is an Observation sent to be created, read into the
// body of POST /v1/observations.
type ObservationCreate struct {
	Input observation.Input
	// Performer is the practitioner the resource names as its performer,
	// uuid.Nil when it names none. The performer recorded is always the
	// person acting; a create naming someone else is refused by the API.
	Performer uuid.UUID
}

// ParseObservation reads an Observation sent to be created: its status, a
// category of the observation-category system, its one LOINC code (the
// catalogue decides whether it is one the engine records), the subject
// Patient/<id> and encounter Encounter/<id>, effectiveDateTime or
// effectiveInstant, issued, the value (valueQuantity in a UCUM unit,
// valueCodeableConcept, valueString or valueBoolean) or a panel's
// components, a reported reference range, method and device as text, and
// one performer Practitioner/<id>. Display texts are passed over (the
// catalogue names the code); the interpretation is the engine's, so one
// sent is refused, like every element the observation has no place for.
func ParseObservation(body []byte) (ObservationCreate, ElementMap, error) {
	const typ = "Observation"
	els, r := readResource(body, typ, "status", "category", "code", "subject", "encounter", "effectiveDateTime",
		"effectiveInstant", "issued", "valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean",
		"component", "referenceRange", "method", "device", "performer")
	m := newElementMap(typ)
	var out ObservationCreate
	if els == nil {
		return out, m, r.err()
	}
	in := &out.Input
	m.set("patientId", typ+".subject")
	m.set("encounterId", typ+".encounter")
	m.set("status", typ+".status")
	m.set("category", typ+".category")
	m.set("code", typ+".code")
	m.set("effectiveAt", typ+".effectiveDateTime")
	m.set("issued", typ+".issued")
	m.set("value", typ+".value[x]")
	m.set("components", typ+".component")
	m.set("referenceRange", typ+".referenceRange[0]")
	m.set("method", typ+".method.text")
	m.set("device", typ+".device.display")
	m.set("performer", typ+".performer[0]")

	switch raw, ok := els["status"]; {
	case !ok:
		r.fail(IssueRequired, typ+".status", "is required: final or preliminary")
	default:
		s, _ := r.str(typ+".status", raw)
		in.Status = observation.Status(s)
	}
	if raw, ok := els["category"]; ok {
		in.Category = r.category(typ+".category", raw, m)
	}
	switch raw, ok := els["code"]; {
	case !ok:
		r.fail(IssueRequired, typ+".code", "is required: a LOINC code of the observation catalogue")
	default:
		if cs, ok := r.codings(typ+".code", raw); ok {
			if c, ok := r.codeOf(typ+".code", cs, SystemLOINC, "LOINC"); ok {
				in.Code = c.code
				m.set("code", c.at+".code")
			}
		}
	}
	switch raw, ok := els["subject"]; {
	case !ok:
		r.fail(IssueRequired, typ+".subject", "is required: Patient/<id>")
	default:
		in.PatientID, _ = r.reference(typ+".subject", raw, "Patient")
	}
	if raw, ok := els["encounter"]; ok {
		if id, ok := r.reference(typ+".encounter", raw, "Encounter"); ok {
			in.EncounterID = &id
		}
	}
	effective := 0
	for _, k := range []string{"effectiveDateTime", "effectiveInstant"} {
		if raw, ok := els[k]; ok {
			effective++
			if effective > 1 {
				r.fail(IssueInvalid, typ+"."+k, "give one of effectiveDateTime and effectiveInstant")
				continue
			}
			in.EffectiveAt, _ = r.dateTime(typ+"."+k, raw)
			m.set("effectiveAt", typ+"."+k)
		}
	}
	if raw, ok := els["issued"]; ok {
		if t, ok := r.dateTime(typ+".issued", raw); ok {
			in.Issued = &t
		}
	}
	r.observationValue(typ, els, in, m)
	if raw, ok := els["component"]; ok {
		in.Components = r.components(typ+".component", raw, m)
	}
	if raw, ok := els["referenceRange"]; ok {
		in.ReferenceRange = r.referenceRange(typ+".referenceRange", raw, m)
	}
	if raw, ok := els["method"]; ok {
		mm, _ := r.object(typ+".method", raw, "text")
		if raw, ok := mm["text"]; ok {
			in.Method, _ = r.str(typ+".method.text", raw)
		} else if mm != nil {
			r.fail(IssueRequired, typ+".method.text", "is required: the method is kept as text")
		}
	}
	if raw, ok := els["device"]; ok {
		dm, _ := r.object(typ+".device", raw, "display")
		if raw, ok := dm["display"]; ok {
			in.Device, _ = r.str(typ+".device.display", raw)
		} else if dm != nil {
			r.fail(IssueRequired, typ+".device.display", "is required: the device is kept by name")
		}
	}
	if raw, ok := els["performer"]; ok {
		if l, ok := r.list(typ+".performer", raw); ok {
			out.Performer, _ = r.reference(typ+".performer[0]", l[0], "Practitioner")
			for i := 1; i < len(l); i++ {
				r.fail(IssueNotSupported, typ+".performer["+strconv.Itoa(i)+"]", "one performer is recorded: the person acting")
			}
		}
	}
	return out, m, r.err()
}

// category reads the observation's category: codings of the
// observation-category system, all naming the same category.
func (r *resourceReader) category(el string, raw json.RawMessage, m ElementMap) observation.Category {
	l, ok := r.list(el, raw)
	if !ok {
		return ""
	}
	var cat observation.Category
	for i, item := range l {
		at := el + "[" + strconv.Itoa(i) + "]"
		cs, ok := r.codings(at, item)
		if !ok {
			continue
		}
		c, ok := r.codeOf(at, cs, SystemObservationCategory, "observation-category")
		if !ok {
			continue
		}
		switch {
		case cat == "":
			cat = observation.Category(c.code)
			m.set("category", c.at+".code")
		case string(cat) != c.code:
			r.fail(IssueInvalid, c.at+".code", "names another category than "+string(cat)+": an observation has one")
		}
	}
	return cat
}

// observationValue reads the one value[x] given.
func (r *resourceReader) observationValue(typ string, els map[string]json.RawMessage, in *observation.Input, m ElementMap) {
	given := ""
	for _, k := range []string{"valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean"} {
		if _, ok := els[k]; !ok {
			continue
		}
		if given != "" {
			r.fail(IssueInvalid, typ+"."+k, "an observation has one value: "+given+" is given already")
			continue
		}
		given = k
	}
	if given == "" {
		return
	}
	el, raw := typ+"."+given, els[given]
	m.set("value", el)
	switch given {
	case "valueQuantity":
		q, ok := r.quantity(el, raw)
		if !ok {
			return
		}
		in.Value = &observation.ValueInput{Value: q.value, Unit: q.unit}
		m.set("value.value", el+".value")
		if q.unitAt != "" {
			m.set("value.unit", q.unitAt)
		} else {
			m.set("value.unit", el+".code")
		}
	case "valueCodeableConcept":
		cs, ok := r.codings(el, raw)
		if !ok {
			return
		}
		if len(cs) > 1 {
			r.fail(IssueInvalid, cs[1].at, "give one coding: the catalogue's answer code")
			return
		}
		in.Value = &observation.ValueInput{Code: cs[0].code}
		m.set("value.code", cs[0].at+".code")
	case "valueString":
		if s, ok := r.str(el, raw); ok {
			in.Value = &observation.ValueInput{Text: &s}
			m.set("value.text", el)
		}
	case "valueBoolean":
		if b, ok := r.boolean(el, raw); ok {
			in.Value = &observation.ValueInput{Boolean: &b}
		}
	}
}

// components reads a panel's components: each a LOINC code and a quantity.
func (r *resourceReader) components(el string, raw json.RawMessage, m ElementMap) []observation.ComponentInput {
	l, ok := r.list(el, raw)
	if !ok {
		return nil
	}
	out := make([]observation.ComponentInput, len(l))
	for i, item := range l {
		at := el + "[" + strconv.Itoa(i) + "]"
		field := "components[" + strconv.Itoa(i) + "]"
		cm, _ := r.object(at, item, "code", "valueQuantity")
		switch raw, ok := cm["code"]; {
		case ok:
			if cs, ok := r.codings(at+".code", raw); ok {
				if c, ok := r.codeOf(at+".code", cs, SystemLOINC, "LOINC"); ok {
					out[i].Code = c.code
					m.set(field+".code", c.at+".code")
				}
			}
		case cm != nil:
			r.fail(IssueRequired, at+".code", "is required: the component's LOINC code")
		}
		switch raw, ok := cm["valueQuantity"]; {
		case ok:
			if q, ok := r.quantity(at+".valueQuantity", raw); ok {
				out[i].Value, out[i].Unit = q.value, q.unit
				m.set(field+".value", at+".valueQuantity.value")
				m.set(field+".unit", q.unitAt)
			}
		case cm != nil:
			r.fail(IssueRequired, at+".valueQuantity", "is required: a component is a quantity")
		}
	}
	return out
}

// referenceRange reads the one range a laboratory reported: low, high or
// both, in one unit.
func (r *resourceReader) referenceRange(el string, raw json.RawMessage, m ElementMap) *observation.RangeInput {
	l, ok := r.list(el, raw)
	if !ok {
		return nil
	}
	for i := 1; i < len(l); i++ {
		r.fail(IssueNotSupported, el+"["+strconv.Itoa(i)+"]", "one reference range is kept")
	}
	at := el + "[0]"
	rm, ok := r.object(at, l[0], "low", "high")
	if !ok {
		return nil
	}
	out := &observation.RangeInput{}
	for _, f := range []struct {
		name string
		dst  **float64
	}{{"low", &out.Low}, {"high", &out.High}} {
		raw, given := rm[f.name]
		if !given {
			continue
		}
		q, ok := r.quantity(at+"."+f.name, raw)
		if !ok {
			continue
		}
		*f.dst = q.value
		m.set("referenceRange."+f.name, at+"."+f.name+".value")
		switch {
		case out.Unit == "":
			out.Unit = q.unit
		case q.unit != "" && q.unit != out.Unit:
			r.fail(IssueInvalid, q.unitAt, "must be the unit of the range's other limit, "+out.Unit)
		}
	}
	return out
}
