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
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
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

// Activities are registered on the diagnostics task queue.
type Activities struct {
	store  Store
	alerts AlertResolver
}

// New returns the activities on store, closing alerts through alerts.
func New(store Store, alerts AlertResolver) *Activities {
	return &Activities{store: store, alerts: alerts}
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
