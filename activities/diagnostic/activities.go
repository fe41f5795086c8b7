// Package diagnostic holds the DiagnosticReport workflow's activities: the
// read-model write of each change to a report with its events and audit
// record, and the closing of alerts a step made moot (a critical-result
// callback closed, an overdue stage reached).
package diagnostic

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	alertworkflow "github.com/zarish-sphere/zarish/workflows/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// Store is what the activities need from persistence.
type Store interface {
	// Record stores the report with a diagnostic.<kind> event for each
	// timeline entry it has not stored yet, and rec (when not nil), in one
	// transaction. A report whose version is stored already writes
	// nothing, so a retried write stores its audit record once. (A step
	// that would change nothing never reaches the workflow: the API
	// answers it, and audits it, itself.)
	Record(ctx context.Context, r diagnostic.Report, rec *audit.Record) error
}

// AlertResolver resolves an alert; one that does not exist or is closed
// needs nothing more.
type AlertResolver interface {
	ResolveAlert(ctx context.Context, alertID, by uuid.UUID, note string) error
}

// OpenAlerts lists a patient's alerts, as the alerts' read model holds
// them.
type OpenAlerts interface {
	ListAlerts(ctx context.Context, f alert.Filter) (alert.Page, error)
}

// Activities are registered on the diagnostics task queue.
type Activities struct {
	store  Store
	alerts AlertResolver
	open   OpenAlerts
}

// New returns the activities on store, closing alerts through alerts and
// finding those a callback takes over in open.
func New(store Store, alerts AlertResolver, open OpenAlerts) *Activities {
	return &Activities{store: store, alerts: alerts, open: open}
}

// RecordRequest records the report after its newest timeline entry.
type RecordRequest struct {
	Report diagnostic.Report `json:"report"`
	// Audit is the audit record of the request that asked for the change,
	// stored with it; nil for the process's own steps (a missed target, a
	// release when due).
	Audit *audit.Record `json:"audit,omitempty"`
}

// RecordReport writes the report to the read model with its events and audit
// record, in one transaction; writing an entry already stored writes
// nothing.
func (a *Activities) RecordReport(ctx context.Context, req RecordRequest) error {
	if req.Report.Order.ID == uuid.Nil || req.Report.Version < 1 || req.Report.Version != len(req.Report.Timeline) {
		return process.InvalidInput(errors.New("the report and its timeline are required"))
	}
	return translate(a.store.Record(ctx, req.Report, req.Audit))
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

// translate makes errors no retry can fix non-retryable: a missing report or
// data the database cannot hold. Anything else (a database outage) is
// retried.
func translate(err error) error {
	var v *domain.ValidationError
	if err != nil && (errors.Is(err, domain.ErrNotFound) || errors.As(err, &v)) {
		return process.InvalidInput(err)
	}
	return err
}

// YieldRequest names a critical result whose read-back callback has taken
// over: the critical-value alerts of its test for the patient yield to the
// callback's alert.
type YieldRequest struct {
	PatientID uuid.UUID `json:"patientId"`
	Code      string    `json:"code"`
	ReportID  uuid.UUID `json:"reportId"`
	// AlertID is the callback's critical-result alert.
	AlertID uuid.UUID `json:"alertId"`
	By      uuid.UUID `json:"by"`
}

// YieldCriticalValues resolves the patient's open critical-value alerts of
// the test, the observation service's for the same value: the report's
// callback to the orderer, with its read-back, answers it now. Resolving is
// idempotent, so a retry is harmless.
func (a *Activities) YieldCriticalValues(ctx context.Context, req YieldRequest) error {
	if req.PatientID == uuid.Nil || req.Code == "" || req.AlertID == uuid.Nil {
		return process.InvalidInput(errors.New("patientId, code and alertId are required"))
	}
	source := alertworkflow.CriticalValueSource(req.Code)
	note := "The read-back callback of " + diagnostic.Source(req.ReportID) + " answers this value: alert " + req.AlertID.String() + "."
	f := alert.Filter{PatientID: req.PatientID, Active: true, Limit: 100}
	for {
		page, err := a.open.ListAlerts(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range page.Alerts {
			if r.Category == alertworkflow.CategoryCriticalValue && r.Source == source {
				if err := a.alerts.ResolveAlert(ctx, r.ID, req.By, note); err != nil {
					return err
				}
			}
		}
		if page.Next == "" {
			return nil
		}
		f.Cursor = page.Next
	}
}
