package prescription

import (
	"bytes"
	"encoding/binary"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/medication"
)

// ActiveOrder is one of the patient's open prescriptions as the checks read it.
type ActiveOrder struct {
	PrescriptionID uuid.UUID        `json:"prescriptionId"`
	Order          medication.Order `json:"order"`
}

// Context is what the checks know about the patient when they run: the
// medication checks' view of the patient, and which prescription each of
// its active medications is.
type Context struct {
	Patient medication.Patient `json:"patient"`
	// Active names the prescription behind each of
	// Patient.ActiveMedications, index for index.
	Active []uuid.UUID `json:"active"`
	// Newer, when set, is the newer prescription whose arrival the checks
	// run for: what they find about the pair is held on that one (its own
	// checks found it), so here it is shown without holding.
	Newer uuid.UUID `json:"newer,omitzero"`
	// Basis lists the observations the patient's numbers came from (weight,
	// height, serum creatinine), so a dose finding can be traced to them.
	Basis []Basis `json:"basis,omitempty"`
}

// Basis is one observation a check read.
type Basis struct {
	Code  string    `json:"code"` // LOINC
	Value float64   `json:"value"`
	Unit  string    `json:"unit"` // canonical UCUM unit
	At    time.Time `json:"at"`   // when it was taken
}

// Orders builds a context's active medications from the open orders.
func (c *Context) Orders(orders []ActiveOrder) {
	c.Patient.ActiveMedications = make([]medication.Order, len(orders))
	c.Active = make([]uuid.UUID, len(orders))
	for i, o := range orders {
		c.Patient.ActiveMedications[i] = o.Order
		c.Active[i] = o.PrescriptionID
	}
}

// Blocking reports whether a finding holds the order until someone
// overrides it: a check that could not run; a major or contraindicated
// interaction; an allergy the drug must not be given for; duplicate therapy
// or a dose out of range of moderate severity or worse. Minor findings,
// moderate interactions and allergy cautions are shown and let the order go on.
func Blocking(f medication.Finding) bool {
	switch f.Kind {
	case medication.KindUnavailable:
		return true
	case medication.KindInteraction:
		return f.Severity == medication.SeverityContraindicated || f.Severity == medication.SeverityMajor
	case medication.KindAllergy:
		return f.Severity == medication.SeverityHold
	case medication.KindDuplicate, medication.KindDose:
		return f.Severity.Rank() >= medication.SeverityModerate.Rank() && f.Severity != medication.SeverityCaution
	}
	return f.Severity.Rank() >= medication.SeverityMajor.Rank()
}

// findingID names a finding by what it is about, so the same problem found
// by a later check has the same id: its kind, its rule, the ordered drug and
// what it conflicts with.
func findingID(f medication.Finding, other *uuid.UUID) string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	b.WriteByte(':')
	b.WriteString(f.Rule)
	if f.Drug != "" {
		b.WriteByte(':')
		b.WriteString(f.Drug)
	}
	switch {
	case other != nil:
		b.WriteString(":prescription/")
		b.WriteString(other.String())
	case f.Other != "":
		b.WriteByte(':')
		b.WriteString(strings.ToLower(f.Other))
	}
	return b.String()
}

// FindingsOf turns a check's result into findings of the prescription: each
// names the prescription it conflicts with (ctx.Active) when it concerns an
// active medication.
func FindingsOf(res medication.Result, ctx Context, at time.Time) []Finding {
	out := make([]Finding, 0, len(res.Findings))
	for _, f := range res.Findings {
		var other *uuid.UUID
		if f.Kind != medication.KindAllergy && f.OtherIndex >= 0 && f.OtherIndex < len(ctx.Active) {
			id := ctx.Active[f.OtherIndex]
			other = &id
		}
		blocking := Blocking(f)
		if other != nil && ctx.Newer != uuid.Nil && *other == ctx.Newer && blocking {
			// The newer order's own checks hold it for this pair; the
			// prescriber decides there.
			blocking = false
			f.Detail = joinDetail(f.Detail, "held on the newer prescription "+ctx.Newer.String()+" for review")
		}
		out = append(out, Finding{ID: findingID(f, other), Finding: f, OtherPrescriptionID: other,
			Blocking: blocking, FoundAt: at})
	}
	return out
}

// CreatedAfter reports whether prescription id was created after other.
// Prescription ids are UUIDv7 (RFC 9562 §5.7, made by uuid.NewV7 when the
// order is placed): they compare by the Unix milliseconds they embed, then
// by their bytes. An id that is not version 7 carries no time, so it is
// never after another: a pair it is in is not left to another order's hold.
func CreatedAfter(id, other uuid.UUID) bool {
	if id.Version() != 7 || other.Version() != 7 {
		return false
	}
	if a, b := unixMilli(id), unixMilli(other); a != b {
		return a > b
	}
	return bytes.Compare(id[:], other[:]) > 0
}

// unixMilli is the timestamp a UUIDv7 opens with: 48 bits, big-endian.
func unixMilli(id uuid.UUID) uint64 {
	var b [8]byte
	copy(b[2:], id[:6])
	return binary.BigEndian.Uint64(b[:])
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// merge is the findings after a new check: what it found, each keeping the
// override and first-found time it had before, so an overridden problem found
// again stays overridden. Findings the check no longer reports are dropped.
// It also returns how many findings are new and how many of those block.
func merge(before, found []Finding) (out []Finding, fresh, blocking int) {
	out = make([]Finding, 0, len(found))
	for _, f := range found {
		if prev, ok := findingByID(before, f.ID); ok {
			f.Override, f.FoundAt = prev.Override, prev.FoundAt
		} else {
			fresh++
			if f.Blocking {
				blocking++
			}
		}
		out = append(out, f)
	}
	return out, fresh, blocking
}

func findingByID(fs []Finding, id string) (Finding, bool) {
	for _, f := range fs {
		if f.ID == id {
			return f, true
		}
	}
	return Finding{}, false
}
