package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
)

// Observations records results, as the observation service does.
type Observations interface {
	Record(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, o observation.Observation) (uuid.UUID, bool, error)
	PreviousResults(ctx context.Context, obs []observation.Observation) (map[uuid.UUID][]observation.Result, error)
	// Observations reads stored observations, in the order of ids.
	Observations(ctx context.Context, ids []uuid.UUID) ([]observation.Observation, error)
}

// resultGroup is one OBR of an ORU^R01 and the OBX results after it (an
// OBX before any OBR has none).
type resultGroup struct {
	obr *hl7v2.Segment
	obx []*hl7v2.Segment
}

func resultGroups(msg *hl7v2.Message) []*resultGroup {
	var out []*resultGroup
	for _, seg := range msg.Segments {
		switch seg.ID() {
		case "OBR":
			out = append(out, &resultGroup{obr: seg})
		case "OBX":
			if len(out) == 0 {
				out = append(out, &resultGroup{})
			}
			out[len(out)-1].obx = append(out[len(out)-1].obx, seg)
		}
	}
	return out
}

// result is one OBX read as an observation.
type result struct {
	o          observation.Observation
	obx        *hl7v2.Segment
	seq        int
	senderFlag string
}

// applyResults records the OBX results of an ORU^R01 for the patient PID
// names (matched on PID-3; an unknown patient is refused, never created
// from a result). The results of an OBR that names an order placed here
// are recorded on the order (recordOnOrder); the others become the
// patient's observations: each LOINC-coded OBX of value type NM, SN, CE,
// CWE, ST or TX becomes an observation, interpreted against our reference
// ranges (the sender's OBX-7 range when we have none) and delta-checked as
// any other; the sender's abnormal flag (OBX-8) is kept beside ours in what
// the message became. An OBX that is not recorded — not LOINC, a code the
// catalogue does not hold, a value refused — is named with a warning; the
// message is then AE, so the sender sees what was left out.
func (i *Ingester) applyResults(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source) ([]hl7message.Applied, []error, error) {
	if i.observations == nil {
		return nil, nil, errors.New("no observation store to record results in")
	}
	pid := msg.First("PID")
	if pid == nil {
		return nil, []error{&hl7v2.Error{Code: hl7v2.SegmentSequenceError, Segment: "PID", Message: "an ORU^R01 names its patient in a PID segment"}}, nil
	}
	ids, _ := personOf(pid, msg.Header)
	p, err := i.match(ctx, ids.Identifiers)
	if err != nil {
		return nil, nil, err
	}
	if p == nil {
		return nil, []error{&hl7v2.Error{Code: hl7v2.UnknownKeyIdentifier, Segment: "PID", Sequence: 1, Field: 3, Component: 1,
			Message: "no registered patient has a PID-3 identifier of this message: register the patient (ADT^A04) first"}}, nil
	}
	var (
		applied []hl7message.Applied
		errs    []error
	)
	type loose struct {
		obx         *hl7v2.Segment
		defaultTime time.Time
	}
	var rest []loose
	for _, g := range resultGroups(msg) {
		defaultTime := parseHL7Time(g.obr.Field(7).Comp(1).Text())
		order, refused, err := i.orderOf(ctx, g.obr, p)
		if err != nil {
			return applied, errs, err
		}
		if refused != nil {
			errs = append(errs, refused)
			continue
		}
		if order == nil {
			for _, obx := range g.obx {
				rest = append(rest, loose{obx, defaultTime})
			}
			continue
		}
		a, gerrs, err := i.recordOnOrder(ctx, stored, src, g, *order, p, defaultTime)
		applied, errs = append(applied, a...), append(errs, gerrs...)
		if err != nil {
			return applied, errs, err
		}
	}
	warn := func(seq, field int, what string) {
		errs = append(errs, &hl7v2.Error{Code: hl7v2.DataTypeError, Severity: hl7v2.SeverityWarning, Segment: "OBX", Sequence: seq,
			Field: field, Message: what + ": not recorded"})
	}
	// Every OBX read first; the earlier results the delta checks compare
	// with are then read once for the message, as for a batch.
	var results []result
	for _, l := range rest {
		r, problem, err := i.readResult(l.obx, *p, l.defaultTime, observation.Performer{ClientID: "hl7v2:" + stored.Sender}, nil)
		if err != nil {
			return applied, errs, err
		}
		if problem != nil {
			errs = append(errs, problem)
			continue
		}
		results = append(results, r)
	}
	if err := i.withDelta(ctx, p.ID, results); err != nil {
		return applied, errs, err
	}
	for _, r := range results {
		id, problem, err := i.recordResult(ctx, stored, src, r)
		if err != nil {
			return applied, errs, err
		}
		if problem != "" {
			warn(r.seq, 5, problem)
			continue
		}
		applied = append(applied, hl7message.Applied{Kind: "observation-recorded", Reference: "Observation/" + id.String(),
			Flag: string(r.o.Interpretation.Flag), SenderFlag: r.senderFlag})
	}
	if len(applied) == 0 && len(errs) == 0 {
		errs = append(errs, &hl7v2.Error{Code: hl7v2.RequiredFieldMissing, Segment: "OBX", Message: "the message carries no OBX result"})
	}
	return applied, errs, nil
}

// readResult reads one OBX as an observation of patient p by performer,
// based on order when not nil; problem is the warning naming why it cannot
// be recorded.
func (i *Ingester) readResult(obx *hl7v2.Segment, p patient.Patient, defaultTime time.Time, by observation.Performer,
	order *diagnostic.Report) (result, error, error) {
	seq := obx.Sequence()
	warn := func(field int, what string) error {
		return &hl7v2.Error{Code: hl7v2.DataTypeError, Severity: hl7v2.SeverityWarning, Segment: "OBX", Sequence: seq,
			Field: field, Message: what + ": not recorded"}
	}
	in, senderFlag, field, problem := resultInput(obx, p.ID, defaultTime)
	if problem != "" {
		return result{}, warn(field, problem), nil
	}
	if order != nil {
		in.EncounterID = order.Order.EncounterID
	}
	subject, err := observation.SubjectAt(p.Sex, p.BirthDate, in.EffectiveAt)
	if err != nil {
		return result{}, warn(14, "the patient's age at the result cannot be told"), nil
	}
	id, err := i.newID()
	if err != nil {
		return result{}, nil, err
	}
	o, err := observation.New(id, in, subject, by, i.now())
	if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
		return result{}, warn(5, "LOINC "+in.Code+" "+describe(verr)), nil
	}
	if err != nil {
		return result{}, nil, err
	}
	if order != nil {
		// The result names the order it results: the order's read-back
		// callback, not a second critical-value alert, answers a critical one.
		oid := order.Order.ID
		o.BasedOn = &oid
	}
	return result{o: o, obx: obx, seq: seq, senderFlag: senderFlag}, nil, nil
}

// withDelta delta-checks results against the patient's earlier results.
func (i *Ingester) withDelta(ctx context.Context, patientID uuid.UUID, results []result) error {
	if len(results) == 0 {
		return nil
	}
	obs := make([]observation.Observation, len(results))
	for k, r := range results {
		obs[k] = r.o
	}
	previous, err := i.observations.PreviousResults(ctx, obs)
	if err != nil {
		return fmt.Errorf("previous results: %w", err)
	}
	for k := range results {
		results[k].o = results[k].o.WithDelta(previous[patientID])
	}
	return nil
}

// recordResult stores one result as the observation service does; the
// sender's message and OBX name it, so sent again or replayed it is the
// same observation. problem is the store's refusal.
func (i *Ingester) recordResult(ctx context.Context, stored hl7message.Message, src Source, r result) (uuid.UUID, string, error) {
	rec := i.auditRecord(stored, src)
	key := stored.Sender + "|" + stored.ControlID + "|OBX" + strconv.Itoa(r.seq)
	idem := &domain.Idempotency{Scope: "hl7v2", Key: key, Hash: sha256.Sum256([]byte(r.obx.Raw()))}
	id, _, err := i.observations.Record(ctx, idem, &rec, r.o)
	if verr, ok := errors.AsType[*domain.ValidationError](err); ok {
		return uuid.Nil, "LOINC " + r.o.Code + " " + describe(verr), nil
	}
	if err != nil {
		return uuid.Nil, "", fmt.Errorf("record OBX %d: %w", r.seq, err)
	}
	return id, "", nil
}

// resultInput reads one OBX as an observation of patient: its LOINC code
// (OBX-3, or its alternate coding), value by type (OBX-2, OBX-5, units
// OBX-6), reference range (OBX-7), status (OBX-11) and time (OBX-14, else
// the OBR's). The sender's flag is OBX-8. problem says why it cannot be
// recorded, with the field at fault.
func resultInput(obx *hl7v2.Segment, patientID uuid.UUID, defaultTime time.Time) (in observation.Input, senderFlag string, field int, problem string) {
	code := loincOf(obx.Field(3))
	if code == "" {
		return in, "", 3, "OBX-3 is not coded in LOINC (LN)"
	}
	in = observation.Input{PatientID: patientID, Code: code, EffectiveAt: parseHL7Time(obx.Field(14).Comp(1).Text())}
	if in.EffectiveAt.IsZero() {
		in.EffectiveAt = defaultTime
	}
	if in.EffectiveAt.IsZero() {
		return in, "", 14, "neither OBX-14 nor OBR-7 says when the result was taken"
	}
	switch status := strings.ToUpper(obx.Field(11).Text()); status {
	case "P":
		in.Status = observation.StatusPreliminary
	case "", "F", "C", "R", "S":
		in.Status = observation.StatusFinal
	default:
		return in, "", 11, "OBX-11 result status " + status + " is not a result to record"
	}
	value := obx.Field(5)
	unit := strings.TrimSpace(obx.Field(6).Comp(1).Text())
	switch strings.ToUpper(obx.Field(2).Text()) {
	case "NM":
		v, err := strconv.ParseFloat(strings.TrimSpace(value.Text()), 64)
		if err != nil {
			return in, "", 5, "OBX-5 is not a number"
		}
		in.Value = &observation.ValueInput{Value: &v, Unit: unit}
	case "SN":
		// Structured numeric: comparator^num1^separator^num2; a plain
		// number (no comparator, no range) is a value.
		rep := value.Rep(1)
		cmp, sep := strings.TrimSpace(rep.Comp(1).Text()), strings.TrimSpace(rep.Comp(3).Text())
		v, err := strconv.ParseFloat(strings.TrimSpace(rep.Comp(2).Text()), 64)
		if err != nil || (cmp != "" && cmp != "=") || sep != "" {
			return in, "", 5, "OBX-5 is a structured numeric that is not one value (a comparison or a range)"
		}
		in.Value = &observation.ValueInput{Value: &v, Unit: unit}
	case "CE", "CWE":
		c := strings.TrimSpace(value.Comp(1).Text())
		if c == "" {
			return in, "", 5, "OBX-5 names no code"
		}
		in.Value = &observation.ValueInput{Code: c}
	case "ST", "TX", "FT":
		t := strings.TrimSpace(value.Text())
		if t == "" {
			return in, "", 5, "OBX-5 is empty"
		}
		in.Value = &observation.ValueInput{Text: &t}
	default:
		return in, "", 2, "OBX-2 value type " + obx.Field(2).Text() + " is not one the engine records"
	}
	if lo, hi, ok := parseRange(obx.Field(7).Text()); ok && in.Value.Value != nil {
		in.ReferenceRange = &observation.RangeInput{Low: lo, High: hi, Unit: unit}
	}
	return in, strings.TrimSpace(obx.Field(8).Text()), 0, ""
}

// loincOf is the LOINC code of a CE/CWE: its first coding when its system
// (component 3) is LN, else its alternate (components 4 and 6).
func loincOf(f hl7v2.Field) string {
	for _, at := range [][2]int{{1, 3}, {4, 6}} {
		if strings.EqualFold(strings.TrimSpace(f.Comp(at[1]).Text()), "LN") {
			if c := strings.TrimSpace(f.Comp(at[0]).Text()); c != "" {
				return c
			}
		}
	}
	return ""
}

// parseRange reads an OBX-7 range: "3.5-5.1", "<5", ">60".
func parseRange(s string) (lo, hi *float64, ok bool) {
	s = strings.TrimSpace(s)
	num := func(t string) *float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil {
			return nil
		}
		return &v
	}
	switch {
	case strings.HasPrefix(s, "<"):
		hi = num(strings.TrimLeft(s, "<="))
		return nil, hi, hi != nil
	case strings.HasPrefix(s, ">"):
		lo = num(strings.TrimLeft(s, ">="))
		return lo, nil, lo != nil
	}
	a, b, found := strings.Cut(s, "-")
	if !found || a == "" {
		return nil, nil, false
	}
	lo, hi = num(a), num(b)
	return lo, hi, lo != nil && hi != nil
}

// parseHL7Time reads a DTM: YYYYMMDD[HH[MM[SS[.S…]]]][+/-ZZZZ]; UTC when
// no offset is given. The zero time when it cannot be read.
func parseHL7Time(s string) time.Time {
	s = strings.TrimSpace(s)
	zone := time.UTC
	if i := strings.IndexAny(s, "+-"); i >= 8 {
		if off, err := time.Parse("-0700", s[i:]); err == nil {
			zone = off.Location()
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	for _, layout := range []string{"20060102150405", "200601021504", "2006010215", "20060102"} {
		if len(s) == len(layout) {
			if t, err := time.ParseInLocation(layout, s, zone); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// describe is a refusal in one line.
func describe(verr *domain.ValidationError) string {
	var parts []string
	for _, f := range verr.Fields {
		parts = append(parts, f.Field+" "+f.Message)
	}
	return strings.Join(parts, "; ")
}
