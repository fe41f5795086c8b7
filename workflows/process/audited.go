package process

import "github.com/zarish-sphere/zarish/domain/audit"

// Audited carries the audit record of the API request that asked for a
// change into the write that makes it, so the change and its record commit
// in one transaction; nil when nobody audits it (another process's change).
// Every Update request of every process embeds it.
type Audited struct {
	Audit *audit.Record `json:"audit,omitempty"`
}

// Auditing is the request's audit slot.
func (a *Audited) Auditing() *Audited { return a }

// Auditable is a request that carries an audit record.
type Auditable interface {
	Auditing() *Audited
}

// WithAudit sets the audit record req carries and returns req.
func WithAudit[R Auditable](req R, rec *audit.Record) R {
	req.Auditing().Audit = rec
	return req
}
