// Package prescription holds the Prescription workflow's activities: the
// checks (what the patient is now, against the active knowledge base), the
// read-model write of each change with its event and audit record, and the
// closing of alerts a step made moot.
package prescription

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// Store is what the activities need from persistence.
type Store interface {
	Record(ctx context.Context, p prescription.Prescription, rec *audit.Record) error
	PatientContext(ctx context.Context, patientID, exclude uuid.UUID, at time.Time) (prescription.Context, error)
}

// AlertResolver resolves an alert; one that does not exist or is closed
// needs nothing more.
type AlertResolver interface {
	ResolveAlert(ctx context.Context, alertID, by uuid.UUID, note string) error
}

// Activities are registered on the prescriptions task queue.
type Activities struct {
	store  Store
	kb     *medication.Registry
	alerts AlertResolver
}

// New returns the activities on store, checking against kb's active version
// and closing alerts through alerts.
func New(store Store, kb *medication.Registry, alerts AlertResolver) *Activities {
	return &Activities{store: store, kb: kb, alerts: alerts}
}

// CheckRequest asks for the checks of one prescription's order as of At.
type CheckRequest struct {
	PrescriptionID uuid.UUID        `json:"prescriptionId"`
	PatientID      uuid.UUID        `json:"patientId"`
	Order          medication.Order `json:"order"`
	At             time.Time        `json:"at"`
}

// CheckResult is what the checks found and what they read.
type CheckResult struct {
	Result  medication.Result    `json:"result"`
	Context prescription.Context `json:"context"`
}

// RulePatientUnknown is the check-unavailable finding of an order for a
// patient the registry does not know.
const RulePatientUnknown = "unavailable-patient-record"

// CheckPrescription reads the patient as they are at req.At (every other open
// prescription, allergies, weight, renal function, age, sex) and runs every
// check of the active knowledge base on the order. It only reads, so a retry
// is harmless; a patient the registry does not know gives a check-unavailable
// finding rather than an error, since no retry will find them.
func (a *Activities) CheckPrescription(ctx context.Context, req CheckRequest) (CheckResult, error) {
	if req.PrescriptionID == uuid.Nil || req.PatientID == uuid.Nil || req.At.IsZero() {
		return CheckResult{}, process.InvalidInput(errors.New("prescriptionId, patientId and at are required"))
	}
	kb := a.kb.Active()
	pc, err := a.store.PatientContext(ctx, req.PatientID, req.PrescriptionID, req.At)
	if errors.Is(err, domain.ErrNotFound) {
		return CheckResult{Result: Unavailable(kb.Version(), RulePatientUnknown,
			"The patient's record could not be found, so no check ran.")}, nil
	}
	if err != nil {
		return CheckResult{}, fmt.Errorf("read the patient for the checks: %w", err)
	}
	return CheckResult{Result: kb.Check(req.Order, pc.Patient), Context: pc}, nil
}

// Unavailable is the result of checks that could not run at all, with one
// check-unavailable finding saying why.
func Unavailable(version, rule, explanation string) medication.Result {
	return medication.Result{Version: version, Findings: []medication.Finding{{
		Kind: medication.KindUnavailable, OtherIndex: -1, Rule: rule, Explanation: explanation,
		Management: "Check the order by hand, or wait until the checks can run, before it is given.",
		Sources:    []string{"engine: a check that cannot run is reported, never passed silently"}, Version: version,
	}}}
}

// RecordRequest records the prescription after its newest timeline entry.
type RecordRequest struct {
	Prescription prescription.Prescription `json:"prescription"`
	// Audit is the audit record of the request that asked for the change,
	// stored with it; nil for the process's own steps.
	Audit *audit.Record `json:"audit,omitempty"`
}

// RecordPrescription writes the prescription to the read model with its
// prescription.<kind> event and audit record, in one transaction; writing an
// entry already stored writes nothing.
func (a *Activities) RecordPrescription(ctx context.Context, req RecordRequest) error {
	if req.Prescription.Details.ID == uuid.Nil || req.Prescription.Version < 1 {
		return process.InvalidInput(errors.New("the prescription and its timeline are required"))
	}
	return translate(a.store.Record(ctx, req.Prescription, req.Audit))
}

// ResolveRequest closes an alert a step made moot.
type ResolveRequest struct {
	AlertID uuid.UUID `json:"alertId"`
	By      uuid.UUID `json:"by"`
	Note    string    `json:"note"`
}

// ResolveAlert resolves the alert; resolving is idempotent, so a retry is
// harmless.
func (a *Activities) ResolveAlert(ctx context.Context, req ResolveRequest) error {
	if req.AlertID == uuid.Nil {
		return process.InvalidInput(errors.New("alertId is required"))
	}
	return a.alerts.ResolveAlert(ctx, req.AlertID, req.By, req.Note)
}

// translate makes errors no retry can fix non-retryable: a missing
// prescription or invalid data. Anything else (a database outage) is retried.
func translate(err error) error {
	var v *domain.ValidationError
	if err != nil && (errors.Is(err, domain.ErrNotFound) || errors.As(err, &v)) {
		return process.InvalidInput(err)
	}
	return err
}
