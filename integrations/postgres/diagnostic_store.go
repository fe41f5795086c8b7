package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/outbox"
)

// entityDiagnosticReport names diagnostic reports in audit records and
// event subjects.
const entityDiagnosticReport = "DiagnosticReport"

// Where diagnostic report events come from and where a consumer reads the
// report: orders are placed on the orders collection, and each report is
// read on its own path.
const (
	diagnosticSource = "/v1/diagnostics/orders"
	diagnosticLink   = "/v1/diagnostics/reports/"
)

// maxSummaries bounds the reports one metrics query reads: the newest
// 50,000 of the range.
const maxSummaries = 50000

// diagnosticEventTypes are the event types whose names are not their
// timeline entry's kind: a verified report is published as final, as FHIR
// names the status. The changes after verification and the withdrawal are
// named here too, so the types consumers subscribe to stay as they are
// should an entry's kind be renamed.
var diagnosticEventTypes = map[diagnostic.EventKind]string{
	diagnostic.EventVerified:       "diagnostic-report.final",
	diagnostic.EventAmended:        "diagnostic-report.amended",
	diagnostic.EventAppended:       "diagnostic-report.appended",
	diagnostic.EventCorrected:      "diagnostic-report.corrected",
	diagnostic.EventEnteredInError: "diagnostic-report.entered-in-error",
}

// diagnosticEventType is the event type of a timeline entry:
// diagnostic-report.<kind>, or its name in diagnosticEventTypes.
func diagnosticEventType(k diagnostic.EventKind) string {
	if t, ok := diagnosticEventTypes[k]; ok {
		return t
	}
	return "diagnostic-report." + string(k)
}

// DiagnosticStore keeps the diagnostic reports read model, one row per
// order at its newest version with the summary the quality metrics read,
// and writes an event per timeline entry to the outbox in the same
// transaction: diagnostic-report.<kind> (ordered, specimen-collected,
// result-recorded, …; final for the verification) on the clinical topic,
// keyed by patient, with the report as stored as its data. A correction's
// event thus carries every version of the report, the previous and the new
// values among them.
type DiagnosticStore struct {
	pool       *pgxpool.Pool
	newEventID func() (uuid.UUID, error)
}

// NewDiagnosticStore returns a store on pool.
func NewDiagnosticStore(pool *pgxpool.Pool) *DiagnosticStore {
	return &DiagnosticStore{pool: pool, newEventID: uuid.NewV7}
}

// Create stores a new report (version 1: its ordered entry) with its
// diagnostic-report.ordered event, rec (the request's audit record, when not
// nil) and starts, the rows that start its workflow should the caller's own
// start not happen, in one transaction. With idem, a repeated
// Idempotency-Key with the same body returns the report the first request
// created, as it is now (replay true); another body is
// domain.ErrIdempotencyMismatch. A patient or encounter that does not exist
// is a validation error naming patientId or encounterId; an id already
// stored is domain.ErrConflict.
func (s *DiagnosticStore) Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, r diagnostic.Report,
	starts ...outbox.WorkflowStart) (stored diagnostic.Report, replay bool, err error) {
	if err := checkReportTimeline(r); err != nil {
		return diagnostic.Report{}, false, err
	}
	if r.Version != 1 || r.Timeline[0].Kind != diagnostic.EventOrdered {
		return diagnostic.Report{}, false, fmt.Errorf("create diagnostic report %s: a new report holds its ordered entry alone", r.Order.ID)
	}
	err = withIdempotency(ctx, s.pool, func(tx pgx.Tx) error {
		existing, seen, err := claimIdempotency(ctx, tx, idem, r.Order.ID)
		if err != nil {
			return err
		}
		if replay = seen; seen {
			if stored, err = loadResource[diagnostic.Report](ctx, tx, "diagnostic_reports", existing, false); err != nil {
				return err
			}
			return auditEntity(ctx, tx, rec, entityDiagnosticReport, stored.Order.ID, stored.Order.PatientID)
		}
		resource, summary, err := reportColumns(r)
		if err != nil {
			return err
		}
		o := r.Order
		tests := make([]string, len(o.Items))
		for i, it := range o.Items {
			tests[i] = it.Code
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO diagnostic_reports (id, patient_id, encounter_id, status, category, priority, tests, version,
				resource, summary, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			o.ID, o.PatientID, o.EncounterID, string(r.Status), string(o.Category()), string(o.Priority), tests, r.Version,
			resource, summary, o.CreatedAt, r.UpdatedAt)
		if err != nil {
			return translate(err, "insert diagnostic report "+o.ID.String())
		}
		if err := s.appendReportEvents(ctx, tx, r, 0); err != nil {
			return err
		}
		if err := appendWorkflowStarts(ctx, tx, starts...); err != nil {
			return err
		}
		stored = r
		return auditEntity(ctx, tx, rec, entityDiagnosticReport, o.ID, o.PatientID)
	})
	if err != nil {
		return diagnostic.Report{}, false, err
	}
	return stored, replay, nil
}

// ByPlacer is every order another system placed with placer order number
// number (diagnostic.Placer), whoever sent it, oldest first; none is an
// empty list.
func (s *DiagnosticStore) ByPlacer(ctx context.Context, number string) ([]diagnostic.Report, error) {
	rows, err := s.pool.Query(ctx, `SELECT resource FROM diagnostic_reports WHERE placer_number = $1 ORDER BY created_at, id LIMIT 20`, number)
	if err != nil {
		return nil, fmt.Errorf("diagnostic reports by placer number: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (diagnostic.Report, error) {
		var (
			raw []byte
			rep diagnostic.Report
		)
		if err := r.Scan(&raw); err != nil {
			return rep, err
		}
		return rep, json.Unmarshal(raw, &rep)
	})
	if err != nil {
		return nil, fmt.Errorf("diagnostic reports by placer number: %w", err)
	}
	return out, nil
}

// MarkStarted records that the caller started the report's workflow
// itself, so the starter leaves its start row alone.
func (s *DiagnosticStore) MarkStarted(ctx context.Context, workflowID string) error {
	return MarkStartedByWorkflow(ctx, s.pool, workflowID)
}

// Record stores r, the report after its newest timeline entry, over the
// stored version, with an event for each entry the stored version did not
// have yet (one, unless the caller skipped a version) and rec, the audit
// record of the request that asked for the change (when not nil), in one
// transaction. An entry already stored changes nothing: an r whose version
// is not newer than the stored one writes nothing and succeeds, so a
// retried write is harmless and the stored version never goes back. The
// order itself never changes: an r of another patient is refused.
// domain.ErrNotFound when the report was never created.
func (s *DiagnosticStore) Record(ctx context.Context, r diagnostic.Report, rec *audit.Record) error {
	if err := checkReportTimeline(r); err != nil {
		return err
	}
	id := r.Order.ID
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			version   int
			patientID uuid.UUID
		)
		err := tx.QueryRow(ctx, `SELECT version, patient_id FROM diagnostic_reports WHERE id = $1 FOR UPDATE`, id).Scan(&version, &patientID)
		if err != nil {
			return translate(err, "diagnostic report "+id.String())
		}
		if patientID != r.Order.PatientID {
			return fmt.Errorf("record diagnostic report %s: a change must keep its patient", id)
		}
		if r.Version <= version {
			return nil // recorded already
		}
		resource, summary, err := reportColumns(r)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE diagnostic_reports SET status = $2, version = $3, resource = $4, summary = $5, updated_at = $6
			WHERE id = $1`, id, string(r.Status), r.Version, resource, summary, r.UpdatedAt)
		if err != nil {
			return translate(err, "update diagnostic report "+id.String())
		}
		if err := s.appendReportEvents(ctx, tx, r, version); err != nil {
			return err
		}
		return auditEntity(ctx, tx, rec, entityDiagnosticReport, id, patientID)
	})
}

// reportColumns encodes the report and its summary for their columns.
func reportColumns(r diagnostic.Report) (resource, summary []byte, err error) {
	if resource, err = json.Marshal(r); err != nil {
		return nil, nil, fmt.Errorf("encode diagnostic report: %w", err)
	}
	if summary, err = json.Marshal(r.Summary()); err != nil {
		return nil, nil, fmt.Errorf("encode diagnostic report summary: %w", err)
	}
	return resource, summary, nil
}

// checkReportTimeline refuses a report whose version is not the length of
// its timeline: the store keys its writes by version, one per entry.
func checkReportTimeline(r diagnostic.Report) error {
	switch {
	case r.Order.ID == uuid.Nil:
		return errors.New("store diagnostic report: the report has no id")
	case r.Version < 1 || r.Version != len(r.Timeline) || r.Last().Seq != r.Version:
		return fmt.Errorf("store diagnostic report %s: version %d does not match its timeline of %d entries",
			r.Order.ID, r.Version, len(r.Timeline))
	}
	return nil
}

// Get returns the report with id, or domain.ErrNotFound.
func (s *DiagnosticStore) Get(ctx context.Context, id uuid.UUID) (diagnostic.Report, error) {
	return loadResource[diagnostic.Report](ctx, s.pool, "diagnostic_reports", id, false)
}

// reportCursor is the keyset position of List: the last report returned.
type reportCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        uuid.UUID `json:"i"`
}

// List returns reports newest order first, one page at a time, of a
// patient, in a status, of a category, with an ordered item and ordered
// within [From, To) when the filter names them; ErrBadCursor for a cursor this store did not
// issue.
func (s *DiagnosticStore) List(ctx context.Context, f diagnostic.ReportFilter) (diagnostic.ReportPage, error) {
	q := newPageQuery(f.Limit)
	if f.PatientID != uuid.Nil {
		q.where("patient_id = " + q.arg(f.PatientID))
	}
	if f.Status != "" {
		q.where("status = " + q.arg(string(f.Status)))
	}
	if f.Category != "" {
		q.where("category = " + q.arg(string(f.Category)))
	}
	if f.Test != "" {
		q.where(q.arg(f.Test) + " = ANY(tests)")
	}
	q.within("created_at", f.From, f.To)
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p reportCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return diagnostic.ReportPage{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	list, err := listResources[diagnostic.Report](ctx, s.pool, "diagnostic_reports",
		q.sql(`SELECT resource FROM diagnostic_reports`, "created_at"), q.args...)
	if err != nil {
		return diagnostic.ReportPage{}, err
	}
	var page diagnostic.ReportPage
	page.Reports, page.Next = cutPage(q, list, func(last diagnostic.Report) string {
		return encodeCursor(reportCursor{CreatedAt: last.Order.CreatedAt, ID: last.Order.ID})
	})
	return page, nil
}

// Summaries returns the summaries the quality metrics read
// (diagnostic.Measure) of the reports ordered within [from, to), of one
// priority and with one ordered item (a test, panel or imaging procedure
// code, as ordered) when priority and test are not empty; newest first, and
// at most the newest 50,000. A zero from or to leaves that end open.
func (s *DiagnosticStore) Summaries(ctx context.Context, from, to time.Time, priority diagnostic.Priority, test string) ([]diagnostic.Summary, error) {
	q := &pageQuery{conds: []string{"true"}}
	q.within("created_at", from, to)
	if priority != "" {
		q.where("priority = " + q.arg(string(priority)))
	}
	if test != "" {
		q.where(q.arg(test) + " = ANY(tests)")
	}
	sql := `SELECT summary FROM diagnostic_reports WHERE ` + strings.Join(q.conds, " AND ") +
		` ORDER BY created_at DESC, id DESC LIMIT ` + q.arg(maxSummaries)
	return listResources[diagnostic.Summary](ctx, s.pool, "diagnostic_reports", sql, q.args...)
}

// appendReportEvents writes the event of each timeline entry of r after
// the first stored ones, in order, each with r as its data.
func (s *DiagnosticStore) appendReportEvents(ctx context.Context, tx pgx.Tx, r diagnostic.Report, stored int) error {
	id := r.Order.ID.String()
	for _, e := range r.Timeline[stored:] {
		err := appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
			Type: diagnosticEventType(e.Kind), PatientID: r.Order.PatientID, Resource: r, Time: e.At,
			Source: diagnosticSource, Subject: entityDiagnosticReport + "/" + id,
			Link: diagnosticLink + id,
		})
		if err != nil {
			return err
		}
	}
	return appendReportDeliveries(ctx, tx, r, stored)
}

// CategoryDiagnosticReport is the category of the in-app notifications a
// report's deliveries ask for: a version sent, or a withdrawal.
const CategoryDiagnosticReport = "diagnostic-report"

// appendReportDeliveries asks, in the report's own write, for the in-app
// messages the timeline entries after the first stored ones ask for
// (diagnostic.Report.Deliveries): a report recorded as sent is delivered.
func appendReportDeliveries(ctx context.Context, tx pgx.Tx, r diagnostic.Report, stored int) error {
	id := r.Order.ID.String()
	return appendMessages(ctx, tx, messagesAbout{
		About: entityDiagnosticReport + "/" + id, PatientID: r.Order.PatientID, Category: CategoryDiagnosticReport,
		Source: diagnosticSource, Link: diagnosticLink + id, At: func(seq int) time.Time { return r.Timeline[seq-1].At },
	}, r.Deliveries(stored))
}
