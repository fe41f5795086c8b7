package observation

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// This file holds what the observation store keeps: the recorded
// observation, version by version (New, Amend, Void, NewBatch), the NEWS2
// scores computed from observations, the SpO2 scale a clinician chose for a
// patient, and the events their writes publish.

// Status is an observation's FHIR R4 ObservationStatus
// (http://hl7.org/fhir/ValueSet/observation-status), the subset the engine uses.
type Status string

// The statuses. A new observation is preliminary or final; a later version is
// amended or corrected, or entered-in-error when it is withdrawn.
const (
	StatusPreliminary    Status = "preliminary"
	StatusFinal          Status = "final"
	StatusAmended        Status = "amended"
	StatusCorrected      Status = "corrected"
	StatusEnteredInError Status = "entered-in-error"
)

// Statuses lists every status, for validation.
var Statuses = []Status{StatusPreliminary, StatusFinal, StatusAmended, StatusCorrected, StatusEnteredInError}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// KindString is a free-text value. No catalogued code takes one today.
const KindString ValueKind = "string"

// Limits of what one observation holds; they keep its event far below
// outbox.MaxEventBytes, so an observation event is never cut to a reference.
const (
	// MaxFuture is how far past the caller's clock effectiveAt and issued may
	// lie, for clocks that drift.
	MaxFuture = 5 * time.Minute
	// MaxTextLen bounds method and device, in characters.
	MaxTextLen = 200
	// MaxValueTextLen bounds a string value, in characters.
	MaxValueTextLen = 2000
	// MaxReasonLen bounds the reason of an amendment or a withdrawal, in characters.
	MaxReasonLen = 2000
	// MaxBatch is the most observations one batch may hold.
	MaxBatch = 10_000
)

// earliestEffective bounds effectiveAt from below: nothing the engine
// charts was measured before 1900, and a typo such as year 0202 is caught.
var earliestEffective = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	// ErrEnteredInError refuses to change an observation withdrawn as entered
	// in error: it is a domain.ErrConflict.
	ErrEnteredInError = fmt.Errorf("the observation was entered in error and cannot change: %w", domain.ErrConflict)
	// ErrStale means another version was written since the one an amendment or
	// withdrawal was made from. It is both a domain.ErrVersionMismatch (the
	// API answers 412, as for a stale If-Match) and a domain.ErrConflict.
	ErrStale = fmt.Errorf("the observation changed since it was read: %w, %w", domain.ErrVersionMismatch, domain.ErrConflict)
	// ErrUnknownPatient is what a NewBatch patient lookup returns for an id
	// it does not know; the item is refused on its patientId.
	ErrUnknownPatient = errors.New("is not a registered patient")
	// ErrNoPerformer means the caller passed a performer without a client id:
	// the API fills the performer from the token, so this is a bug, not a
	// bad request.
	ErrNoPerformer = errors.New("observation: the performer names no client")
)

// Performer is who wrote one version of an observation, taken from the
// caller's token by the API and never from the request body: the client,
// and the practitioner it spoke for. Asserted marks a practitioner named by
// a machine client (X-On-Behalf-Of) rather than proven by a sign-in.
type Performer struct {
	PractitionerID *uuid.UUID `json:"practitionerId,omitempty"`
	ClientID       string     `json:"clientId"`
	Asserted       bool       `json:"asserted,omitempty"`
}

// ValueInput is a value as the request body carries it: a quantity (value
// with its unit), a coded answer (code), a text or a boolean — exactly one.
type ValueInput struct {
	Value   *float64 `json:"value,omitempty"`
	Unit    string   `json:"unit,omitempty"`
	Code    string   `json:"code,omitempty"`
	Text    *string  `json:"text,omitempty"`
	Boolean *bool    `json:"boolean,omitempty"`
}

// ComponentInput is one component of a panel as the body carries it: the
// component's code and its quantity.
type ComponentInput struct {
	Code  string   `json:"code"`
	Value *float64 `json:"value"`
	Unit  string   `json:"unit"`
}

// RangeInput is the reference range a laboratory reported with its result
// (HL7 v2 OBX-7), in any unit the code accepts; it replaces the catalogue's
// range for this result. The catalogue's critical limits still apply.
type RangeInput struct {
	Low  *float64 `json:"low,omitempty"`
	High *float64 `json:"high,omitempty"`
	Unit string   `json:"unit,omitempty"`
}

// Input is an observation as the request body carries it. Field names in
// refusals are its JSON names: patientId, code, value.value, value.unit,
// components[0].value, effectiveAt …
type Input struct {
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	// Category may be omitted; when given it must be the code's.
	Category Category `json:"category,omitempty"`
	Code     string   `json:"code"`
	// Value is required unless the code is a panel, which takes Components instead.
	Value      *ValueInput      `json:"value,omitempty"`
	Components []ComponentInput `json:"components,omitempty"`
	// EffectiveAt is when the value was true of the patient (taken, or the
	// specimen collected).
	EffectiveAt time.Time `json:"effectiveAt"`
	// Issued is when the result was made available; the time it is recorded
	// when omitted.
	Issued *time.Time `json:"issued,omitempty"`
	// Status is preliminary or final on New (final when omitted), amended or
	// corrected on Amend (amended when omitted).
	Status         Status      `json:"status,omitempty"`
	Method         string      `json:"method,omitempty"`
	Device         string      `json:"device,omitempty"`
	ReferenceRange *RangeInput `json:"referenceRange,omitempty"`
}

// QuantityValue is a quantity as it was sent, and the same quantity in the
// code's canonical unit (see Canonical), which every query and rule uses.
type QuantityValue struct {
	Value     float64  `json:"value"`
	Unit      string   `json:"unit"`
	Canonical Quantity `json:"canonical"`
}

// Coding is a coded answer.
type Coding struct {
	Code    string `json:"code"`
	Display string `json:"display"`
}

// Value is an observation's value: Kind says which one field is set.
type Value struct {
	Kind     ValueKind      `json:"kind"`
	Quantity *QuantityValue `json:"quantity,omitempty"`
	Coding   *Coding        `json:"coding,omitempty"`
	Text     string         `json:"text,omitempty"`
	Boolean  *bool          `json:"boolean,omitempty"`
}

// ComponentValue is one component of a panel, with its own interpretation.
type ComponentValue struct {
	Code           string         `json:"code"`
	Display        string         `json:"display"`
	Value          QuantityValue  `json:"value"`
	Interpretation Interpretation `json:"interpretation"`
}

// Observation is one version of a recorded observation. Versions are never
// overwritten: an amendment or a withdrawal is a new version with the same
// ID and the next Version, and the store keeps them all.
type Observation struct {
	ID          uuid.UUID  `json:"id"`
	Version     int        `json:"version"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	// BasedOn is the diagnostic order (FHIR ServiceRequest) this observation
	// results, when it was recorded through the diagnostic service; nil
	// otherwise. The observation routes never take it from a request body.
	BasedOn  *uuid.UUID `json:"basedOn,omitempty"`
	Category Category   `json:"category"`
	Code     string     `json:"code"`
	Display  string     `json:"display"`
	// Value is nil for a panel, whose values are its Components.
	Value       *Value           `json:"value,omitempty"`
	Components  []ComponentValue `json:"components,omitempty"`
	EffectiveAt time.Time        `json:"effectiveAt"`
	Issued      time.Time        `json:"issued"`
	// Performer is who wrote this version.
	Performer Performer `json:"performer"`
	Method    string    `json:"method,omitempty"`
	Device    string    `json:"device,omitempty"`
	Status    Status    `json:"status"`
	// Subject is the sex and age the value was interpreted for.
	Subject Subject `json:"subject"`
	// Interpretation is the value's flag with the ranges it was judged
	// against; a panel's is its worst component's.
	Interpretation Interpretation `json:"interpretation"`
	// DeltaFlags are the delta rules the value met against the patient's
	// earlier results (see WithDelta).
	DeltaFlags []DeltaFlag `json:"deltaFlags,omitempty"`
	// Reason says why this version amends or withdraws the previous one.
	Reason     string    `json:"reason,omitempty"`
	RecordedAt time.Time `json:"recordedAt"`
}

// Critical reports whether the value (or a component's) is beyond a critical
// limit: the observation.critical event and an alert follow.
func (o Observation) Critical() bool { return o.Interpretation.Flag.Critical() }

// InForce reports whether the observation counts clinically: every status but
// entered-in-error.
func (o Observation) InForce() bool { return o.Status != StatusEnteredInError }

// QuantityOf returns the quantity of code the observation carries: its own
// value, or the panel component of that code.
func (o Observation) QuantityOf(code string) (QuantityValue, bool) {
	if o.Code == code && o.Value != nil && o.Value.Quantity != nil {
		return *o.Value.Quantity, true
	}
	for _, c := range o.Components {
		if c.Code == code {
			return c.Value, true
		}
	}
	return QuantityValue{}, false
}

// Results returns every quantity the observation carries, canonical, as the
// delta rules and trends read them: its value, or each component's.
func (o Observation) Results() []Result {
	if o.Value != nil && o.Value.Quantity != nil {
		return []Result{{ID: o.ID, Code: o.Code, Value: o.Value.Quantity.Canonical.Value, Time: o.EffectiveAt}}
	}
	var out []Result
	for _, c := range o.Components {
		out = append(out, Result{ID: o.ID, Code: c.Code, Value: c.Value.Canonical.Value, Time: o.EffectiveAt})
	}
	return out
}

// Readings returns the NEWS2 readings the observation carries (see
// ParameterOf): its value when its code feeds NEWS2, and a blood pressure
// panel's systolic component. An observation entered in error carries none.
func (o Observation) Readings() []Reading {
	if !o.InForce() {
		return nil
	}
	var out []Reading
	if _, ok := ParameterOf(o.Code); ok && o.Value != nil {
		r := Reading{Code: o.Code, Time: o.EffectiveAt, SourceID: o.ID}
		switch {
		case o.Value.Quantity != nil:
			r.Value = o.Value.Quantity.Canonical.Value
		case o.Value.Coding != nil:
			r.Answer = o.Value.Coding.Code
		}
		out = append(out, r)
	}
	for _, c := range o.Components {
		if _, ok := ParameterOf(c.Code); ok {
			out = append(out, Reading{Code: c.Code, Value: c.Value.Canonical.Value, Time: o.EffectiveAt, SourceID: o.ID})
		}
	}
	return out
}

// WithDelta returns o with the delta rules its values meet against the
// patient's earlier results of the same codes (see Delta; fetch them with
// the store's Previous over DeltaLookback(code)).
func (o Observation) WithDelta(previous []Result) Observation {
	var flags []DeltaFlag
	for _, r := range o.Results() {
		flags = append(flags, Delta(r, previous)...)
	}
	o.DeltaFlags = flags
	return o
}

// DeltaLookback is how far before a result of code its delta rules look:
// 7 days for creatinine (KDIGO), 24 hours for haemoglobin, else the code's
// implausible-change window; 0 when no rule applies.
func DeltaLookback(code string) time.Duration {
	var window time.Duration
	switch code {
	case CodeCreatinine:
		window = akiRelativeWindow
	case CodeHaemoglobin:
		window = hbDropWindow
	}
	if d, ok := byCode[code]; ok && d.Delta != nil {
		window = max(window, d.Delta.Window)
	}
	return window
}

// PanelsWith returns the panel codes that have code as a component (the
// blood pressure panel for 8480-6 and 8462-4): queries for a component code
// also read the panels that hold it.
func PanelsWith(code string) []string {
	var out []string
	for _, d := range catalogue {
		if d.Kind == KindPanel && slices.Contains(d.Components, code) {
			out = append(out, d.Code)
		}
	}
	return out
}

// NEWS2Codes returns every code ParameterOf knows, in catalogue order. A
// panel holding one of them (the blood pressure panel, see PanelsWith) feeds
// NEWS2 through that component.
func NEWS2Codes() []string {
	var out []string
	for _, d := range catalogue {
		if _, ok := ParameterOf(d.Code); ok {
			out = append(out, d.Code)
		}
	}
	return out
}

// Demographics are what interpretation needs to know of a patient: the
// administrative sex and the birth date (YYYY-MM-DD).
type Demographics struct {
	Sex       string
	BirthDate string
}

// SubjectAt is SubjectAt for an observation effective at: an effective time
// before the birth date is refused on effectiveAt; no effective time gives the
// zero subject (New refuses it); a birth date that does not parse is an error
// of the patient record, not of the request.
func (d Demographics) SubjectAt(at time.Time) (Subject, error) {
	if at.IsZero() {
		return Subject{}, nil
	}
	s, err := SubjectAt(d.Sex, d.BirthDate, at)
	switch {
	case errors.Is(err, errBornLater):
		return Subject{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "effectiveAt", Message: "is before the patient's birth date"}}}
	case err != nil:
		return Subject{}, fmt.Errorf("patient birth date %q: %w", d.BirthDate, err)
	}
	return s, nil
}

// New validates in and returns version 1 of a new observation with id,
// interpreted for s (see SubjectAt, Demographics.SubjectAt) and written by
// by at now. Every bad field is reported at once in a *domain.ValidationError
// naming the body's fields: the code must be in the catalogue, the value of
// its kind, a quantity in a unit the code accepts (converted to the
// canonical one) and possible, effectiveAt given and at most MaxFuture ahead
// of now, status preliminary or final. DeltaFlags are left for WithDelta.
func New(id uuid.UUID, in Input, s Subject, by Performer, now time.Time) (Observation, error) {
	if id == uuid.Nil {
		return Observation{}, errors.New("observation: no id")
	}
	if by.ClientID == "" {
		return Observation{}, ErrNoPerformer
	}
	problems := &domain.ValidationError{}
	status := in.Status
	if status == "" {
		status = StatusFinal
	}
	if status != StatusPreliminary && status != StatusFinal {
		problems.Add("status", "must be preliminary or final when recording; amend a recorded observation to change it")
	}
	o := build(in, s, now, problems)
	if err := problems.OrNil(); err != nil {
		return Observation{}, err
	}
	o.ID, o.Version, o.Status, o.Performer = id, 1, status, by.normal()
	return o, nil
}

// Amend returns the next version of prev with the content of in, interpreted
// for s, written by by at now: status amended (when in.Status is empty) or
// corrected, and the reason, which is required. patientId, code and
// encounterId may be omitted to keep prev's; patientId and code cannot
// change (enter the observation in error and record a new one instead);
// BasedOn is prev's (the diagnostic order a result answers does not change
// with it). An observation entered in error cannot be amended
// (ErrEnteredInError). DeltaFlags are left for WithDelta.
func Amend(prev Observation, in Input, s Subject, reason string, by Performer, now time.Time) (Observation, error) {
	if err := checkPrevious(prev, by); err != nil {
		return Observation{}, err
	}
	problems := &domain.ValidationError{}
	status := in.Status
	if status == "" {
		status = StatusAmended
	}
	if status != StatusAmended && status != StatusCorrected {
		problems.Add("status", "must be amended or corrected")
	}
	reason = checkReason(reason, problems)
	switch {
	case in.PatientID == uuid.Nil:
		in.PatientID = prev.PatientID
	case in.PatientID != prev.PatientID:
		problems.Add("patientId", "cannot change: enter this observation in error and record it for the right patient")
	}
	switch {
	case in.Code == "":
		in.Code = prev.Code
	case in.Code != prev.Code:
		problems.Add("code", "cannot change: enter this observation in error and record a new one")
	}
	if in.EncounterID == nil {
		in.EncounterID = prev.EncounterID
	}
	o := build(in, s, now, problems)
	if err := problems.OrNil(); err != nil {
		return Observation{}, err
	}
	o.ID, o.Version, o.Status, o.Performer, o.Reason = prev.ID, prev.Version+1, status, by.normal(), reason
	if prev.BasedOn != nil {
		order := *prev.BasedOn
		o.BasedOn = &order
	}
	return o, nil
}

// Void returns the next version of prev, withdrawn as entered in error by by
// at now for reason, which is required. The content stays as it was, so the
// history shows what was withdrawn; queries of values and NEWS2 skip it.
func Void(prev Observation, reason string, by Performer, now time.Time) (Observation, error) {
	if err := checkPrevious(prev, by); err != nil {
		return Observation{}, err
	}
	problems := &domain.ValidationError{}
	reason = checkReason(reason, problems)
	if err := problems.OrNil(); err != nil {
		return Observation{}, err
	}
	now = storedTime(now)
	o := prev
	o.Components = slices.Clone(prev.Components)
	o.DeltaFlags = slices.Clone(prev.DeltaFlags)
	o.Version, o.Status, o.Reason, o.Performer = prev.Version+1, StatusEnteredInError, reason, by.normal()
	o.Issued, o.RecordedAt = now, now
	return o, nil
}

// NewBatch validates a batch of inputs, giving the i-th the id ids[i], and
// returns the observations in order, or one *domain.ValidationError naming
// every bad field of every item as items[<index>].<field>. patient looks up
// a patient's demographics (ErrUnknownPatient for an id it does not know,
// refused on items[i].patientId); any other error it returns aborts the
// batch. A batch holds 1 to MaxBatch items.
func NewBatch(ids []uuid.UUID, inputs []Input, patient func(uuid.UUID) (Demographics, error), by Performer, now time.Time) ([]Observation, error) {
	if len(ids) != len(inputs) {
		return nil, fmt.Errorf("observation: %d ids for %d inputs", len(ids), len(inputs))
	}
	problems := &domain.ValidationError{}
	switch {
	case len(inputs) == 0:
		problems.Add("items", "must hold at least one observation")
	case len(inputs) > MaxBatch:
		problems.Add("items", "must hold at most "+strconv.Itoa(MaxBatch)+" observations")
	}
	if err := problems.OrNil(); err != nil {
		return nil, err
	}
	out := make([]Observation, 0, len(inputs))
	for i, in := range inputs {
		var s Subject
		if in.PatientID != uuid.Nil {
			d, err := patient(in.PatientID)
			switch {
			case errors.Is(err, ErrUnknownPatient):
				problems.Add(itemField(i, "patientId"), ErrUnknownPatient.Error())
			case err != nil:
				return nil, fmt.Errorf("observation batch item %d: %w", i, err)
			default:
				if s, err = d.SubjectAt(in.EffectiveAt); err != nil && !addIndexed(problems, i, err) {
					return nil, fmt.Errorf("observation batch item %d: %w", i, err)
				}
			}
		}
		o, err := New(ids[i], in, s, by, now)
		if err != nil {
			if !addIndexed(problems, i, err) {
				return nil, fmt.Errorf("observation batch item %d: %w", i, err)
			}
			continue
		}
		out = append(out, o)
	}
	if err := problems.OrNil(); err != nil {
		return nil, err
	}
	return out, nil
}

// IndexedError returns err with each field of a *domain.ValidationError
// prefixed items[<index>]., as a batch reports it; any other error as it is.
func IndexedError(index int, err error) error {
	problems := &domain.ValidationError{}
	if !addIndexed(problems, index, err) {
		return err
	}
	return problems
}

// addIndexed appends the fields of err, a *domain.ValidationError, to
// problems under items[index]; false when err is not one.
func addIndexed(problems *domain.ValidationError, index int, err error) bool {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return false
	}
	for _, f := range verr.Fields {
		problems.Add(itemField(index, f.Field), f.Message)
	}
	return true
}

func itemField(index int, field string) string {
	return "items[" + strconv.Itoa(index) + "]." + field
}

// checkPrevious refuses to build on a version that is not one or that is
// entered in error, and a performer without a client.
func checkPrevious(prev Observation, by Performer) error {
	switch {
	case prev.ID == uuid.Nil || prev.Version < 1:
		return errors.New("observation: the previous version is not a stored observation")
	case by.ClientID == "":
		return ErrNoPerformer
	case prev.Status == StatusEnteredInError:
		return ErrEnteredInError
	}
	return nil
}

// checkReason trims the reason of an amendment or withdrawal and checks it.
func checkReason(reason string, problems *domain.ValidationError) string {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		problems.Add("reason", "is required: say what was wrong with the previous version")
	case utf8.RuneCountInString(reason) > MaxReasonLen:
		problems.Add("reason", "must be at most "+strconv.Itoa(MaxReasonLen)+" characters")
	}
	return reason
}

// normal returns the performer with a nil practitioner for the nil UUID.
func (p Performer) normal() Performer {
	if p.PractitionerID != nil {
		if *p.PractitionerID == uuid.Nil {
			p.PractitionerID = nil
		} else {
			id := *p.PractitionerID
			p.PractitionerID = &id
		}
	}
	return p
}

// storedTime is t in UTC at the microsecond precision PostgreSQL keeps, so
// an observation reads back equal to what was written.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// build checks the content of in and returns the observation it describes,
// without identity, status or performer, adding every problem found.
func build(in Input, s Subject, now time.Time, problems *domain.ValidationError) Observation {
	now = storedTime(now)
	o := Observation{PatientID: in.PatientID, Subject: s, RecordedAt: now, Issued: now,
		Method: strings.TrimSpace(in.Method), Device: strings.TrimSpace(in.Device)}
	if in.PatientID == uuid.Nil {
		problems.Add("patientId", "is required")
	}
	if in.EncounterID != nil {
		if *in.EncounterID == uuid.Nil {
			problems.Add("encounterId", "must be an encounter id")
		} else {
			id := *in.EncounterID
			o.EncounterID = &id
		}
	}
	checkTimes(in, now, &o, problems)
	for _, f := range []struct{ name, value string }{{"method", o.Method}, {"device", o.Device}} {
		if utf8.RuneCountInString(f.value) > MaxTextLen {
			problems.Add(f.name, "must be at most "+strconv.Itoa(MaxTextLen)+" characters")
		}
	}
	d, ok := byCode[in.Code]
	switch {
	case in.Code == "":
		problems.Add("code", "is required")
		return o
	case !ok:
		problems.Add("code", "LOINC "+strconv.Quote(in.Code)+" is not in the observation catalogue")
		return o
	}
	o.Code, o.Display, o.Category = d.Code, d.Display, d.Category
	if in.Category != "" && in.Category != d.Category {
		problems.Add("category", d.Display+" ("+d.Code+") is "+string(d.Category)+", not "+string(in.Category))
	}
	if d.Kind == KindPanel {
		o.Components, o.Interpretation = readComponents(d, in, s, problems)
		return o
	}
	if len(in.Components) > 0 {
		problems.Add("components", "only a panel has components: "+d.Display+" ("+d.Code+") takes a "+string(d.Kind)+" value")
	}
	o.Value, o.Interpretation = readValue(d, in, s, problems)
	return o
}

// checkTimes checks effectiveAt and issued and sets them on o.
func checkTimes(in Input, now time.Time, o *Observation, problems *domain.ValidationError) {
	latest := now.Add(MaxFuture)
	switch eff := in.EffectiveAt; {
	case eff.IsZero():
		problems.Add("effectiveAt", "is required")
	case eff.After(latest):
		problems.Add("effectiveAt", "is more than 5 minutes in the future: "+eff.UTC().Format(time.RFC3339))
	case eff.Before(earliestEffective):
		problems.Add("effectiveAt", "is before 1900: "+eff.UTC().Format(time.RFC3339))
	default:
		o.EffectiveAt = storedTime(eff)
	}
	if in.Issued == nil {
		return
	}
	switch iss := *in.Issued; {
	case iss.After(latest):
		problems.Add("issued", "is more than 5 minutes in the future: "+iss.UTC().Format(time.RFC3339))
	case !in.EffectiveAt.IsZero() && iss.Before(in.EffectiveAt):
		problems.Add("issued", "is before effectiveAt: a result is issued after it is taken")
	default:
		o.Issued = storedTime(iss)
	}
}

// readValue checks the value of a code that is not a panel and interprets it.
func readValue(d *Definition, in Input, s Subject, problems *domain.ValidationError) (*Value, Interpretation) {
	v := in.Value
	if v == nil {
		problems.Add("value", "is required: "+d.Display+" ("+d.Code+") takes a "+string(d.Kind)+" value")
		return nil, Interpretation{}
	}
	given := givenKinds(*v)
	switch {
	case len(given) == 0:
		problems.Add("value", "is empty: "+d.Display+" ("+d.Code+") takes a "+string(d.Kind)+" value")
		return nil, Interpretation{}
	case len(given) > 1:
		problems.Add("value", "give one of value with unit, code, text or boolean, not several")
		return nil, Interpretation{}
	case given[0] != d.Kind:
		problems.Add("value", d.Display+" ("+d.Code+") takes a "+string(d.Kind)+" value, not a "+string(given[0]))
		return nil, Interpretation{}
	}
	if in.ReferenceRange != nil && d.Kind != KindQuantity {
		problems.Add("referenceRange", "only a quantity has a reference range")
	}
	switch d.Kind {
	case KindQuantity:
		q, ok := readQuantity(d.Code, v.Value, v.Unit, "value", problems)
		if !ok {
			return nil, Interpretation{}
		}
		interp, ok := interpretQuantity(d.Code, q.Canonical.Value, s, in.ReferenceRange, problems)
		if !ok {
			return nil, Interpretation{}
		}
		return &Value{Kind: KindQuantity, Quantity: &q}, interp
	case KindCoded:
		a, err := CheckAnswer(d.Code, v.Code)
		if err != nil {
			addValueError(problems, "value", err)
			return nil, Interpretation{}
		}
		interp, _ := InterpretAnswer(d.Code, a.Code)
		return &Value{Kind: KindCoded, Coding: &Coding{Code: a.Code, Display: a.Display}}, interp
	case KindString:
		text := strings.TrimSpace(*v.Text)
		switch {
		case text == "":
			problems.Add("value.text", "is required")
		case utf8.RuneCountInString(text) > MaxValueTextLen:
			problems.Add("value.text", "must be at most "+strconv.Itoa(MaxValueTextLen)+" characters")
		default:
			return &Value{Kind: KindString, Text: text}, Interpretation{}
		}
		return nil, Interpretation{}
	default: // KindBoolean
		b := *v.Boolean
		return &Value{Kind: KindBoolean, Boolean: &b}, Interpretation{}
	}
}

// givenKinds names the kinds of value v holds.
func givenKinds(v ValueInput) []ValueKind {
	var kinds []ValueKind
	if v.Value != nil || v.Unit != "" {
		kinds = append(kinds, KindQuantity)
	}
	if v.Code != "" {
		kinds = append(kinds, KindCoded)
	}
	if v.Text != nil {
		kinds = append(kinds, KindString)
	}
	if v.Boolean != nil {
		kinds = append(kinds, KindBoolean)
	}
	return kinds
}

// readQuantity converts a quantity of code to its canonical unit; field is
// the body path of the quantity (value, components[0]).
func readQuantity(code string, value *float64, unit, field string, problems *domain.ValidationError) (QuantityValue, bool) {
	if value == nil {
		problems.Add(field+".value", "is required")
		return QuantityValue{}, false
	}
	unit = strings.TrimSpace(unit)
	c, err := Canonical(code, Quantity{Value: *value, Unit: unit})
	if err != nil {
		addValueError(problems, field, err)
		return QuantityValue{}, false
	}
	return QuantityValue{Value: *value, Unit: unit, Canonical: c}, true
}

// interpretQuantity interprets a canonical value against the catalogue's
// ranges, or against the range the laboratory reported; false when the
// reported range is refused.
func interpretQuantity(code string, value float64, s Subject, reported *RangeInput, problems *domain.ValidationError) (Interpretation, bool) {
	var (
		interp Interpretation
		err    error
	)
	if reported == nil {
		interp, err = InterpretQuantity(code, value, s)
	} else {
		low, high := reported.Low, reported.High
		finite := func(p *float64) bool { return p == nil || !(math.IsNaN(*p) || math.IsInf(*p, 0)) }
		switch {
		case low == nil && high == nil:
			problems.Add("referenceRange", "give low, high or both")
			return Interpretation{}, false
		case !finite(low):
			problems.Add("referenceRange.low", "must be a finite number")
			return Interpretation{}, false
		case !finite(high):
			problems.Add("referenceRange.high", "must be a finite number")
			return Interpretation{}, false
		case low != nil && high != nil && *low > *high:
			problems.Add("referenceRange", "low is above high")
			return Interpretation{}, false
		}
		unit := strings.TrimSpace(reported.Unit)
		if unit == "" {
			unit = byCode[code].Unit
		}
		interp, err = InterpretReported(code, value, s, Range{Sex: SexAny, Low: copyLimit(low), High: copyLimit(high), Unit: unit})
	}
	if err != nil {
		addValueError(problems, "value", err)
		return Interpretation{}, false
	}
	return interp, true
}

// addValueError adds a refusal of the value at field (value, components[0]):
// a *ValueError's unit and value fields become field.unit and field.value;
// its code and its reference-range fields keep their names.
func addValueError(problems *domain.ValidationError, field string, err error) {
	var ve *ValueError
	if !errors.As(err, &ve) {
		problems.Add(field, err.Error())
		return
	}
	switch {
	case ve.Field == FieldUnit:
		problems.Add(field+".unit", ve.Message)
	case ve.Field == FieldValue && ve.Reason == ReasonUnknownAnswer:
		problems.Add(field+".code", ve.Message)
	case ve.Field == FieldValue:
		problems.Add(field+".value", ve.Message)
	case ve.Field == FieldCode || strings.HasPrefix(ve.Field, "referenceRange"):
		problems.Add(ve.Field, ve.Message)
	default:
		problems.Add(field, ve.Message)
	}
}

// readComponents checks a panel's components and interprets each; the
// panel's interpretation is its worst component's.
func readComponents(d *Definition, in Input, s Subject, problems *domain.ValidationError) ([]ComponentValue, Interpretation) {
	if in.Value != nil {
		problems.Add("value", "a panel has no value of its own: give its components ("+strings.Join(d.Components, ", ")+")")
	}
	if in.ReferenceRange != nil {
		problems.Add("referenceRange", "a panel has no reference range of its own")
	}
	if len(in.Components) == 0 {
		problems.Add("components", "at least one of "+strings.Join(d.Components, ", ")+" is required")
		return nil, Interpretation{}
	}
	before := len(problems.Fields)
	out := make([]ComponentValue, 0, len(in.Components))
	seen := map[string]bool{}
	for i, c := range in.Components {
		field := "components[" + strconv.Itoa(i) + "]"
		switch {
		case c.Code == "":
			problems.Add(field+".code", "is required")
			continue
		case !slices.Contains(d.Components, c.Code):
			problems.Add(field+".code", strconv.Quote(c.Code)+" is not a component of "+d.Display+": use "+strings.Join(d.Components, ", "))
			continue
		case seen[c.Code]:
			problems.Add(field+".code", c.Code+" is given twice")
			continue
		}
		seen[c.Code] = true
		q, ok := readQuantity(c.Code, c.Value, c.Unit, field, problems)
		if !ok {
			continue
		}
		interp, err := InterpretQuantity(c.Code, q.Canonical.Value, s)
		if err != nil {
			addValueError(problems, field, err)
			continue
		}
		out = append(out, ComponentValue{Code: c.Code, Display: byCode[c.Code].Display, Value: q, Interpretation: interp})
	}
	if len(problems.Fields) > before {
		return nil, Interpretation{}
	}
	parts := make([]Component, len(out))
	for i, c := range out {
		parts[i] = Component{Code: c.Code, Value: c.Value.Canonical.Value}
	}
	if err := CheckPanel(d.Code, parts); err != nil {
		addValueError(problems, "components", err)
		return nil, Interpretation{}
	}
	return out, worst(out)
}

// worst is the interpretation of the component whose flag matters most:
// critical, then abnormal, then normal; the first of equals.
func worst(parts []ComponentValue) Interpretation {
	var w Interpretation
	for _, c := range parts {
		if severity(c.Interpretation.Flag) > severity(w.Flag) {
			w = c.Interpretation
		}
	}
	return w
}

func severity(f Flag) int {
	switch f {
	case FlagCriticalLow, FlagCriticalHigh:
		return 3
	case FlagLow, FlagHigh, FlagAbnormal:
		return 2
	case FlagNormal:
		return 1
	}
	return 0
}

// NEWS2Score is a NEWS2 the engine computed from a complete set of a
// patient's readings and stored: the score, its risk and response, and the
// reading each parameter was taken from.
type NEWS2Score struct {
	ID        uuid.UUID `json:"id"`
	PatientID uuid.UUID `json:"patientId"`
	NEWS2
	// Parameters are the seven readings scored, in Chart 1's order.
	Parameters []ParameterReading `json:"parameters"`
	// WindowStart and WindowEnd bound the readings (WindowEnd is the newest).
	WindowStart time.Time `json:"windowStart"`
	WindowEnd   time.Time `json:"windowEnd"`
	// ScoredAt is when the score was computed.
	ScoredAt time.Time `json:"scoredAt"`
}

// ErrIncompleteNEWS2 refuses to store a set that could not be scored.
var ErrIncompleteNEWS2 = errors.New("observation: an incomplete NEWS2 set has no score to store")

// NewNEWS2Score makes the stored form of a complete combined set (see
// CombineNEWS2) of the patient's readings, scored at now.
func NewNEWS2Score(id, patientID uuid.UUID, c CombinedNEWS2, now time.Time) (NEWS2Score, error) {
	switch {
	case id == uuid.Nil || patientID == uuid.Nil:
		return NEWS2Score{}, errors.New("observation: a NEWS2 score needs an id and a patient")
	case c.Status != CombinedComplete || c.Score == nil:
		return NEWS2Score{}, ErrIncompleteNEWS2
	}
	params := make([]ParameterReading, len(c.Parameters))
	for i, p := range c.Parameters {
		p.Reading.Time = storedTime(p.Reading.Time)
		params[i] = p
	}
	return NEWS2Score{ID: id, PatientID: patientID, NEWS2: *c.Score, Parameters: params,
		WindowStart: storedTime(c.WindowStart), WindowEnd: storedTime(c.WindowEnd), ScoredAt: storedTime(now)}, nil
}

// SourceIDs are the observations the score was computed from, in Chart 1's order.
func (s NEWS2Score) SourceIDs() []uuid.UUID {
	ids := make([]uuid.UUID, len(s.Parameters))
	for i, p := range s.Parameters {
		ids[i] = p.Reading.SourceID
	}
	return ids
}

// ScaleDecision is a clinician's choice of NEWS2 SpO2 scale for a patient:
// Scale 2 for hypercapnic respiratory failure with a prescribed target of
// 88-92%, or back to Scale 1. A later decision revokes the one before.
type ScaleDecision struct {
	// ID is the nil UUID when no clinician has decided: the patient is on Scale 1.
	ID        uuid.UUID `json:"id"`
	PatientID uuid.UUID `json:"patientId"`
	Scale     SpO2Scale `json:"scale"`
	// DecidedBy is the practitioner who decided, from the caller's token.
	DecidedBy uuid.UUID `json:"decidedBy"`
	DecidedAt time.Time `json:"decidedAt"`
	Reason    string    `json:"reason"`
	// RevokedAt and RevokedBy record the later decision that replaced this one.
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	RevokedBy *uuid.UUID `json:"revokedBy,omitempty"`
}

// MaxScaleReasonLen bounds the reason of a scale decision, in characters.
const MaxScaleReasonLen = 500

// ErrNoDecider refuses a scale decision by a caller that names no
// practitioner: only a clinician decides on Scale 2 (the API answers 403).
var ErrNoDecider = errors.New("observation: only a practitioner can decide the SpO2 scale")

// NewScaleDecision validates a decision of scale for the patient by the
// practitioner decidedBy at now; the reason (the clinical indication and the
// target range) is required.
func NewScaleDecision(id, patientID uuid.UUID, scale SpO2Scale, decidedBy uuid.UUID, reason string, now time.Time) (ScaleDecision, error) {
	if id == uuid.Nil {
		return ScaleDecision{}, errors.New("observation: no id")
	}
	if decidedBy == uuid.Nil {
		return ScaleDecision{}, ErrNoDecider
	}
	problems := &domain.ValidationError{}
	if patientID == uuid.Nil {
		problems.Add("patientId", "is required")
	}
	if scale != SpO2Scale1 && scale != SpO2Scale2 {
		problems.Add("scale", "must be 1 or 2")
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		problems.Add("reason", "is required: give the indication and the target saturation")
	case utf8.RuneCountInString(reason) > MaxScaleReasonLen:
		problems.Add("reason", "must be at most "+strconv.Itoa(MaxScaleReasonLen)+" characters")
	}
	if err := problems.OrNil(); err != nil {
		return ScaleDecision{}, err
	}
	return ScaleDecision{ID: id, PatientID: patientID, Scale: scale, DecidedBy: decidedBy, DecidedAt: storedTime(now), Reason: reason}, nil
}

// Event types the observation store publishes on the clinical topic, keyed
// by patient id. The data of the observation events is the EventData of the
// version written; of EventNEWS2Scored a NEWS2Score; of
// EventSpO2ScaleDecided a ScaleDecision.
const (
	// EventRecorded: a new observation was recorded.
	EventRecorded = "observation.recorded"
	// EventCritical: a recorded or amended value is beyond a critical limit.
	// It follows the version's recorded or amended event, with the same data.
	EventCritical = "observation.critical"
	// EventAmended: a new version amends or corrects an observation.
	EventAmended = "observation.amended"
	// EventEnteredInError: an observation was withdrawn as entered in error.
	EventEnteredInError = "observation.entered-in-error"
	// EventNEWS2Scored: a NEWS2 score was stored.
	EventNEWS2Scored = "observation.news2-scored"
	// EventSpO2ScaleDecided: a clinician set the patient's SpO2 scale.
	EventSpO2ScaleDecided = "observation.spo2-scale-decided"
)

// EventData is the data of the observation events: the version written, as
// much as a consumer acts on — the value in the code's canonical unit, and
// the interpretation's flag and limits — kept small, because a batch writes
// one event per observation. The value as sent, the ranges' sources, the
// performer and the rest are in the observation (GET /v1/observations/{id}).
type EventData struct {
	ID          uuid.UUID  `json:"id"`
	Version     int        `json:"version"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	// BasedOn is the diagnostic order the observation results (see
	// Observation.BasedOn): a consumer tells the diagnostic service's own
	// results by it.
	BasedOn     *uuid.UUID `json:"basedOn,omitempty"`
	Category    Category   `json:"category"`
	Code        string     `json:"code"`
	Status      Status     `json:"status"`
	EffectiveAt time.Time  `json:"effectiveAt"`
	// One of Quantity (canonical), Answer, Text and Boolean is set, except
	// for a panel, whose values are its Components.
	Quantity   *Quantity        `json:"quantity,omitempty"`
	Answer     string           `json:"answer,omitempty"`
	Text       string           `json:"text,omitempty"`
	Boolean    *bool            `json:"boolean,omitempty"`
	Components []EventComponent `json:"components,omitempty"`
	// Interpretation is the value's, or a panel's worst component's.
	Interpretation Limits `json:"interpretation"`
	// DeltaFlags name the delta rules the value met.
	DeltaFlags []DeltaCode `json:"deltaFlags,omitempty"`
	Reason     string      `json:"reason,omitempty"`
}

// EventComponent is a panel component in an event: its canonical quantity
// and interpretation.
type EventComponent struct {
	Code           string   `json:"code"`
	Quantity       Quantity `json:"quantity"`
	Interpretation Limits   `json:"interpretation"`
}

// Limits is an interpretation as events carry it: the flag and the limits,
// in the canonical unit, of the reference range and critical range judged
// against; absent limits are omitted.
type Limits struct {
	Flag         Flag     `json:"flag,omitempty"`
	Low          *float64 `json:"low,omitempty"`
	High         *float64 `json:"high,omitempty"`
	CriticalLow  *float64 `json:"criticalLow,omitempty"`
	CriticalHigh *float64 `json:"criticalHigh,omitempty"`
}

// LimitsOf is the event form of an interpretation.
func LimitsOf(in Interpretation) Limits {
	l := Limits{Flag: in.Flag}
	if r := in.Range; r != nil {
		l.Low, l.High = r.Low, r.High
	}
	if c := in.Critical; c != nil {
		l.CriticalLow, l.CriticalHigh = c.Low, c.High
	}
	return l
}

// Event is the data of o's events.
func (o Observation) Event() EventData {
	e := EventData{ID: o.ID, Version: o.Version, PatientID: o.PatientID, EncounterID: o.EncounterID, BasedOn: o.BasedOn, Category: o.Category,
		Code: o.Code, Status: o.Status, EffectiveAt: o.EffectiveAt, Interpretation: LimitsOf(o.Interpretation), Reason: o.Reason}
	if v := o.Value; v != nil {
		switch {
		case v.Quantity != nil:
			q := v.Quantity.Canonical
			e.Quantity = &q
		case v.Coding != nil:
			e.Answer = v.Coding.Code
		case v.Boolean != nil:
			e.Boolean = v.Boolean
		default:
			e.Text = v.Text
		}
	}
	for _, c := range o.Components {
		e.Components = append(e.Components, EventComponent{Code: c.Code, Quantity: c.Value.Canonical, Interpretation: LimitsOf(c.Interpretation)})
	}
	for _, f := range o.DeltaFlags {
		e.DeltaFlags = append(e.DeltaFlags, f.Code)
	}
	return e
}

// HasDeltaRule reports whether a result of o has a delta rule, so its
// patient's earlier results are needed.
func (o Observation) HasDeltaRule() bool {
	for _, r := range o.Results() {
		if DeltaLookback(r.Code) > 0 {
			return true
		}
	}
	return false
}

// WithDeltas applies the delta rules to a batch of new observations (see
// WithDelta): each result is compared, within its code's lookback, with
// the patient's stored results of the code (stored, by patient) and with
// the batch's own earlier results — as if the batch had been recorded item
// by item in effective-time order. The batch is returned in its order.
func WithDeltas(obs []Observation, stored map[uuid.UUID][]Result) []Observation {
	type key struct {
		patient uuid.UUID
		code    string
	}
	history := map[key][]Result{}
	for _, o := range obs {
		for _, r := range o.Results() {
			if DeltaLookback(r.Code) > 0 {
				k := key{o.PatientID, r.Code}
				history[k] = append(history[k], r)
			}
		}
	}
	if len(history) == 0 {
		return obs
	}
	for patient, results := range stored {
		for _, r := range results {
			k := key{patient, r.Code}
			history[k] = append(history[k], r)
		}
	}
	for _, h := range history {
		slices.SortStableFunc(h, func(a, b Result) int { return a.Time.Compare(b.Time) })
	}
	out := slices.Clone(obs)
	for i, o := range out {
		var previous []Result
		for _, r := range o.Results() {
			lookback := DeltaLookback(r.Code)
			if lookback <= 0 {
				continue
			}
			h := history[key{o.PatientID, r.Code}]
			// The window the rules look at: from lookback before the result
			// (inclusive) to the result (exclusive).
			from := r.Time.Add(-lookback)
			lo := sort.Search(len(h), func(j int) bool { return !h[j].Time.Before(from) })
			hi := sort.Search(len(h), func(j int) bool { return !h[j].Time.Before(r.Time) })
			previous = append(previous, h[lo:hi]...)
		}
		if len(previous) > 0 {
			out[i] = o.WithDelta(previous)
		}
	}
	return out
}
