package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// orderOf is the order an ORU's OBR results: the order placed here with
// the placer order number OBR-2 names (its namespace, EI-2, matching when
// both name one), else the order whose id (ours) OBR-2 or OBR-3 names.
// Nil when the OBR names no order of ours; refused (a located error) when
// it names one of another patient, or several.
func (i *Ingester) orderOf(ctx context.Context, obr *hl7v2.Segment, p *patient.Patient) (*diagnostic.Report, error, error) {
	if i.diagnostics == nil || obr == nil {
		return nil, nil, nil
	}
	theirs := func(r diagnostic.Report, field int) (*diagnostic.Report, error, error) {
		if r.Order.PatientID != p.ID {
			return nil, errAt(hl7v2.UnknownKeyIdentifier, obr, "OBR", field, 1, fmt.Sprintf("OBR-%d names order %s, of another patient than PID-3's", field, r.Order.ID)), nil
		}
		return &r, nil, nil
	}
	placer := placerOf(obr.Field(2))
	if placer.Number != "" {
		found, err := i.diagnostics.ByPlacer(ctx, placer.Number)
		if err != nil {
			return nil, nil, err
		}
		var match []diagnostic.Report
		for _, r := range found {
			ns := r.Order.Placer.Namespace
			if ns == "" || placer.Namespace == "" || strings.EqualFold(ns, placer.Namespace) {
				match = append(match, r)
			}
		}
		if len(match) > 1 {
			// Two senders used the number: the patient's order, if one.
			var mine []diagnostic.Report
			for _, r := range match {
				if r.Order.PatientID == p.ID {
					mine = append(mine, r)
				}
			}
			if len(mine) != 1 {
				return nil, errAt(hl7v2.DuplicateKeyIdentifier, obr, "OBR", 2, 1, "OBR-2 placer order number "+placer.Number+
					" names several orders placed here: name the order by its namespace (EI-2)"), nil
			}
			match = mine
		}
		if len(match) == 1 {
			return theirs(match[0], 2)
		}
	}
	for _, field := range []int{2, 3} {
		id, err := uuid.Parse(strings.TrimSpace(obr.Field(field).Comp(1).Text()))
		if err != nil {
			continue
		}
		r, err := i.diagnostics.Get(ctx, id)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			continue
		case err != nil:
			return nil, nil, err
		}
		return theirs(r, field)
	}
	return nil, nil, nil
}

// diagnosticRefusals are the diagnostic workflow's refusals a sender is
// told of.
var diagnosticRefusals = []string{diagnosticflow.RefusedInvalidTransition, diagnosticflow.RefusedInvalidArgument,
	diagnosticflow.RefusedNotRecorded}

// recordOnOrder records an OBR's results on order r as POST
// /v1/diagnostics/orders/{id}/results does: each OBX read as an
// observation of the order's patient and encounter, delta-checked, checked
// against the report as it stands (the tests ordered, the tube received)
// before anything is stored, stored through the observation service (an
// OBX the report refuses is named and not stored), and the report then
// takes them through the record-results Update, which raises the
// critical-value callbacks and alerts. It acts as the responsible observer
// of the first OBX-16 naming a practitioner we know, else as the principal
// result interpreter OBR-32 names; neither refuses the OBR. Sent again or
// replayed, each OBX is the observation it became first, which the report
// holds already.
func (i *Ingester) recordOnOrder(ctx context.Context, stored hl7message.Message, src Source, g *resultGroup, r diagnostic.Report,
	p *patient.Patient, defaultTime time.Time) ([]hl7message.Applied, []error, error) {
	if i.workflows == nil {
		return nil, nil, errors.New("no Temporal client to record the results of order " + r.Order.ID.String() + " with")
	}
	var (
		by       uuid.UUID
		namedOBX *hl7v2.Segment
	)
	for _, obx := range g.obx {
		who, named, err := i.practitioner(ctx, obx.Field(16), false)
		if err != nil {
			return nil, nil, err
		}
		if named && namedOBX == nil {
			namedOBX = obx
		}
		if who != uuid.Nil {
			by = who
			break
		}
	}
	if by == uuid.Nil {
		who, named, err := i.practitioner(ctx, g.obr.Field(32), true)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case who != uuid.Nil:
			by = who
		case namedOBX != nil && !named:
			return nil, []error{unknownPractitioner(namedOBX, "OBX", 16, "responsible observer", true)}, nil
		default:
			return nil, []error{unknownPractitioner(g.obr, "OBR", 32, "principal result interpreter (nor any OBX-16 a responsible observer)", named)}, nil
		}
	}
	var (
		errs    []error
		results []result
	)
	performer := observation.Performer{PractitionerID: &by, ClientID: "hl7v2:" + stored.Sender}
	for _, obx := range g.obx {
		res, problem, err := i.readResult(obx, *p, defaultTime, performer, &r)
		if err != nil {
			return nil, errs, err
		}
		if problem != nil {
			errs = append(errs, problem)
			continue
		}
		results = append(results, res)
	}
	if err := i.withDelta(ctx, p.ID, results); err != nil {
		return nil, errs, err
	}
	// The report as it stands takes each result, or says why not.
	next, now := r, i.now().UTC()
	var kept []result
	for _, res := range results {
		after, err := next.Record(res.o, now)
		if err != nil {
			errs = append(errs, errAt(hl7v2.DataTypeError, res.obx, "OBX", 3, 1, "not recorded on order "+r.Order.ID.String()+": "+
				strings.TrimPrefix(strings.TrimPrefix(err.Error(), diagnostic.ErrInvalidArgument.Error()+": "), diagnostic.ErrInvalidTransition.Error()+": ")))
			continue
		}
		next, kept = after, append(kept, res)
	}
	if len(kept) == 0 {
		if len(g.obx) == 0 {
			errs = append(errs, errAt(hl7v2.RequiredFieldMissing, g.obr, "OBR", 2, 1, "the results of order "+r.Order.ID.String()+" carry no OBX"))
		}
		return nil, errs, nil
	}
	var (
		ids     []uuid.UUID
		applied []hl7message.Applied
	)
	for _, res := range kept {
		id, problem, err := i.recordResult(ctx, stored, src, res)
		if err != nil {
			return nil, errs, err
		}
		if problem != "" {
			errs = append(errs, &hl7v2.Error{Code: hl7v2.DataTypeError, Severity: hl7v2.SeverityWarning, Segment: "OBX", Sequence: res.seq,
				Field: 5, Message: problem + ": not recorded"})
			continue
		}
		ids = append(ids, id)
		applied = append(applied, hl7message.Applied{Kind: "observation-recorded", Reference: "Observation/" + id.String(),
			Flag: string(res.o.Interpretation.Flag), SenderFlag: res.senderFlag})
	}
	if len(ids) == 0 {
		return nil, errs, nil
	}
	// The report takes the observations as stored: the first ones, for a
	// message sent again or replayed.
	obs, err := i.observations.Observations(ctx, ids)
	if err != nil {
		return nil, errs, fmt.Errorf("read the recorded results: %w", err)
	}
	req := &diagnosticflow.RecordResultsRequest{Observations: obs}
	req.SetActor(by)
	var state diagnosticflow.State
	err = i.update(ctx, diagnosticflow.WorkflowID(r.Order.ID), req.UpdateName(), req, &state)
	if why, ok := refusedBy(err, diagnosticRefusals...); ok {
		return nil, append(errs, errAt(hl7v2.ApplicationInternalError, g.obr, "OBR", 2, 1,
			"the results of order "+r.Order.ID.String()+" are stored as observations, and the report refused them: "+why)), nil
	}
	if err != nil {
		return nil, errs, fmt.Errorf("record the results of order %s: %w", r.Order.ID, err)
	}
	applied = append(applied, hl7message.Applied{Kind: "diagnostic-results-recorded", Reference: "DiagnosticReport/" + r.Order.ID.String()})
	return applied, errs, nil
}
