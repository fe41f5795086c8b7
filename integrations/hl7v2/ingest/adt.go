package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
)

// patientEvents are the ADT events that register or update the person the
// PID segment names (HL7 v2.5.1 chapter 3): admit, register, update,
// add person, update person.
var patientEvents = []string{"A01", "A04", "A08", "A28", "A31"}

// visitEvents are the ADT events that end the visit PV1-19 names:
// discharge, cancel admit.
var visitEvents = []string{"A03", "A11"}

// mapped lists the ADT events applied, for the refusal of another.
var mapped = strings.Join(append(append(append([]string{}, patientEvents...), visitEvents...), "A40"), ", ")

// mapMessage applies msg: what it became, the sender's errors (located
// for ERR segments), or err when the engine failed. Its switch is the list
// of the message types mapped (see the package comment).
func (i *Ingester) mapMessage(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source) ([]hl7message.Applied, []error, error) {
	t := msg.Header.Type
	switch {
	case t.Code == "ORU" && t.Trigger == "R01":
		return i.applyResults(ctx, stored, msg, src)
	case t.Code == "ORM" && t.Trigger == "O01", t.Code == "OML" && t.Trigger == "O21":
		if i.diagnostics == nil {
			return nil, []error{notApplied(1, "orders are stored but not placed by this engine: it has no diagnostic order store")}, nil
		}
		return i.applyOrders(ctx, stored, msg, src)
	case t.Code != "ADT":
		return nil, []error{notApplied(1, "message type "+t.Code+" is stored but not applied by this engine yet")}, nil
	case slices.Contains(patientEvents, t.Trigger):
		return i.applyPerson(ctx, stored, msg, src)
	case slices.Contains(visitEvents, t.Trigger):
		if i.encounters == nil {
			return nil, []error{notApplied(2, "ADT event "+t.Trigger+" is stored but not applied by this engine: it has no encounter store")}, nil
		}
		return i.endVisit(ctx, stored, msg, src)
	case t.Trigger == "A13":
		return nil, []error{&hl7v2.Error{Code: hl7v2.UnsupportedEventCode, Segment: "MSH", Sequence: 1, Field: 9, Component: 2,
			Message: "A13 (cancel discharge) is not applied: a discharge is final in the encounter workflow, which cannot reopen an encounter; " +
				"admit the patient again (A01 with a new visit number)"}}, nil
	case t.Trigger == "A40":
		return i.applyMerge(ctx, stored, msg, src)
	}
	return nil, []error{notApplied(2, "ADT event "+t.Trigger+" is stored but not applied by this engine yet; applied: "+mapped)}, nil
}

// applyPerson registers the PID segment's person, or updates the patient
// one of its identifiers already names; an admission (A01) then opens the
// encounter of its visit.
func (i *Ingester) applyPerson(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source) ([]hl7message.Applied, []error, error) {
	p, applied, errs, err := i.person(ctx, stored, msg, src)
	if err != nil || len(errs) > 0 || msg.Header.Type.Trigger != "A01" || i.encounters == nil {
		return applied, errs, err
	}
	more, errs, err := i.admit(ctx, stored, msg, src, p)
	return append(applied, more...), errs, err
}

// person registers or updates the PID segment's person.
func (i *Ingester) person(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source) (patient.Patient, []hl7message.Applied, []error, error) {
	var none patient.Patient
	pid := msg.First("PID")
	if pid == nil {
		return none, nil, []error{&hl7v2.Error{Code: hl7v2.SegmentSequenceError, Segment: "PID", Message: "an ADT message names its patient in a PID segment"}}, nil
	}
	details, errs := personOf(pid, msg.Header)
	if len(errs) > 0 {
		return none, nil, errs, nil
	}
	existing, err := i.match(ctx, details.Identifiers)
	if err != nil {
		return none, nil, nil, err
	}
	rec := i.auditRecord(stored, src)
	if existing != nil {
		rec.Action = audit.ActionUpdate
		p, err := i.patients.Update(ctx, existing.ID, &rec, func(cur patient.Patient) (patient.Patient, error) {
			d := details
			d.Identifiers = mergeIdentifiers(cur.Identifiers, details.Identifiers)
			d.Telecom, d.Address, d.EmergencyContacts = cur.Telecom, cur.Address, cur.EmergencyContacts
			return cur.Replace(d, i.now())
		})
		if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
			return none, nil, refusedFields(verr), nil
		}
		if err != nil {
			return none, nil, nil, fmt.Errorf("update patient %s: %w", existing.ID, err)
		}
		return p, []hl7message.Applied{{Kind: "patient-updated", Reference: "Patient/" + p.ID.String()}}, nil, nil
	}
	id, err := i.newID()
	if err != nil {
		return none, nil, nil, err
	}
	p, _, err := i.patients.Register(ctx, nil, &rec, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(id, mrn, details, i.now())
	})
	if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
		return none, nil, refusedFields(verr), nil
	}
	if err != nil {
		return none, nil, nil, fmt.Errorf("register patient: %w", err)
	}
	return p, []hl7message.Applied{{Kind: "patient-registered", Reference: "Patient/" + p.ID.String()}}, nil, nil
}

// match is the registered patient one of ids names, or nil: an active one
// before one deactivated (a patient merged away, A40, keeps its
// identifiers, which its survivor holds too).
func (i *Ingester) match(ctx context.Context, ids []patient.Identifier) (*patient.Patient, error) {
	var inactive *patient.Patient
	for _, id := range ids {
		found, _, err := i.patients.Search(ctx, patient.Criteria{Identifier: id.System + "|" + id.Value, Limit: 10})
		if err != nil {
			return nil, fmt.Errorf("find patient by identifier: %w", err)
		}
		for k := range found {
			if found[k].Active {
				return &found[k], nil
			}
			if inactive == nil {
				inactive = &found[k]
			}
		}
	}
	return inactive, nil
}

// personOf reads the patient's details from PID: identifiers (PID-3, the
// assigning authority as the system, the sending facility when it names
// none), name (PID-5), birth date (PID-7) and sex (PID-8).
func personOf(pid *hl7v2.Segment, h hl7v2.Header) (patient.Details, []error) {
	var d patient.Details
	var errs []error
	d.Identifiers = identifiersOf(pid.Field(3), h)
	if len(d.Identifiers) == 0 {
		errs = append(errs, &hl7v2.Error{Code: hl7v2.RequiredFieldMissing, Segment: "PID", Sequence: 1, Field: 3, Component: 1,
			Message: "PID-3 names no identifier the patient can be matched on"})
	}
	name := pid.Field(5)
	d.Name = patient.Name{Family: strings.TrimSpace(name.Comp(1).Text())}
	for _, g := range []string{name.Comp(2).Text(), name.Comp(3).Text()} {
		if g = strings.TrimSpace(g); g != "" {
			d.Name.Given = append(d.Name.Given, g)
		}
	}
	if birth := strings.TrimSpace(pid.Field(7).Comp(1).Text()); len(birth) >= 8 {
		d.BirthDate = birth[:4] + "-" + birth[4:6] + "-" + birth[6:8]
	} else if birth != "" {
		errs = append(errs, &hl7v2.Error{Code: hl7v2.DataTypeError, Segment: "PID", Sequence: 1, Field: 7, Component: 1,
			Message: "PID-7 is not a date (YYYYMMDD)"})
	}
	switch strings.ToUpper(strings.TrimSpace(pid.Field(8).Comp(1).Text())) {
	case "M":
		d.Sex = "male"
	case "F":
		d.Sex = "female"
	case "O":
		d.Sex = "other"
	case "", "U", "A", "N":
		d.Sex = "unknown"
	default:
		errs = append(errs, &hl7v2.Error{Code: hl7v2.TableValueNotFound, Segment: "PID", Sequence: 1, Field: 8,
			Message: "PID-8 is not a code of table 0001 (F, M, O, U, A, N)"})
	}
	return d, errs
}

// identifiersOf reads the identifiers of a CX field (PID-3, MRG-1): the
// assigning authority's namespace (else its universal id, else the sending
// facility) as the system.
func identifiersOf(f hl7v2.Field, h hl7v2.Header) []patient.Identifier {
	var out []patient.Identifier
	for _, rep := range f.Reps() {
		value := strings.TrimSpace(rep.Comp(1).Text())
		if value == "" {
			continue
		}
		if system := authorityOf(rep, h); system != "" {
			out = append(out, patient.Identifier{System: system, Value: value})
		}
	}
	return out
}

// authorityOf is the assigning authority of a CX (component 4, an HD): its
// namespace, else its universal id, else the sending facility.
func authorityOf(rep hl7v2.Repetition, h hl7v2.Header) string {
	system := strings.TrimSpace(rep.Comp(4).Sub(1).Text())
	if system == "" {
		system = strings.TrimSpace(rep.Comp(4).Sub(2).Text())
	}
	if system == "" {
		system = h.SendingFacility.NamespaceID
	}
	return system
}

// pidFields are the PID fields a refused patient field is located at.
var pidFields = map[string]int{"identifiers": 3, "name": 5, "birthDate": 7, "sex": 8}

// refusedFields locates the register's refusal of the PID's details.
func refusedFields(verr *domain.ValidationError) []error {
	var errs []error
	for _, f := range verr.Fields {
		top, _, _ := strings.Cut(f.Field, ".")
		top, _, _ = strings.Cut(top, "[")
		errs = append(errs, &hl7v2.Error{Code: hl7v2.DataTypeError, Segment: "PID", Sequence: 1, Field: pidFields[top],
			Message: f.Field + " " + f.Message})
	}
	return errs
}

// mergeIdentifiers keeps the patient's identifiers and adds the message's.
func mergeIdentifiers(have, add []patient.Identifier) []patient.Identifier {
	out := append([]patient.Identifier{}, have...)
	for _, id := range add {
		dup := false
		for _, h := range have {
			if h.System == id.System && h.Value == id.Value {
				dup = true
			}
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}

// auditRecord is the audit record of a change a message made: the sending
// system acted, through the transport's client.
func (i *Ingester) auditRecord(m hl7message.Message, src Source) audit.Record {
	id, _ := i.newID()
	if id == uuid.Nil {
		id = uuid.New()
	}
	return audit.Record{ID: id, Time: i.now().UTC(), Actor: audit.Actor{Subject: "hl7v2:" + m.Sender, ClientID: src.Client},
		Action: audit.ActionCreate, SourceIP: src.Address, Route: "hl7v2 " + m.MessageType, Purpose: "TREAT", Outcome: audit.OutcomeSuccess,
		Description: "HL7 v2 " + m.MessageType + " " + m.ControlID + " from " + m.Sender}
}
