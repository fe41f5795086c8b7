package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// orderGroup is one order of an ORM^O01 or OML^O21: its ORC (nil when the
// sender sent OBRs without one), timing (TQ1) and requested tests (OBR).
type orderGroup struct {
	orc, tq1 *hl7v2.Segment
	obrs     []*hl7v2.Segment
}

// orderGroups splits msg into its orders: each ORC opens one, and the TQ1
// and OBR segments after it are its own.
func orderGroups(msg *hl7v2.Message) []*orderGroup {
	var out []*orderGroup
	cur := func() *orderGroup {
		if len(out) == 0 {
			out = append(out, &orderGroup{})
		}
		return out[len(out)-1]
	}
	for _, seg := range msg.Segments {
		switch seg.ID() {
		case "ORC":
			out = append(out, &orderGroup{orc: seg})
		case "TQ1":
			if g := cur(); g.tq1 == nil {
				g.tq1 = seg
			}
		case "OBR":
			g := cur()
			g.obrs = append(g.obrs, seg)
		}
	}
	return out
}

// applyOrders places the orders of an ORM^O01 or OML^O21 for the patient
// PID-3 names (registered: an order never registers anyone), each through
// the same placement as POST /v1/diagnostics/orders. Each order is refused
// on its own, the others placed: a test the catalogue does not hold is
// named at its OBR-4 and left out of its order.
func (i *Ingester) applyOrders(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source) ([]hl7message.Applied, []error, error) {
	pid := msg.First("PID")
	if pid == nil {
		return nil, []error{&hl7v2.Error{Code: hl7v2.SegmentSequenceError, Segment: "PID", Message: "an order names its patient in a PID segment"}}, nil
	}
	ids, _ := personOf(pid, msg.Header)
	p, err := i.match(ctx, ids.Identifiers)
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		return nil, []error{errAt(hl7v2.UnknownKeyIdentifier, pid, "PID", 3, 1,
			"no registered patient has a PID-3 identifier of this message: register the patient (ADT^A04) first")}, nil
	}
	encounterID, unit, errs, err := i.orderEncounter(ctx, msg, p)
	if err != nil || len(errs) > 0 {
		return nil, errs, err
	}
	cat := i.catalogue
	if cat == nil {
		if cat, err = diagnostic.Embedded(); err != nil {
			return nil, nil, fmt.Errorf("test catalogue: %w", err)
		}
	}
	var applied []hl7message.Applied
	groups := orderGroups(msg)
	if len(groups) == 0 {
		return nil, []error{&hl7v2.Error{Code: hl7v2.SegmentSequenceError, Segment: "OBR", Message: "the message orders nothing: no ORC or OBR segment"}}, nil
	}
	for _, g := range groups {
		a, gerrs, err := i.placeOrder(ctx, stored, msg, src, g, p, encounterID, unit, cat)
		if err != nil {
			return applied, errs, err
		}
		applied, errs = append(applied, a...), append(errs, gerrs...)
	}
	return applied, errs, nil
}

// orderEncounter is the encounter PV1-19 names, when it names a visit an
// admission opened here (an order need not be placed during one); it must
// be the patient's and open.
func (i *Ingester) orderEncounter(ctx context.Context, msg *hl7v2.Message, p *patient.Patient) (*encounter.Record, string, []error, error) {
	pv1 := msg.First("PV1")
	v, ok := visitOf(pv1, msg.Header)
	if !ok || i.encounters == nil {
		return nil, "", nil, nil
	}
	rec, err := i.encounters.EncounterByVisit(ctx, v)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return nil, "", nil, nil
	case err != nil:
		return nil, "", nil, err
	case rec.PatientID != p.ID:
		return nil, "", []error{errAt(hl7v2.UnknownKeyIdentifier, pv1, "PV1", 19, 1, "PV1-19 names the visit of another patient than PID-3's")}, nil
	case rec.Status.Closed():
		return nil, "", []error{errAt(hl7v2.UnknownKeyIdentifier, pv1, "PV1", 19, 1,
			"PV1-19 names a visit whose encounter has ended ("+string(rec.Status)+"): no order is placed during it")}, nil
	}
	return &rec, rec.Location, nil, nil
}

// placeOrder places one order of the message: tests from its OBR-4 codes,
// ordered by the practitioner ORC-12 (else OBR-16) names, the sender's
// placer order number (ORC-2, else OBR-2) kept on it. A sender's placer
// number is placed once: sent again (or the message replayed) the order
// placed first is answered.
func (i *Ingester) placeOrder(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source, g *orderGroup,
	p *patient.Patient, enc *encounter.Record, unit string, cat *diagnostic.Catalogue) ([]hl7message.Applied, []error, error) {
	head, headID := g.orc, "ORC"
	if head == nil {
		head, headID = firstOf(g.obrs), "OBR"
	}
	if len(g.obrs) == 0 {
		return nil, []error{errAt(hl7v2.SegmentSequenceError, head, headID, 0, 0, "the order names no test: an ORC needs its OBR")}, nil
	}
	if g.orc != nil {
		if ctl := strings.ToUpper(strings.TrimSpace(g.orc.Field(1).Text())); ctl != "NW" && ctl != "" {
			return nil, []error{errAt(hl7v2.TableValueNotFound, g.orc, "ORC", 1, 0,
				"order control "+ctl+" is not applied: only NW (new order) places an order")}, nil
		}
	}
	placer := placerOf(g.orc.Field(2))
	placerSeg, placerID := g.orc, "ORC"
	if placer.Number == "" {
		placer = placerOf(g.obrs[0].Field(2))
		placerSeg, placerID = g.obrs[0], "OBR"
	}
	if placer.Number == "" {
		return nil, []error{errAt(hl7v2.RequiredFieldMissing, head, headID, 2, 1,
			"ORC-2 and OBR-2 name no placer order number: the engine places an order it can tell again")}, nil
	}
	placer.Sender = stored.Sender
	var errs []error
	// Who ordered: ORC-12, else the OBR-16 of the order's first OBR.
	orderer, named, err := i.practitioner(ctx, g.orc.Field(12), false)
	if err != nil {
		return nil, nil, err
	}
	if orderer == uuid.Nil {
		var n bool
		if orderer, n, err = i.practitioner(ctx, g.obrs[0].Field(16), false); err != nil {
			return nil, nil, err
		}
		named = named || n
	}
	if orderer == uuid.Nil {
		if g.orc != nil {
			return nil, []error{unknownPractitioner(g.orc, "ORC", 12, "ordering provider (nor OBR-16)", named)}, nil
		}
		return nil, []error{unknownPractitioner(g.obrs[0], "OBR", 16, "ordering provider", named)}, nil
	}
	// Tests: each OBR-4, its identifier or its alternate identifier, a
	// code of the catalogue; one it does not hold is left out and named.
	var (
		tests  []string
		testAt []*hl7v2.Segment
	)
	for _, obr := range g.obrs {
		code, ok := testOf(obr.Field(4), cat)
		if !ok {
			what := strings.TrimSpace(obr.Field(4).Comp(1).Text())
			if what == "" {
				errs = append(errs, errAt(hl7v2.RequiredFieldMissing, obr, "OBR", 4, 1, "OBR-4 names no test: not ordered"))
				continue
			}
			errs = append(errs, errAt(hl7v2.TableValueNotFound, obr, "OBR", 4, 1,
				"OBR-4 "+what+" is not a test, panel or imaging procedure of catalogue "+cat.Version+": not ordered"))
			continue
		}
		tests, testAt = append(tests, code), append(testAt, obr)
	}
	if len(tests) == 0 {
		return nil, errs, nil
	}
	priority, prioritySeg, priorityID, priorityField := priorityOf(g)
	var info string
	for _, obr := range g.obrs {
		if info = strings.TrimSpace(obr.Field(13).Text()); info != "" {
			break
		}
	}
	id, err := i.newID()
	if err != nil {
		return nil, errs, err
	}
	req := diagnostic.Request{ID: id, PatientID: p.ID, Tests: tests, Priority: priority, ClinicalInfo: info,
		OrdererID: orderer, CreatedAt: i.now(), Placer: &placer}
	if enc != nil {
		req.EncounterID = &enc.ID
	}
	r, err := diagnosticflow.NewOrder(req, cat)
	if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
		for _, f := range verr.Fields {
			switch {
			case strings.HasPrefix(f.Field, "tests["):
				n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f.Field, "tests["), "]"))
				seg := testAt[0]
				if n >= 0 && n < len(testAt) {
					seg = testAt[n]
				}
				errs = append(errs, errAt(hl7v2.DataTypeError, seg, "OBR", 4, 1, "OBR-4 "+f.Message))
			case f.Field == "tests":
				errs = append(errs, errAt(hl7v2.DataTypeError, testAt[0], "OBR", 4, 0, "OBR-4: "+f.Message))
			case f.Field == "clinicalInfo":
				errs = append(errs, errAt(hl7v2.RequiredFieldMissing, testAt[0], "OBR", 13, 0, "OBR-13 (relevant clinical information) "+f.Message))
			case f.Field == "priority":
				errs = append(errs, errAt(hl7v2.TableValueNotFound, prioritySeg, priorityID, priorityField, 0, f.Message))
			case strings.HasPrefix(f.Field, "placer."):
				errs = append(errs, errAt(hl7v2.DataTypeError, placerSeg, placerID, 2, 1, "the placer order number "+f.Message))
			default:
				return nil, errs, fmt.Errorf("order %s refused: %s %s", placer.Number, f.Field, f.Message)
			}
		}
		return nil, errs, nil
	}
	if err != nil {
		return nil, errs, err
	}
	in, starts, err := diagnosticflow.Placement(r, unit)
	if err != nil {
		return nil, errs, err
	}
	rec := i.auditRecord(stored, src)
	// The sender's placer number is the key: the same order sent again is
	// the order placed first, whatever else the new message says.
	key := placer.Sender + "|" + placer.Number
	idem := &domain.Idempotency{Scope: "hl7v2 order", Key: key, Hash: sha256.Sum256([]byte(key))}
	placed, replay, err := i.diagnostics.Create(ctx, idem, &rec, r, starts...)
	if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
		return nil, append(errs, errAt(hl7v2.UnknownKeyIdentifier, placerSeg, placerID, 2, 1, "the order cannot be placed: "+describe(verr))), nil
	}
	if err != nil {
		return nil, errs, fmt.Errorf("place order %s: %w", placer.Number, err)
	}
	if !replay {
		i.start(ctx, diagnosticflow.StartOptions(in), diagnosticflow.WorkflowName, in, i.diagnostics.MarkStarted)
	}
	return []hl7message.Applied{{Kind: "diagnostic-order-placed", Reference: "ServiceRequest/" + placed.Order.ID.String()}}, errs, nil
}

func firstOf(segs []*hl7v2.Segment) *hl7v2.Segment {
	if len(segs) == 0 {
		return nil
	}
	return segs[0]
}

// placerOf reads a placer order number (an EI): its entity identifier and
// namespace.
func placerOf(f hl7v2.Field) diagnostic.Placer {
	return diagnostic.Placer{Number: strings.TrimSpace(f.Comp(1).Text()), Namespace: strings.TrimSpace(f.Comp(2).Text())}
}

// testOf is the catalogue code an OBR-4 (a CE/CWE) names: its identifier,
// else its alternate identifier.
func testOf(f hl7v2.Field, cat *diagnostic.Catalogue) (string, bool) {
	for _, at := range []int{1, 4} {
		code := strings.TrimSpace(f.Comp(at).Text())
		if code == "" {
			continue
		}
		if o, ok := cat.Lookup(code); ok {
			return o.Code, true
		}
	}
	return "", false
}

// priorityOf reads an order's priority from the first of ORC-7 (TQ,
// component 6), TQ1-9 and the first OBR's OBR-27 (TQ, component 6) that
// holds one (HL7 table 0027): S (stat) is stat; A (as soon as possible) and
// T (timing critical) urgent; R (routine) and the others (P preoperative,
// C callback, PRN) routine, as is an order that names none. Senders that
// write the word (Stat, Routine) are read alike.
func priorityOf(g *orderGroup) (diagnostic.Priority, *hl7v2.Segment, string, int) {
	type source struct {
		seg   *hl7v2.Segment
		id    string
		field int
		value string
	}
	obr := firstOf(g.obrs)
	for _, s := range []source{
		{g.orc, "ORC", 7, g.orc.Field(7).Comp(6).Text()},
		{g.tq1, "TQ1", 9, g.tq1.Field(9).Comp(1).Text()},
		{obr, "OBR", 27, obr.Field(27).Comp(6).Text()},
	} {
		switch strings.ToUpper(strings.TrimSpace(s.value)) {
		case "":
			continue
		case "S", "STAT":
			return diagnostic.PriorityStat, s.seg, s.id, s.field
		case "A", "ASAP", "T", "URGENT":
			return diagnostic.PriorityUrgent, s.seg, s.id, s.field
		default:
			return diagnostic.PriorityRoutine, s.seg, s.id, s.field
		}
	}
	return diagnostic.PriorityRoutine, g.orc, "ORC", 7
}
