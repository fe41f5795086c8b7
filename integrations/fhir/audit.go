package fhir

import (
	"github.com/zarish-sphere/zarish/domain/audit"
)

// AuditEvent is an audit record as a FHIR R4 AuditEvent, rendered as the
// audit trail renders it for /v1/audit (audit.Record.FHIR).
type AuditEvent struct {
	audit.FHIRAuditEvent
}

// Ref is AuditEvent/id.
func (e AuditEvent) Ref() string { return "AuditEvent/" + e.ID }

// FromAuditRecord is r as a FHIR AuditEvent.
func FromAuditRecord(r audit.Record) AuditEvent { return AuditEvent{r.FHIR()} }
