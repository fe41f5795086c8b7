// Package alert holds the alert escalation's activities: thin, idempotent
// steps that take ids and times from the workflow and call the store.
package alert

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

// Store is what the activities need from persistence.
type Store interface {
	GetPolicy(ctx context.Context, id string) (alert.Policy, error)
	SelectPolicy(ctx context.Context, category string, severity alert.Severity) (alert.Policy, error)
	ResolveRecipients(ctx context.Context, unit string, level alert.Level, at time.Time) ([]careteam.Practitioner, error)
	RecordAlertRaised(ctx context.Context, r alert.Raise, policyID string, at time.Time) error
	RecordNotifications(ctx context.Context, alertID uuid.UUID, step alert.Step, escalated *alert.Event, ns []alert.Notification, at time.Time) error
	RecordAcknowledged(ctx context.Context, alertID, practitioner uuid.UUID, name string, at time.Time) error
	RecordResolved(ctx context.Context, alertID, practitioner uuid.UUID, name, note string, at time.Time) error
	RecordExhausted(ctx context.Context, alertID uuid.UUID, at time.Time) error
}

// Activities are registered on the alerts task queue.
type Activities struct {
	store Store
}

// New returns the activities on store.
func New(store Store) *Activities { return &Activities{store: store} }

// ErrInvalidInput is the ApplicationError type of input no retry can fix.
const ErrInvalidInput = "InvalidInput"

// PolicyRequest asks for the policy of an alert.
type PolicyRequest struct {
	PolicyID string         `json:"policyId,omitempty"`
	Category string         `json:"category"`
	Severity alert.Severity `json:"severity"`
}

// PreparePolicy returns the named policy, or, when none is named or the named
// one does not exist, the one the routing rules pick.
func (a *Activities) PreparePolicy(ctx context.Context, req PolicyRequest) (alert.Policy, error) {
	if !req.Severity.Valid() {
		return alert.Policy{}, invalid(errors.New("unknown severity " + string(req.Severity)))
	}
	if req.PolicyID != "" {
		p, err := a.store.GetPolicy(ctx, req.PolicyID)
		if err == nil || !errors.Is(err, domain.ErrNotFound) {
			return p, err
		}
	}
	p, err := a.store.SelectPolicy(ctx, req.Category, req.Severity)
	if errors.Is(err, alert.ErrNoPolicy) {
		return p, invalid(err)
	}
	return p, translate(err)
}

// RaisedRequest records a raised alert.
type RaisedRequest struct {
	Raise    alert.Raise `json:"raise"`
	PolicyID string      `json:"policyId"`
	At       time.Time   `json:"at"`
}

// RecordRaised adds the alert to the read model.
func (a *Activities) RecordRaised(ctx context.Context, req RaisedRequest) error {
	if err := req.Raise.Validate(); err != nil {
		return invalid(err)
	}
	return translate(a.store.RecordAlertRaised(ctx, req.Raise, req.PolicyID, req.At))
}

// NotifyRequest asks to notify one step of a policy.
type NotifyRequest struct {
	Raise alert.Raise `json:"raise"`
	Step  alert.Step  `json:"step"`
	Level alert.Level `json:"level"`
	// Kind is empty for escalation notifications; "reminder-<n>" for the n-th
	// resolve reminder.
	Kind      string       `json:"kind,omitempty"`
	Escalated *alert.Event `json:"escalated,omitempty"` // the escalation that led here
	At        time.Time    `json:"at"`
}

// Notify resolves the step's recipients as of req.At and records one
// notification per recipient and channel, with their outbox events. The
// notification ids are derived from the request, so a retry sends nothing twice.
func (a *Activities) Notify(ctx context.Context, req NotifyRequest) ([]alert.Notification, error) {
	if req.Raise.AlertID == uuid.Nil || req.At.IsZero() {
		return nil, invalid(errors.New("alertId and at are required"))
	}
	level := req.Level
	if req.Kind == "" {
		// Escalation notifications reach the alert's owner at the first
		// level; reminders go only to whoever acknowledged.
		level = req.Raise.WithOwner(req.Step, level)
	}
	recipients, err := a.store.ResolveRecipients(ctx, req.Raise.Unit, level, req.At)
	if err != nil {
		return nil, err
	}
	ns := alert.Notifications(req.Raise, req.Step, req.Kind, req.Level.Channels, recipients, req.At)
	if err := a.store.RecordNotifications(ctx, req.Raise.AlertID, req.Step, req.Escalated, ns, req.At); err != nil {
		return nil, translate(err)
	}
	return ns, nil
}

// TransitionRequest records a change of an alert's status.
type TransitionRequest struct {
	AlertID        uuid.UUID `json:"alertId"`
	PractitionerID uuid.UUID `json:"practitionerId,omitzero"`
	Name           string    `json:"name,omitempty"`
	Note           string    `json:"note,omitempty"`
	At             time.Time `json:"at"`
}

// RecordAcknowledged marks the alert acknowledged in the read model.
func (a *Activities) RecordAcknowledged(ctx context.Context, req TransitionRequest) error {
	if req.AlertID == uuid.Nil || req.PractitionerID == uuid.Nil {
		return invalid(errors.New("alertId and practitionerId are required"))
	}
	return translate(a.store.RecordAcknowledged(ctx, req.AlertID, req.PractitionerID, req.Name, req.At))
}

// RecordResolved marks the alert resolved in the read model.
func (a *Activities) RecordResolved(ctx context.Context, req TransitionRequest) error {
	if req.AlertID == uuid.Nil || req.PractitionerID == uuid.Nil {
		return invalid(errors.New("alertId and practitionerId are required"))
	}
	return translate(a.store.RecordResolved(ctx, req.AlertID, req.PractitionerID, req.Name, req.Note, req.At))
}

// RecordExhausted marks the alert exhausted in the read model.
func (a *Activities) RecordExhausted(ctx context.Context, req TransitionRequest) error {
	if req.AlertID == uuid.Nil {
		return invalid(errors.New("alertId is required"))
	}
	return translate(a.store.RecordExhausted(ctx, req.AlertID, req.At))
}

// invalid wraps err as a non-retryable ApplicationError.
func invalid(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, err)
}

// translate makes errors no retry can fix non-retryable: a missing alert or
// policy, or invalid data. Anything else (a database outage) is retried.
func translate(err error) error {
	var v *domain.ValidationError
	if err != nil && (errors.Is(err, domain.ErrNotFound) || errors.As(err, &v)) {
		return invalid(err)
	}
	return err
}
