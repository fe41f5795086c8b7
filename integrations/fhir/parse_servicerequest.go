package fhir

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

// OrderCreate is a ServiceRequest sent to be created, read into the fields
// of POST /v1/diagnostics/orders.
type OrderCreate struct {
	PatientID   uuid.UUID
	EncounterID *uuid.UUID
	// Tests are the catalogue codes ordered (LOINC tests and panels,
	// imaging procedures), in the order given.
	Tests               []string
	Priority            diagnostic.Priority
	ClinicalInformation string
	SpecimenNotes       string
	// Requester is the practitioner the resource names as its requester,
	// uuid.Nil when it names none. The orderer is always the person acting;
	// a request naming someone else is refused by the API.
	Requester uuid.UUID
}

// ParseServiceRequest reads a ServiceRequest sent to be created: an active
// order (intent order) of the catalogue's LOINC codes — the code's coding
// for one test, or each orderDetail's for several — for subject
// Patient/<id>, in encounter Encounter/<id>, with its priority (routine,
// urgent or stat), the clinical question as one reasonCode's text, the
// specimen requirements as one note, and requester Practitioner/<id>. A
// category is passed over when it is one of ours: the catalogue says what
// each test is. A body site would be lost (the catalogue's procedure names
// its own), so it is refused, as is every element the order has no place
// for.
func ParseServiceRequest(body []byte) (OrderCreate, ElementMap, error) {
	const typ = "ServiceRequest"
	els, r := readResource(body, typ, "status", "intent", "category", "priority", "code", "orderDetail", "subject",
		"encounter", "requester", "reasonCode", "note", "authoredOn")
	m := newElementMap(typ)
	var out OrderCreate
	if els == nil {
		return out, m, r.err()
	}
	m.set("patientId", typ+".subject")
	m.set("encounterId", typ+".encounter")
	m.set("tests", typ+".code")
	m.set("priority", typ+".priority")
	m.set("clinicalInformation", typ+".reasonCode[0].text")
	m.set("specimenNotes", typ+".note[0].text")
	m.set("ordererId", typ+".requester")

	r.requestKind(typ, els, []string{"active"}, "a new order is active")
	if _, ok := els["authoredOn"]; ok {
		r.fail(IssueBusinessRule, typ+".authoredOn", "is the moment the order is placed, which the server records; leave it out")
	}
	if raw, ok := els["category"]; ok {
		if l, ok := r.list(typ+".category", raw); ok {
			for i, item := range l {
				cs, ok := r.codings(typ+".category["+strconv.Itoa(i)+"]", item)
				if !ok {
					continue
				}
				for _, c := range cs {
					if _, ours := OrderCategoryOf(c.system + "|" + c.code); !ours {
						r.fail(IssueNotSupported, c.at, "is not a category of ours: the catalogue says what each test is")
					}
				}
			}
		}
	}
	if raw, ok := els["priority"]; ok {
		p, _ := r.str(typ+".priority", raw)
		out.Priority = diagnostic.Priority(p)
	}
	if raw, ok := els["code"]; ok {
		r.orderCodes(typ+".code", raw, &out, m, true)
	}
	if raw, ok := els["orderDetail"]; ok {
		if l, ok := r.list(typ+".orderDetail", raw); ok {
			for i, item := range l {
				r.orderCodes(typ+".orderDetail["+strconv.Itoa(i)+"]", item, &out, m, false)
			}
		}
	}
	if _, ok := els["code"]; !ok && len(out.Tests) == 0 {
		r.fail(IssueRequired, typ+".code", "is required: the LOINC code of a catalogue test, panel or imaging procedure")
	}
	switch raw, ok := els["subject"]; {
	case !ok:
		r.fail(IssueRequired, typ+".subject", "is required: Patient/<id>")
	default:
		out.PatientID, _ = r.reference(typ+".subject", raw, "Patient")
	}
	if raw, ok := els["encounter"]; ok {
		if id, ok := r.reference(typ+".encounter", raw, "Encounter"); ok {
			out.EncounterID = &id
		}
	}
	if raw, ok := els["requester"]; ok {
		out.Requester, _ = r.reference(typ+".requester", raw, "Practitioner")
	}
	if raw, ok := els["reasonCode"]; ok {
		out.ClinicalInformation = r.reasonText(typ+".reasonCode", raw)
	}
	if raw, ok := els["note"]; ok {
		out.SpecimenNotes = r.noteText(typ+".note", raw)
	}
	return out, m, r.err()
}

// orderCodes reads the one LOINC coding of a concept ordered: one test of
// the order (a concept's codings are one concept's translations, never
// several tests). The code of an order of several names them in its text
// alone (as the server writes it), with a coding in each orderDetail.
func (r *resourceReader) orderCodes(el string, raw json.RawMessage, out *OrderCreate, m ElementMap, textAlone bool) {
	cm, ok := r.object(el, raw, "coding", "text")
	if !ok {
		return
	}
	if _, ok := cm["coding"]; !ok && textAlone {
		return
	}
	cs, ok := r.codings(el, raw)
	if !ok {
		return
	}
	if c, ok := r.codeOf(el, cs, SystemLOINC, "LOINC"); ok {
		m.set("tests["+strconv.Itoa(len(out.Tests))+"]", c.at+".code")
		out.Tests = append(out.Tests, c.code)
	}
}
