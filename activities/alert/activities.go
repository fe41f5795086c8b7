// Package alert holds the alert escalation's activities: thin, idempotent
// steps that take ids and times from the workflow and call the store.
package alert

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// Store is what the activities need from persistence.
type Store interface {
	GetPolicy(ctx context.Context, id string) (alert.Policy, error)
	SelectPolicy(ctx context.Context, category string, severity alert.Severity) (alert.Policy, error)
	ResolveRecipients(ctx context.Context, unit string, level alert.Level, at time.Time) ([]careteam.Practitioner, error)
	RecordAlertRaised(ctx context.Context, r alert.Raise, policyID string, at time.Time) error
	RecordNotifications(ctx context.Context, alertID uuid.UUID, step alert.Step, escalated *alert.Event, ns []alert.Notification, at time.Time) error
	// RecordUnreachable records that step had nobody to notify, with the
	// escalation that led there when escalated is not nil.
	RecordUnreachable(ctx context.Context, alertID uuid.UUID, step alert.Step, escalated *alert.Event, unreachable alert.Event) error
	// RecordAcknowledged and RecordResolved store rec, the audit record of
	// the request that asked, in the transaction of the change.
	RecordAcknowledged(ctx context.Context, alertID, practitioner uuid.UUID, name string, at time.Time, rec *audit.Record) error
	RecordResolved(ctx context.Context, alertID, practitioner uuid.UUID, name, note string, at time.Time, rec *audit.Record) error
	RecordExhausted(ctx context.Context, alertID uuid.UUID, at time.Time) error
	// RecordUndeliverable closes the alert as undeliverable with its
	// timeline entry e and the fallback notifications ns, in one transaction.
	RecordUndeliverable(ctx context.Context, alertID uuid.UUID, e alert.Event, ns []alert.Notification) error
}

// Activities are registered on the alerts task queue.
type Activities struct {
	store Store
	// fallback is the operator's contact (an email address) for alerts no
	// level could deliver; empty when none is configured.
	fallback string
}

// Option configures the activities.
type Option func(*Activities)

// WithFallbackContact sends alerts that no level of their policy could
// deliver to email, the operator's fallback contact (ALERT_FALLBACK_CONTACT).
func WithFallbackContact(email string) Option { return func(a *Activities) { a.fallback = email } }

// New returns the activities on store.
func New(store Store, opts ...Option) *Activities {
	a := &Activities{store: store}
	for _, o := range opts {
		o(a)
	}
	return a
}

// TypeNoPolicy is the ApplicationError type of an alert no routing rule
// matches (alert.ErrNoPolicy): no retry can help until a rule is added.
const TypeNoPolicy = "alert.NoPolicy"

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
		return p, temporal.NewNonRetryableApplicationError(err.Error(), TypeNoPolicy, err)
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

// NotifyResult is what a step's notification came to: the notifications
// recorded, or, when there was nobody to notify, the timeline entry saying
// so (whose note names who was missing).
type NotifyResult struct {
	Notifications []alert.Notification `json:"notifications"`
	Unreachable   *alert.Event         `json:"unreachable,omitempty"`
}

// NotifyStep is Notify for escalations that escalate past a level with
// nobody to notify: such a step is recorded in the read model's timeline
// with its reason, and the result says so instead of being empty.
func (a *Activities) NotifyStep(ctx context.Context, req NotifyRequest) (NotifyResult, error) {
	if req.Raise.AlertID == uuid.Nil || req.At.IsZero() {
		return NotifyResult{}, invalid(errors.New("alertId and at are required"))
	}
	level := req.Level
	if req.Kind == "" {
		level = req.Raise.WithOwner(req.Step, level)
	}
	recipients, err := a.store.ResolveRecipients(ctx, req.Raise.Unit, level, req.At)
	if err != nil {
		return NotifyResult{}, translate(err)
	}
	ns := alert.Notifications(req.Raise, req.Step, req.Kind, req.Level.Channels, recipients, req.At)
	if len(ns) == 0 && req.Kind == "" {
		e := alert.UnreachableEvent(req.Step, alert.UnreachableNote(level, req.Raise.Unit, recipients), req.At)
		if err := a.store.RecordUnreachable(ctx, req.Raise.AlertID, req.Step, req.Escalated, e); err != nil {
			return NotifyResult{}, translate(err)
		}
		return NotifyResult{Unreachable: &e}, nil
	}
	if err := a.store.RecordNotifications(ctx, req.Raise.AlertID, req.Step, req.Escalated, ns, req.At); err != nil {
		return NotifyResult{}, translate(err)
	}
	return NotifyResult{Notifications: ns}, nil
}

// TransitionRequest records a change of an alert's status.
type TransitionRequest struct {
	AlertID        uuid.UUID `json:"alertId"`
	PractitionerID uuid.UUID `json:"practitionerId,omitzero"`
	Name           string    `json:"name,omitempty"`
	Note           string    `json:"note,omitempty"`
	At             time.Time `json:"at"`
	// Audit is the audit record of the API request that asked for the
	// change, stored with it; nil when the change has no such request.
	Audit *audit.Record `json:"audit,omitempty"`
}

// RecordAcknowledged marks the alert acknowledged in the read model.
func (a *Activities) RecordAcknowledged(ctx context.Context, req TransitionRequest) error {
	if req.AlertID == uuid.Nil || req.PractitionerID == uuid.Nil {
		return invalid(errors.New("alertId and practitionerId are required"))
	}
	return translate(a.store.RecordAcknowledged(ctx, req.AlertID, req.PractitionerID, req.Name, req.At, req.Audit))
}

// RecordResolved marks the alert resolved in the read model.
func (a *Activities) RecordResolved(ctx context.Context, req TransitionRequest) error {
	if req.AlertID == uuid.Nil || req.PractitionerID == uuid.Nil {
		return invalid(errors.New("alertId and practitionerId are required"))
	}
	return translate(a.store.RecordResolved(ctx, req.AlertID, req.PractitionerID, req.Name, req.Note, req.At, req.Audit))
}

// RecordExhausted marks the alert exhausted in the read model.
func (a *Activities) RecordExhausted(ctx context.Context, req TransitionRequest) error {
	if req.AlertID == uuid.Nil {
		return invalid(errors.New("alertId is required"))
	}
	return translate(a.store.RecordExhausted(ctx, req.AlertID, req.At))
}

// UndeliverableRequest closes an alert no level could deliver.
type UndeliverableRequest struct {
	Raise alert.Raise `json:"raise"`
	// Reasons are the notes of the levels that had nobody to notify.
	Reasons []string  `json:"reasons"`
	At      time.Time `json:"at"`
}

// RecordUndeliverable raises the operator alarm for an alert that no level
// of its policy could deliver: an email to the fallback contact, through the
// outbox like every notification, and the alert closed as undeliverable in
// the read model, in one transaction. Without a fallback contact the alert
// is still closed as undeliverable (listed and counted by the metric), and
// the missing configuration is logged as an error.
func (a *Activities) RecordUndeliverable(ctx context.Context, req UndeliverableRequest) ([]alert.Notification, error) {
	if req.Raise.AlertID == uuid.Nil || req.At.IsZero() {
		return nil, invalid(errors.New("alertId and at are required"))
	}
	var ns []alert.Notification
	if a.fallback != "" {
		ns = append(ns, alert.FallbackNotification(req.Raise, a.fallback, req.Reasons, req.At))
	} else {
		activity.GetLogger(ctx).Error("alert reached nobody and no fallback contact is configured",
			"alertId", req.Raise.AlertID, "unit", req.Raise.Unit)
	}
	e := alert.UndeliverableEvent(a.fallback, req.At)
	if err := a.store.RecordUndeliverable(ctx, req.Raise.AlertID, e, ns); err != nil {
		return nil, translate(err)
	}
	return ns, nil
}

// invalid wraps err as a non-retryable ApplicationError.
func invalid(err error) error { return process.InvalidInput(err) }

// translate makes errors no retry can fix non-retryable: a missing alert or
// policy, or invalid data. Anything else (a database outage) is retried.
func translate(err error) error {
	var v *domain.ValidationError
	if err != nil && (errors.Is(err, domain.ErrNotFound) || errors.As(err, &v)) {
		return invalid(err)
	}
	return err
}
