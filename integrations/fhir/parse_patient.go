package fhir

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/zarish-sphere/zarish/domain/patient"
)

// ParsePatient reads a Patient sent to be created into the register's
// details (the body of POST /v1/patients), refusing what the register
// cannot keep: a second name, a name part other than family and given,
// an identifier of our own MRN system (the engine assigns the MRN), an
// inactive patient, and every element the details have no place for. It
// checks the resource's shape only; the register's own rules (a birth date
// in the past, a phone number's digits) are the REST API's, whose field
// names the ElementMap turns back into the resource's elements.
func ParsePatient(body []byte) (patient.Details, ElementMap, error) {
	const typ = "Patient"
	els, r := readResource(body, typ, "name", "gender", "birthDate", "identifier", "telecom", "address", "contact", "active")
	m := newElementMap(typ)
	var d patient.Details
	if els == nil {
		return d, m, r.err()
	}
	m.set("name", typ+".name[0]")
	m.set("birthDate", typ+".birthDate")
	m.set("sex", typ+".gender")
	m.set("telecom", typ+".telecom")
	m.set("address", typ+".address")
	m.set("identifiers", typ+".identifier")
	m.set("emergencyContacts", typ+".contact")
	if raw, ok := els["active"]; ok {
		if active, ok := r.boolean(typ+".active", raw); ok && !active {
			r.fail(IssueBusinessRule, typ+".active", "a patient is registered active; leave active out or send true")
		}
	}
	if raw, ok := els["name"]; ok {
		if names, ok := r.list(typ+".name", raw); ok {
			d.Name = r.humanName(typ+".name[0]", names[0])
			for i := 1; i < len(names); i++ {
				r.fail(IssueNotSupported, typ+".name["+strconv.Itoa(i)+"]", "the register keeps one name; send the official one alone")
			}
		}
	}
	if raw, ok := els["gender"]; ok {
		d.Sex, _ = r.str(typ+".gender", raw)
	}
	if raw, ok := els["birthDate"]; ok {
		d.BirthDate, _ = r.str(typ+".birthDate", raw)
	}
	if raw, ok := els["identifier"]; ok {
		d.Identifiers = r.identifiers(typ+".identifier", raw)
	}
	if raw, ok := els["telecom"]; ok {
		d.Telecom = r.telecom(typ+".telecom", raw)
	}
	if raw, ok := els["address"]; ok {
		d.Address = r.addresses(typ+".address", raw)
	}
	if raw, ok := els["contact"]; ok {
		d.EmergencyContacts = r.contacts(typ+".contact", raw, m)
	}
	return d, m, r.err()
}

// humanName reads the one name the register keeps: family and given, of
// use official or usual.
func (r *resourceReader) humanName(el string, raw json.RawMessage) patient.Name {
	var n patient.Name
	m, _ := r.object(el, raw, "use", "family", "given")
	if raw, ok := m["use"]; ok {
		if use, ok := r.str(el+".use", raw); ok && use != "official" && use != "usual" {
			r.fail(IssueNotSupported, el+".use", "the register keeps the official name; "+strconv.Quote(use)+" would be lost")
		}
	}
	if raw, ok := m["family"]; ok {
		n.Family, _ = r.str(el+".family", raw)
	}
	if raw, ok := m["given"]; ok {
		n.Given, _ = r.strs(el+".given", raw)
	}
	return n
}

// identifiers reads business identifiers; our MRN is the engine's to assign.
func (r *resourceReader) identifiers(el string, raw json.RawMessage) []patient.Identifier {
	l, ok := r.list(el, raw)
	if !ok {
		return nil
	}
	out := make([]patient.Identifier, len(l))
	for i, item := range l {
		at := el + "[" + strconv.Itoa(i) + "]"
		m, _ := r.object(at, item, "system", "value")
		if raw, ok := m["system"]; ok {
			out[i].System, _ = r.str(at+".system", raw)
		}
		if raw, ok := m["value"]; ok {
			out[i].Value, _ = r.str(at+".value", raw)
		}
		if strings.TrimSpace(out[i].System) == SystemMRN {
			r.fail(IssueBusinessRule, at+".system", "the MRN ("+SystemMRN+") is assigned by the engine when the patient is registered; leave it out")
		}
	}
	return out
}

// telecom reads contact points: system, value and use.
func (r *resourceReader) telecom(el string, raw json.RawMessage) []patient.ContactPoint {
	l, ok := r.list(el, raw)
	if !ok {
		return nil
	}
	out := make([]patient.ContactPoint, len(l))
	for i, item := range l {
		at := el + "[" + strconv.Itoa(i) + "]"
		m, _ := r.object(at, item, "system", "value", "use")
		for _, f := range []struct {
			name string
			dst  *string
		}{{"system", &out[i].System}, {"value", &out[i].Value}, {"use", &out[i].Use}} {
			if raw, ok := m[f.name]; ok {
				*f.dst, _ = r.str(at+"."+f.name, raw)
			}
		}
	}
	return out
}

// addresses reads postal addresses.
func (r *resourceReader) addresses(el string, raw json.RawMessage) []patient.Address {
	l, ok := r.list(el, raw)
	if !ok {
		return nil
	}
	out := make([]patient.Address, len(l))
	for i, item := range l {
		at := el + "[" + strconv.Itoa(i) + "]"
		m, _ := r.object(at, item, "use", "line", "city", "district", "state", "postalCode", "country")
		a := &out[i]
		for _, f := range []struct {
			name string
			dst  *string
		}{{"use", &a.Use}, {"city", &a.City}, {"district", &a.District}, {"state", &a.State},
			{"postalCode", &a.PostalCode}, {"country", &a.Country}} {
			if raw, ok := m[f.name]; ok {
				*f.dst, _ = r.str(at+"."+f.name, raw)
			}
		}
		if raw, ok := m["line"]; ok {
			a.Line, _ = r.strs(at+".line", raw)
		}
	}
	return out
}

// contacts reads the people to call on the patient's behalf as the
// register keeps them: a name's text, a relationship's text and one phone.
func (r *resourceReader) contacts(el string, raw json.RawMessage, m ElementMap) []patient.EmergencyContact {
	l, ok := r.list(el, raw)
	if !ok {
		return nil
	}
	out := make([]patient.EmergencyContact, len(l))
	for i, item := range l {
		at := el + "[" + strconv.Itoa(i) + "]"
		field := "emergencyContacts[" + strconv.Itoa(i) + "]"
		m.set(field+".name", at+".name.text")
		m.set(field+".relationship", at+".relationship[0].text")
		m.set(field+".phone", at+".telecom[0].value")
		cm, _ := r.object(at, item, "name", "relationship", "telecom")
		if raw, ok := cm["name"]; ok {
			nm, _ := r.object(at+".name", raw, "text")
			if raw, ok := nm["text"]; ok {
				out[i].Name, _ = r.str(at+".name.text", raw)
			}
		}
		if raw, ok := cm["relationship"]; ok {
			if rels, ok := r.list(at+".relationship", raw); ok {
				rm, _ := r.object(at+".relationship[0]", rels[0], "text")
				if raw, ok := rm["text"]; ok {
					out[i].Relationship, _ = r.str(at+".relationship[0].text", raw)
				}
				for j := 1; j < len(rels); j++ {
					r.fail(IssueNotSupported, at+".relationship["+strconv.Itoa(j)+"]", "the register keeps one relationship")
				}
			}
		}
		if raw, ok := cm["telecom"]; ok {
			if tl, ok := r.list(at+".telecom", raw); ok {
				for j, t := range tl {
					tat := at + ".telecom[" + strconv.Itoa(j) + "]"
					if j > 0 {
						r.fail(IssueNotSupported, tat, "the register keeps one phone number per contact")
						continue
					}
					tm, _ := r.object(tat, t, "system", "value")
					if raw, ok := tm["system"]; ok {
						if sys, ok := r.str(tat+".system", raw); ok && sys != "phone" {
							r.fail(IssueNotSupported, tat+".system", "the register keeps a contact's phone number only")
						}
					}
					if raw, ok := tm["value"]; ok {
						out[i].Phone, _ = r.str(tat+".value", raw)
					}
				}
			}
		}
	}
	return out
}
