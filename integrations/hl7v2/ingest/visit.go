package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// visitOf reads the visit number of PV1-19 (a CX) with the authority
// that assigned it; false when there is none.
func visitOf(pv1 *hl7v2.Segment, h hl7v2.Header) (encounter.Visit, bool) {
	rep := pv1.Field(19).Rep(1)
	number := strings.TrimSpace(rep.Comp(1).Text())
	system := authorityOf(rep, h)
	if number == "" || system == "" {
		return encounter.Visit{}, false
	}
	return encounter.Visit{System: system, Number: number}, true
}

// classOf is the encounter class of a PV1-2 patient class (HL7 table
// 0004): I inpatient and B obstetrics are inpatient, E emergency, O
// outpatient and R recurring outpatient.
func classOf(code string) (encounter.Class, bool) {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "I", "B":
		return encounter.ClassInpatient, true
	case "E":
		return encounter.ClassEmergency, true
	case "O", "R":
		return encounter.ClassOutpatient, true
	}
	return "", false
}

// dispositionOf is the discharge disposition of PV1-36 (HL7 table 0112,
// as UB-04 codes it): 01 home; 02–05, 43, 61–66, 70 transferred; 07 left
// against advice; 09 admitted; 20, 40–42 deceased; anything else, or none,
// other.
func dispositionOf(code string) encounter.Disposition {
	switch c := strings.TrimSpace(code); c {
	case "01":
		return encounter.DispositionHome
	case "02", "03", "04", "05", "43", "61", "62", "63", "64", "65", "66", "70":
		return encounter.DispositionTransferred
	case "07":
		return encounter.DispositionAgainstAdv
	case "09":
		return encounter.DispositionAdmitted
	case "20", "40", "41", "42":
		return encounter.DispositionDeceased
	}
	return encounter.DispositionOther
}

// admit opens the encounter of an admission's visit (PV1-19) for patient
// p, as POST /v1/clinical/encounters does: planned, class from PV1-2, at
// the point of care PV1-3 names, the visit number kept on it. The visit is
// the key: sent again or replayed, the admission opens nothing more. An
// admission without a visit number registers its patient only.
func (i *Ingester) admit(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source, p patient.Patient) ([]hl7message.Applied, []error, error) {
	pv1 := msg.First("PV1")
	v, ok := visitOf(pv1, msg.Header)
	if !ok {
		return nil, nil, nil
	}
	class, ok := classOf(pv1.Field(2).Text())
	if !ok {
		return nil, []error{errAt(hl7v2.TableValueNotFound, pv1, "PV1", 2, 0, "PV1-2 patient class "+pv1.Field(2).Text()+
			" opens no encounter: I (inpatient), B (obstetrics), E (emergency), O (outpatient) or R (recurring)")}, nil
	}
	id, err := i.newID()
	if err != nil {
		return nil, nil, err
	}
	in := encounterflow.Input{EncounterID: id, PatientID: p.ID, Class: class, Location: strings.TrimSpace(pv1.Field(3).Comp(1).Text()),
		// PostgreSQL keeps microseconds: the workflow's clock starts where
		// the row's does.
		CreatedAt: i.now().UTC().Truncate(time.Microsecond)}
	st, err := encounter.New(in.Details(), in.CreatedAt)
	if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
		var errs []error
		for _, f := range verr.Fields {
			switch f.Field {
			case "location":
				errs = append(errs, errAt(hl7v2.RequiredFieldMissing, pv1, "PV1", 3, 1, "PV1-3 (point of care) "+f.Message))
			default:
				return nil, nil, fmt.Errorf("admission refused: %s %s", f.Field, f.Message)
			}
		}
		return nil, errs, nil
	}
	if err != nil {
		return nil, nil, err
	}
	starts, err := encounterflow.Starts(in)
	if err != nil {
		return nil, nil, err
	}
	rec := i.auditRecord(stored, src)
	opened, replay, err := i.encounters.CreateVisitEncounter(ctx, &rec, st, v, starts...)
	if err != nil {
		return nil, nil, fmt.Errorf("open the encounter of visit %s: %w", v.Number, err)
	}
	if replay && opened.PatientID != p.ID {
		return nil, []error{errAt(hl7v2.DuplicateKeyIdentifier, pv1, "PV1", 19, 1, "PV1-19 is the visit number of another patient's encounter")}, nil
	}
	if !replay {
		i.start(ctx, encounterflow.StartOptions(in), encounterflow.WorkflowName, in, i.encounters.MarkStarted)
	}
	return []hl7message.Applied{{Kind: "encounter-opened", Reference: "Encounter/" + opened.ID.String()}}, nil, nil
}

// encounterRefusals are the encounter workflow's refusals a sender is
// told of.
var encounterRefusals = []string{encounterflow.RefusedInvalidTransition, encounterflow.RefusedOpenOrders,
	encounterflow.RefusedInvalidArgument, encounterflow.RefusedNotRecorded}

// endVisit ends the encounter PV1-19's visit opened (A01): A03 discharges
// it through the discharge Update (disposition PV1-36), A11 cancels it
// through the cancel Update, acting as the practitioner EVN-5 (the
// operator) or else PV1-7 (the attending doctor) names. An encounter
// already so ended is answered as done, so a message sent again or
// replayed ends nothing twice; the workflow's refusal (open orders, a
// status that forbids it) is answered AE with its reason.
func (i *Ingester) endVisit(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source) ([]hl7message.Applied, []error, error) {
	event := msg.Header.Type.Trigger
	pid, pv1 := msg.First("PID"), msg.First("PV1")
	if pid == nil || pv1 == nil {
		return nil, []error{&hl7v2.Error{Code: hl7v2.SegmentSequenceError, Segment: "PV1",
			Message: "an ADT^" + event + " names its patient (PID) and visit (PV1)"}}, nil
	}
	ids, _ := personOf(pid, msg.Header)
	p, err := i.match(ctx, ids.Identifiers)
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		return nil, []error{errAt(hl7v2.UnknownKeyIdentifier, pid, "PID", 3, 1, "no registered patient has a PID-3 identifier of this message")}, nil
	}
	v, ok := visitOf(pv1, msg.Header)
	if !ok {
		return nil, []error{errAt(hl7v2.RequiredFieldMissing, pv1, "PV1", 19, 1, "PV1-19 names no visit number: the engine finds the encounter by it")}, nil
	}
	enc, err := i.encounters.EncounterByVisit(ctx, v)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil, []error{errAt(hl7v2.UnknownKeyIdentifier, pv1, "PV1", 19, 1, "no encounter was opened here for visit "+v.Number+
			" of "+v.System+": admit it (A01) first")}, nil
	case err != nil:
		return nil, nil, err
	case enc.PatientID != p.ID:
		return nil, []error{errAt(hl7v2.UnknownKeyIdentifier, pv1, "PV1", 19, 1, "PV1-19 names the visit of another patient than PID-3's")}, nil
	}
	done := hl7message.Applied{Kind: "encounter-discharged", Reference: "Encounter/" + enc.ID.String()}
	want := encounter.StatusDischarged
	if event == "A11" {
		done.Kind, want = "encounter-cancelled", encounter.StatusCancelled
	}
	if enc.Status == want {
		return []hl7message.Applied{done}, nil, nil
	}
	by, named, err := i.practitioner(ctx, msg.First("EVN").Field(5), false)
	if err != nil {
		return nil, nil, err
	}
	if by == uuid.Nil {
		var n bool
		if by, n, err = i.practitioner(ctx, pv1.Field(7), false); err != nil {
			return nil, nil, err
		}
		named = named || n
	}
	if by == uuid.Nil {
		return nil, []error{unknownPractitioner(pv1, "PV1", 7, "attending doctor (nor EVN-5 an operator)", named)}, nil
	}
	rec := i.auditRecord(stored, src)
	rec.Action = audit.ActionUpdate
	var req encounterflow.Request
	if event == "A03" {
		req = &encounterflow.DischargeRequest{By: by, Disposition: dispositionOf(pv1.Field(36).Text())}
	} else {
		req = &encounterflow.CancelRequest{By: by, Reason: "admission cancelled: ADT^A11 " + stored.ControlID + " from " + stored.Sender}
	}
	var state encounterflow.State
	err = i.update(ctx, encounterflow.WorkflowID(enc.ID), req.UpdateName(), process.WithAudit(req, &rec), &state)
	if why, ok := refusedBy(err, encounterRefusals...); ok {
		return nil, []error{errAt(hl7v2.ApplicationInternalError, pv1, "PV1", 19, 1, "the encounter workflow refused the "+req.UpdateName()+": "+why)}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s encounter %s: %w", req.UpdateName(), enc.ID, err)
	}
	return []hl7message.Applied{done}, nil, nil
}

// applyMerge applies an ADT^A40: the patient MRG-1 names is merged into
// the survivor PID-3 names, both registered. The domain has no merge of
// records, so this is the smallest honest one: the survivor takes the
// merged-away identifiers (a search by the old identifier finds it, and
// so do later messages), and the merged-away patient, when registered
// here, is deactivated, its records left where they are. Sent again, it
// changes nothing more.
func (i *Ingester) applyMerge(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source) ([]hl7message.Applied, []error, error) {
	pid, mrg := msg.First("PID"), msg.First("MRG")
	if pid == nil || mrg == nil {
		return nil, []error{&hl7v2.Error{Code: hl7v2.SegmentSequenceError, Segment: "MRG",
			Message: "an ADT^A40 names the survivor (PID) and the patient merged away (MRG)"}}, nil
	}
	ids, _ := personOf(pid, msg.Header)
	survivor, err := i.match(ctx, ids.Identifiers)
	if err != nil {
		return nil, nil, err
	}
	if survivor == nil || !survivor.Active {
		return nil, []error{errAt(hl7v2.UnknownKeyIdentifier, pid, "PID", 3, 1,
			"no active registered patient has a PID-3 identifier of this message: the survivor must be registered")}, nil
	}
	old := identifiersOf(mrg.Field(1), msg.Header)
	if len(old) == 0 {
		return nil, []error{errAt(hl7v2.RequiredFieldMissing, mrg, "MRG", 1, 1, "MRG-1 names no identifier of the patient merged away")}, nil
	}
	// The merged-away patients: those registered here under an old
	// identifier, the survivor aside.
	var away []patient.Patient
	for _, id := range old {
		found, _, err := i.patients.Search(ctx, patient.Criteria{Identifier: id.System + "|" + id.Value, Limit: 10})
		if err != nil {
			return nil, nil, fmt.Errorf("find patient by identifier: %w", err)
		}
		for _, f := range found {
			if f.ID != survivor.ID && !slices.ContainsFunc(away, func(a patient.Patient) bool { return a.ID == f.ID }) {
				away = append(away, f)
			}
		}
	}
	if added := mergeIdentifiers(survivor.Identifiers, old); len(added) > len(survivor.Identifiers) {
		rec := i.auditRecord(stored, src)
		rec.Action = audit.ActionUpdate
		_, err := i.patients.Update(ctx, survivor.ID, &rec, func(cur patient.Patient) (patient.Patient, error) {
			d := cur.Details
			d.Identifiers = mergeIdentifiers(cur.Identifiers, old)
			return cur.Replace(d, i.now())
		})
		if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
			return nil, []error{errAt(hl7v2.DataTypeError, mrg, "MRG", 1, 0, "the survivor cannot take MRG-1's identifiers: "+describe(verr))}, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("merge into patient %s: %w", survivor.ID, err)
		}
	}
	applied := []hl7message.Applied{{Kind: "patient-merged", Reference: "Patient/" + survivor.ID.String()}}
	for _, a := range away {
		if a.Active {
			rec := i.auditRecord(stored, src)
			rec.Action = audit.ActionUpdate
			_, err := i.patients.Update(ctx, a.ID, &rec, func(cur patient.Patient) (patient.Patient, error) {
				next, _ := cur.Deactivate(i.now())
				return next, nil
			})
			if err != nil {
				return applied, nil, fmt.Errorf("deactivate merged patient %s: %w", a.ID, err)
			}
		}
		applied = append(applied, hl7message.Applied{Kind: "patient-deactivated", Reference: "Patient/" + a.ID.String()})
	}
	return applied, nil, nil
}
