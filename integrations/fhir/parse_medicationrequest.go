package fhir

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/medication"
)

// PrescriptionCreate is a MedicationRequest sent to be created, read into
// the fields of POST /v1/medications/prescriptions.
type PrescriptionCreate struct {
	PatientID   uuid.UUID
	EncounterID *uuid.UUID
	// MedicationCode is the RxNorm code ordered; MedicationName the
	// knowledge base's drug or product id, else the medication's text.
	MedicationCode, MedicationName string
	DoseValue                      float64
	DoseUnit                       string
	Route, Frequency               string
	DosesPerDay, DurationDays      float64
	PRN                            bool
	Indication                     string
	// QuantityValue and QuantityUnit are the total to dispense; zero when
	// the request does not say.
	QuantityValue float64
	QuantityUnit  string
	// Requester is the practitioner the resource names as its requester,
	// uuid.Nil when it names none. The prescriber is always the person
	// acting; a request naming someone else is refused by the API.
	Requester uuid.UUID
}

// ParseMedicationRequest reads a MedicationRequest sent to be created: an
// order (intent order, status draft or active — the checks decide which
// it becomes) of medicationCodeableConcept (an RxNorm coding, a coding of
// the knowledge base's ids, or the text), for subject Patient/<id>, in
// encounter Encounter/<id>, one dosageInstruction (doseQuantity, route as
// text or SNOMED CT code, timing as written in timing.code.text or as a
// repeat of doses a day, every N hours or once, asNeededBoolean), one
// reasonCode as text, dispenseRequest's quantity and expected supply
// duration in days, and requester Practitioner/<id>. A free-text dosage
// would be lost beside the structured one, so it is refused, as is every
// element the prescription has no place for.
func ParseMedicationRequest(body []byte) (PrescriptionCreate, ElementMap, error) {
	const typ = "MedicationRequest"
	els, r := readResource(body, typ, "status", "intent", "medicationCodeableConcept", "subject", "encounter",
		"requester", "reasonCode", "dosageInstruction", "dispenseRequest", "authoredOn")
	m := newElementMap(typ)
	var out PrescriptionCreate
	if els == nil {
		return out, m, r.err()
	}
	dosage := typ + ".dosageInstruction[0]"
	m.set("patientId", typ+".subject")
	m.set("encounterId", typ+".encounter")
	m.set("medication", typ+".medicationCodeableConcept")
	m.set("dose", dosage+".doseAndRate[0].doseQuantity")
	m.set("route", dosage+".route")
	m.set("frequency", dosage+".timing")
	m.set("dosesPerDay", dosage+".timing.repeat")
	m.set("prn", dosage+".asNeededBoolean")
	m.set("durationDays", typ+".dispenseRequest.expectedSupplyDuration")
	m.set("indication", typ+".reasonCode[0].text")
	m.set("quantity", typ+".dispenseRequest.quantity")
	m.set("prescriberId", typ+".requester")

	r.requestKind(typ, els, []string{"draft", "active"}, "a new prescription is draft or active: its checks decide whether it is placed active or on hold")
	if _, ok := els["authoredOn"]; ok {
		r.fail(IssueBusinessRule, typ+".authoredOn", "is the moment the order is placed, which the server records; leave it out")
	}
	switch raw, ok := els["medicationCodeableConcept"]; {
	case !ok:
		r.fail(IssueRequired, typ+".medication[x]", "is required: medicationCodeableConcept with an RxNorm code or the drug's name")
	default:
		r.medication(typ+".medicationCodeableConcept", raw, &out, m)
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
		out.Indication = r.reasonText(typ+".reasonCode", raw)
	}
	switch raw, ok := els["dosageInstruction"]; {
	case !ok:
		r.fail(IssueRequired, typ+".dosageInstruction", "is required: the dose, route and timing")
	default:
		if l, ok := r.list(typ+".dosageInstruction", raw); ok {
			r.dosage(dosage, l[0], &out, m)
			for i := 1; i < len(l); i++ {
				r.fail(IssueNotSupported, typ+".dosageInstruction["+strconv.Itoa(i)+"]", "one dosage is prescribed per order")
			}
		}
	}
	if raw, ok := els["dispenseRequest"]; ok {
		r.dispense(typ+".dispenseRequest", raw, &out)
	}
	return out, m, r.err()
}

// medication reads the drug ordered: an RxNorm coding, a coding of the
// knowledge base's ids, and the text, which names the drug when no
// knowledge-base coding does.
func (r *resourceReader) medication(el string, raw json.RawMessage, out *PrescriptionCreate, m ElementMap) {
	before := len(r.issues)
	mm, ok := r.object(el, raw, "coding", "text")
	if !ok {
		return
	}
	text := ""
	if raw, ok := mm["text"]; ok {
		text, _ = r.str(el+".text", raw)
	}
	var cs []coding
	if _, ok := mm["coding"]; ok {
		if cs, ok = r.codings(el, raw); !ok {
			return
		}
	}
	var rx, kb []coding
	for _, c := range cs {
		switch c.system {
		case SystemRxNorm:
			rx = append(rx, c)
		case SystemMedicationKB:
			kb = append(kb, c)
		default:
			r.fail(IssueNotSupported, c.at, "only RxNorm ("+SystemRxNorm+") and knowledge-base ("+SystemMedicationKB+") codings are read")
		}
	}
	for _, extra := range [][]coding{rx, kb} {
		if len(extra) > 1 {
			r.fail(IssueInvalid, extra[1].at, "is a second coding of its system: order one drug")
		}
	}
	if len(rx) > 0 {
		out.MedicationCode = rx[0].code
		m.set("medication", rx[0].at+".code")
	}
	switch {
	case len(kb) > 0:
		out.MedicationName = kb[0].code
		if len(rx) == 0 {
			m.set("medication", kb[0].at+".code")
		}
	case text != "":
		out.MedicationName = text
		if len(rx) == 0 {
			m.set("medication", el+".text")
		}
	}
	if out.MedicationCode == "" && out.MedicationName == "" && len(r.issues) == before {
		r.fail(IssueRequired, el, "needs an RxNorm coding or the drug's name as text")
	}
}

// routeOfCode is the engine's route of a SNOMED CT route code.
func routeOfCode(code string) (medication.Route, bool) {
	for route, c := range routeCodes {
		if c.Code == code {
			return route, true
		}
	}
	return "", false
}

// dosage reads the one dosage instruction.
func (r *resourceReader) dosage(el string, raw json.RawMessage, out *PrescriptionCreate, m ElementMap) {
	dm, _ := r.object(el, raw, "doseAndRate", "route", "timing", "asNeededBoolean")
	if dm == nil {
		return
	}
	if raw, ok := dm["asNeededBoolean"]; ok {
		out.PRN, _ = r.boolean(el+".asNeededBoolean", raw)
	}
	switch raw, ok := dm["doseAndRate"]; {
	case !ok:
		r.fail(IssueRequired, el+".doseAndRate", "is required: the dose as doseQuantity")
	default:
		if l, ok := r.list(el+".doseAndRate", raw); ok {
			for i := 1; i < len(l); i++ {
				r.fail(IssueNotSupported, el+".doseAndRate["+strconv.Itoa(i)+"]", "one dose is prescribed")
			}
			at := el + ".doseAndRate[0]"
			am, _ := r.object(at, l[0], "doseQuantity")
			if raw, ok := am["doseQuantity"]; ok {
				if q, ok := r.amount(at+".doseQuantity", raw); ok {
					out.DoseValue, out.DoseUnit = *q.value, q.unit
					m.set("dose.value", at+".doseQuantity.value")
					m.set("dose.unit", q.unitAt)
				}
			} else if am != nil {
				r.fail(IssueRequired, at+".doseQuantity", "is required")
			}
		}
	}
	if raw, ok := dm["route"]; ok {
		cm, ok := r.object(el+".route", raw, "coding", "text")
		if ok {
			if t, given := cm["text"]; given {
				out.Route, _ = r.str(el+".route.text", t)
				m.set("route", el+".route.text")
			} else if cs, ok := r.codings(el+".route", raw); ok {
				if c, ok := r.codeOf(el+".route", cs, SystemSNOMED, "SNOMED CT"); ok {
					route, known := routeOfCode(c.code)
					if !known {
						r.fail(IssueInvalid, c.at+".code", "is not a route of administration the engine knows")
					}
					out.Route = string(route)
					m.set("route", c.at+".code")
				}
			}
		}
	}
	if raw, ok := dm["timing"]; ok {
		r.timing(el+".timing", raw, out, m)
	}
}

// timing reads when doses are given: the frequency as written
// (timing.code.text), and a repeat of doses a day (frequency per 1 d),
// every N hours (1 per N h), or one dose (count 1).
func (r *resourceReader) timing(el string, raw json.RawMessage, out *PrescriptionCreate, m ElementMap) {
	tm, _ := r.object(el, raw, "code", "repeat")
	if raw, ok := tm["code"]; ok {
		cm, _ := r.object(el+".code", raw, "text")
		if raw, ok := cm["text"]; ok {
			out.Frequency, _ = r.str(el+".code.text", raw)
			m.set("frequency", el+".code.text")
		} else if cm != nil {
			r.fail(IssueRequired, el+".code.text", "is required: the frequency as written (q6h, BD, daily …)")
		}
	}
	raw, ok := tm["repeat"]
	if !ok {
		return
	}
	at := el + ".repeat"
	rm, ok := r.object(at, raw, "frequency", "period", "periodUnit", "count")
	if !ok {
		return
	}
	var frequency, period, count float64
	unit := ""
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"frequency", &frequency}, {"period", &period}, {"count", &count}} {
		if raw, given := rm[f.name]; given {
			*f.dst, _ = r.number(at+"."+f.name, raw)
		}
	}
	if raw, given := rm["periodUnit"]; given {
		unit, _ = r.str(at+".periodUnit", raw)
	}
	written := ""
	switch {
	case count == 1 && frequency == 0 && period == 0:
		written = "once"
	case count == 0 && unit == "d" && period == 1 && frequency > 0:
		out.DosesPerDay = frequency
		m.set("dosesPerDay", at+".frequency")
	case count == 0 && unit == "h" && frequency == 1 && period > 0:
		written = "q" + strconv.FormatFloat(period, 'f', -1, 64) + "h"
	default:
		r.fail(IssueNotSupported, at, "is read as doses a day (frequency per period 1 d), every N hours (frequency 1 per period N h) or one dose (count 1)")
		return
	}
	switch {
	case written == "":
	case out.Frequency == "":
		out.Frequency = written
		m.set("frequency", at)
	default:
		// The frequency as written says it; the repeat is its reading.
		if f, ok := medication.ParseFrequency(out.Frequency); ok {
			w, _ := medication.ParseFrequency(written)
			if f.Once != w.Once || f.IntervalHours != w.IntervalHours {
				r.fail(IssueInvalid, at, "says another frequency than timing.code.text ("+out.Frequency+")")
			}
		}
	}
}

// amount reads a dose or a quantity to dispense: its unit as written
// (unit), else its code.
func (r *resourceReader) amount(el string, raw json.RawMessage) (quantity, bool) {
	qm, ok := r.object(el, raw, "value", "unit", "system", "code")
	if !ok {
		return quantity{}, false
	}
	var q quantity
	if raw, given := qm["value"]; given {
		v, ok := r.number(el+".value", raw)
		if !ok {
			return quantity{}, false
		}
		q.value = &v
	} else {
		r.fail(IssueRequired, el+".value", "is required")
		return quantity{}, false
	}
	if raw, given := qm["unit"]; given {
		q.unit, _ = r.str(el+".unit", raw)
		q.unitAt = el + ".unit"
	} else if raw, given := qm["code"]; given {
		q.unit, _ = r.str(el+".code", raw)
		q.unitAt = el + ".code"
	} else {
		q.unitAt = el + ".unit"
	}
	return q, true
}

// dispense reads what the pharmacy is asked to supply: a quantity, and the
// expected supply duration in days.
func (r *resourceReader) dispense(el string, raw json.RawMessage, out *PrescriptionCreate) {
	dm, _ := r.object(el, raw, "quantity", "expectedSupplyDuration")
	if raw, ok := dm["quantity"]; ok {
		if q, ok := r.amount(el+".quantity", raw); ok {
			out.QuantityValue, out.QuantityUnit = *q.value, q.unit
		}
	}
	if raw, ok := dm["expectedSupplyDuration"]; ok {
		at := el + ".expectedSupplyDuration"
		q, ok := r.quantity(at, raw)
		switch {
		case !ok:
		case q.value == nil:
			r.fail(IssueRequired, at+".value", "is required")
		case q.unit != "d" && q.unit != "day" && q.unit != "days":
			r.fail(IssueInvalid, q.unitAt, "must be days (UCUM d)")
		default:
			out.DurationDays = *q.value
		}
	}
}
