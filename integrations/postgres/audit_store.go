package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// AuditTopic is where every audit record is published.
const AuditTopic = "zarish.audit.v1"

// auditEventSource is the CloudEvent source of audit events.
const auditEventSource = "/v1/audit"

// auditChannel is the NOTIFY channel AppendAudit signals on commit, waking
// the sealer.
const auditChannel = "audit_unsealed"

// AuditReportLimit caps the records one report returns; a period holding more
// is refused with a validation error naming it, so no report is silently cut
// short. Query pages through any number.
const AuditReportLimit = 10_000

// maxAuditClockSkew is how far ahead of this process's clock a record's time
// may be. A record cannot describe the future, and one dated months ahead
// would land in the default partition and block that month's partition.
const maxAuditClockSkew = time.Hour

// Page sizes of Query.
const (
	defaultAuditPageSize = 50
	maxAuditPageSize     = 1000
)

// AuditStore keeps the audit trail in PostgreSQL: it appends records, lists
// and reports them, and verifies the hash chain the AuditSealer builds.
type AuditStore struct {
	pool  *pgxpool.Pool
	group *auditGroup
}

// NewAuditStore returns a store on pool.
func NewAuditStore(pool *pgxpool.Pool) *AuditStore {
	return &AuditStore{pool: pool, group: &auditGroup{db: pool}}
}

// execer runs one statement: a pool, a connection or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// NotificationsTopic carries alerts and notifications to the dispatcher.
const NotificationsTopic = "zarish.notifications.v1"

// EventBreakGlassAlert is published to NotificationsTopic for every
// break-the-glass access, in the same transaction as its audit record.
const EventBreakGlassAlert = "alert.break-glass"

// AppendAudit stores records inside tx, so they commit or roll back with the
// change they describe. With each record it writes, in the same transaction,
// an outbox event to AuditTopic and a row in the sealer's queue; it wakes the
// sealer and the outbox relay on commit. A record with no ID gets a UUIDv7
// and one with no time gets the current time; times are stored at microsecond
// precision. A record dated more than an hour ahead is refused (a
// *domain.ValidationError), and so is an ID already stored (domain.ErrConflict).
func AppendAudit(ctx context.Context, tx pgx.Tx, records ...audit.Record) error {
	return appendAudit(ctx, tx, records)
}

// Append stores records as AppendAudit does, committed when it returns, but
// in a transaction of its own: a single statement, shared with the records of
// concurrent Append calls when the trail is busy (a group commit), so that a
// record per request does not cost a commit per request. One call's records
// commit together or not at all.
func (s *AuditStore) Append(ctx context.Context, records ...audit.Record) error {
	if len(records) == 0 {
		return nil
	}
	rows, err := prepareAudit(records, time.Now())
	if err != nil {
		return err
	}
	return s.group.append(ctx, rows)
}

// appendAuditSQL writes the events, their queue rows and their outbox events
// in one statement from parallel arrays, one element per record, in the
// order given (so seq, and the relay's publishing order, follow it). Per-row
// arrays (roles, patient ids) travel as array literals: unnest would flatten
// a two-dimensional array.
const appendAuditSQL = `
WITH r AS (
	SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
	                     $7::text[], $8::text[], $9::uuid[], $10::text[], $11::text[], $12::text[],
	                     $13::text[], $14::text[], $15::text[], $16::int[], $17::text[], $18::text[],
	                     $19::text[], $20::text[], $21::text[], $22::text[],
	                     $26::text[], $27::text[], $28::boolean[], $29::text[],
	                     $30::boolean[], $31::text[], $32::text[], $33::text[], $34::text[])
	    WITH ORDINALITY AS r(id, recorded_at, actor_subject, actor_client, actor_roles, action,
	                         entity_type, entity_id, patient_id, patient_ids, source_ip, user_agent,
	                         request_id, method, route, status, purpose, outcome,
	                         break_glass, description, key, data,
	                         actor_user, actor_practitioner, actor_asserted, actor_session,
	                         submitted, submitter_client, submitter_user, submitter_practitioner, service, ord)
), ev AS (
	INSERT INTO audit_events (id, recorded_at, actor_subject, actor_client, actor_roles, action,
	                          entity_type, entity_id, patient_id, patient_ids, source_ip, user_agent,
	                          request_id, method, route, status, purpose, outcome, break_glass, description,
	                          actor_user, actor_practitioner, actor_asserted, actor_session,
	                          submitted, submitter_client, submitter_user, submitter_practitioner, service)
	SELECT id, recorded_at, actor_subject, actor_client, actor_roles::text[], action,
	       entity_type, entity_id, patient_id, patient_ids::uuid[], source_ip, user_agent,
	       request_id, method, route, status, purpose, outcome, break_glass, description,
	       actor_user, actor_practitioner, actor_asserted, actor_session,
	       submitted, submitter_client, submitter_user, submitter_practitioner, service
	FROM r ORDER BY ord
	RETURNING seq, id, recorded_at
), queued AS (
	INSERT INTO audit_unsealed (seq, event_id, recorded_at)
	SELECT seq, id, recorded_at FROM ev
), published AS (
	INSERT INTO outbox (id, topic, key, type, source, subject, time, data)
	SELECT id, $23, key, 'audit.' || action, $24, 'AuditEvent/' || id, recorded_at, data::jsonb
	FROM r ORDER BY ord
), alerted AS (
	-- Break-the-glass access raises an alert for the privacy officer's review.
	INSERT INTO outbox (id, topic, key, type, source, subject, time, data)
	SELECT gen_random_uuid(), $25, key, '` + EventBreakGlassAlert + `', $24, 'AuditEvent/' || id, recorded_at, data::jsonb
	FROM r WHERE break_glass <> '' ORDER BY ord
)
SELECT pg_notify('` + auditChannel + `', ''), pg_notify('` + outboxChannel + `', '')`

func appendAudit(ctx context.Context, db execer, records []audit.Record) error {
	rows, err := prepareAudit(records, time.Now())
	if err != nil {
		return err
	}
	return insertAudit(ctx, db, rows)
}

// auditRow is a record ready to insert: defaults filled in, checked, and its
// event payload encoded.
type auditRow struct {
	rec  audit.Record
	data string // the outbox event data: the record as JSON
}

// prepareAudit fills in each record's id and time, checks what the database
// cannot, and encodes the event payloads.
func prepareAudit(records []audit.Record, now time.Time) ([]auditRow, error) {
	rows := make([]auditRow, len(records))
	for i, r := range records {
		if r.ID == uuid.Nil {
			id, err := uuid.NewV7()
			if err != nil {
				return nil, fmt.Errorf("audit record id: %w", err)
			}
			r.ID = id
		}
		if r.Time.IsZero() {
			r.Time = now
		}
		r.Time = r.Time.UTC().Truncate(time.Microsecond)
		if r.Time.After(now.Add(maxAuditClockSkew)) {
			verr := &domain.ValidationError{}
			verr.Add("time", "is in the future: "+r.Time.Format(time.RFC3339))
			return nil, fmt.Errorf("audit record %s: %w", r.ID, verr)
		}
		if r.Status < 0 || r.Status > 999 {
			verr := &domain.ValidationError{}
			verr.Add("status", "must be an HTTP status")
			return nil, fmt.Errorf("audit record %s: %w", r.ID, verr)
		}
		// An empty submitter reads back as none, so it is stored as none.
		if r.Submitter != nil && *r.Submitter == (audit.Submitter{}) {
			r.Submitter = nil
		}
		if r.Submitted != (r.Submitter != nil) || (r.Submitter != nil && r.Submitter.ClientID == "") {
			verr := &domain.ValidationError{}
			verr.Add("submitter", "a submitted record, and only a submitted one, names the client that submitted it")
			return nil, fmt.Errorf("audit record %s: %w", r.ID, verr)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode audit record %s: %w", r.ID, err)
		}
		// The event obeys the outbox's size cap like every other.
		e, err := capEvent(OutboxEvent{ID: r.ID, Topic: AuditTopic, Key: auditEventKey(r), Type: "audit." + string(r.Action),
			Source: auditEventSource, Subject: "AuditEvent/" + r.ID.String(), Data: b, Link: "/v1/audit/events/" + r.ID.String()})
		if err != nil {
			return nil, fmt.Errorf("audit record %s: %w", r.ID, err)
		}
		rows[i] = auditRow{rec: r, data: string(e.Data)}
	}
	return rows, nil
}

// insertAudit runs appendAuditSQL for rows.
func insertAudit(ctx context.Context, db execer, rows []auditRow) error {
	n := len(rows)
	if n == 0 {
		return nil
	}
	var (
		ids         = make([]uuid.UUID, n)
		times       = make([]time.Time, n)
		subjects    = make([]string, n)
		clients     = make([]string, n)
		roles       = make([]string, n)
		actions     = make([]string, n)
		entityTypes = make([]string, n)
		entityIDs   = make([]string, n)
		patients    = make([]pgtype.UUID, n)
		patientSets = make([]string, n)
		sourceIPs   = make([]string, n)
		userAgents  = make([]string, n)
		requestIDs  = make([]string, n)
		methods     = make([]string, n)
		routes      = make([]string, n)
		statuses    = make([]int32, n)
		purposes    = make([]string, n)
		outcomes    = make([]string, n)
		breakGlass  = make([]string, n)
		descs       = make([]string, n)
		keys        = make([]string, n)
		data        = make([]string, n)
		users       = make([]string, n)
		persons     = make([]string, n)
		asserted    = make([]bool, n)
		sessions    = make([]string, n)
		submitted   = make([]bool, n)
		byClients   = make([]string, n)
		byUsers     = make([]string, n)
		byPersons   = make([]string, n)
		services    = make([]string, n)
	)
	for i, row := range rows {
		r := row.rec
		ids[i], times[i] = r.ID, r.Time
		subjects[i], clients[i], roles[i] = r.Actor.Subject, r.Actor.ClientID, textArrayLiteral(r.Actor.Roles)
		actions[i], entityTypes[i], entityIDs[i] = string(r.Action), r.EntityType, r.EntityID
		if r.PatientID != nil {
			patients[i] = pgtype.UUID{Bytes: *r.PatientID, Valid: true}
		}
		patientSets[i] = uuidArrayLiteral(r.PatientIDs)
		sourceIPs[i], userAgents[i], requestIDs[i] = r.SourceIP, r.UserAgent, r.RequestID
		methods[i], routes[i], statuses[i] = r.Method, r.Route, int32(r.Status)
		purposes[i], outcomes[i] = r.Purpose, string(r.Outcome)
		breakGlass[i], descs[i] = r.BreakGlass, r.Description
		keys[i], data[i] = auditEventKey(r), row.data
		users[i], persons[i], asserted[i], sessions[i] = r.Actor.UserID, r.Actor.PractitionerID, r.Actor.Asserted, r.Actor.SessionID
		submitted[i], services[i] = r.Submitted, r.Service
		if by := r.Submitter; by != nil {
			byClients[i], byUsers[i], byPersons[i] = by.ClientID, by.UserID, by.PractitionerID
		}
	}
	_, err := db.Exec(ctx, appendAuditSQL,
		ids, times, subjects, clients, roles, actions, entityTypes, entityIDs, patients, patientSets,
		sourceIPs, userAgents, requestIDs, methods, routes, statuses, purposes, outcomes, breakGlass, descs,
		keys, data, AuditTopic, auditEventSource, NotificationsTopic, users, persons, asserted, sessions,
		submitted, byClients, byUsers, byPersons, services)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("append %d audit records: an id is already stored: %w", n, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("append %d audit records: %w", n, err)
	}
	return nil
}

// auditEventKey is the Kafka key of a record's event: its patient, so a
// patient's trail stays in order, or else the client that acted.
func auditEventKey(r audit.Record) string {
	switch {
	case r.PatientID != nil:
		return r.PatientID.String()
	case r.Actor.ClientID != "":
		return r.Actor.ClientID
	default:
		return r.Actor.Subject
	}
}

// textArrayLiteral renders ss as a PostgreSQL text[] literal.
func textArrayLiteral(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, c := range []byte(s) {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// uuidArrayLiteral renders ids as a PostgreSQL uuid[] literal.
func uuidArrayLiteral(ids []uuid.UUID) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id.String())
	}
	b.WriteByte('}')
	return b.String()
}

// auditColumns are the columns of an audit_events row (alias e) in the order
// scanAuditRecord reads them.
const auditColumns = `e.id, e.recorded_at, e.actor_subject, e.actor_client, e.actor_roles, e.action,
	e.entity_type, e.entity_id, e.patient_id, e.patient_ids, e.source_ip, e.user_agent, e.request_id,
	e.method, e.route, e.status, e.purpose, e.outcome, e.break_glass, e.description,
	e.actor_user, e.actor_practitioner, e.actor_asserted, e.actor_session,
	e.submitted, e.submitter_client, e.submitter_user, e.submitter_practitioner, e.service`

// auditScanTargets returns the scan destinations for auditColumns, filling r
// and, for the submitter's columns, by.
func auditScanTargets(r *audit.Record, by *audit.Submitter, action, outcome *string, status *int32) []any {
	return []any{&r.ID, &r.Time, &r.Actor.Subject, &r.Actor.ClientID, &r.Actor.Roles, action,
		&r.EntityType, &r.EntityID, &r.PatientID, &r.PatientIDs, &r.SourceIP, &r.UserAgent, &r.RequestID,
		&r.Method, &r.Route, status, &r.Purpose, outcome, &r.BreakGlass, &r.Description,
		&r.Actor.UserID, &r.Actor.PractitionerID, &r.Actor.Asserted, &r.Actor.SessionID,
		&r.Submitted, &by.ClientID, &by.UserID, &by.PractitionerID, &r.Service}
}

// scanAuditRecord reads auditColumns, followed by extra destinations, into a
// record as it was appended.
func scanAuditRecord(row pgx.Row, extra ...any) (audit.Record, error) {
	var (
		r               audit.Record
		by              audit.Submitter
		action, outcome string
		status          int32
	)
	if err := row.Scan(append(auditScanTargets(&r, &by, &action, &outcome, &status), extra...)...); err != nil {
		return audit.Record{}, err
	}
	normalizeAuditRecord(&r, by, action, outcome, status)
	return r, nil
}

// normalizeAuditRecord completes a scanned record: typed fields, UTC time,
// nil rather than empty lists, and the submitter only when there is one,
// as they were before they were stored.
func normalizeAuditRecord(r *audit.Record, by audit.Submitter, action, outcome string, status int32) {
	r.Action, r.Outcome, r.Status = audit.Action(action), audit.Outcome(outcome), int(status)
	if by != (audit.Submitter{}) {
		r.Submitter = &by
	}
	r.Time = r.Time.UTC()
	if len(r.Actor.Roles) == 0 {
		r.Actor.Roles = nil
	}
	if len(r.PatientIDs) == 0 {
		r.PatientIDs = nil
	}
}

// Get returns the audit record with id, or domain.ErrNotFound.
func (s *AuditStore) Get(ctx context.Context, id uuid.UUID) (audit.Record, error) {
	r, err := scanAuditRecord(s.pool.QueryRow(ctx,
		`SELECT `+auditColumns+` FROM audit_events e WHERE e.id = $1 LIMIT 1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Record{}, domain.ErrNotFound
	}
	if err != nil {
		return audit.Record{}, fmt.Errorf("load audit record %s: %w", id, err)
	}
	return r, nil
}

// auditCursor is the keyset position after the last record of a page.
type auditCursor struct {
	Time time.Time `json:"t"`
	ID   uuid.UUID `json:"i"`
}

// auditWhere builds SQL conditions on audit_events (alias e) and their
// arguments.
type auditWhere struct {
	conds []string
	args  []any
}

func (w *auditWhere) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *auditWhere) add(cond string) { w.conds = append(w.conds, cond) }

// actor matches records whose token subject, user or practitioner is actor,
// and records a user or practitioner actor submitted.
func (w *auditWhere) actor(actor string) {
	a := w.arg(actor)
	w.add("(e.actor_subject = " + a + " OR e.actor_user = " + a + " OR e.actor_practitioner = " + a +
		" OR e.submitter_user = " + a + " OR e.submitter_practitioner = " + a + ")")
}

func (w *auditWhere) period(from, to time.Time) {
	if !from.IsZero() {
		w.add("e.recorded_at >= " + w.arg(from))
	}
	if !to.IsZero() {
		w.add("e.recorded_at < " + w.arg(to))
	}
}

func (w *auditWhere) patient(id uuid.UUID) {
	p := w.arg(id)
	w.add("(e.patient_id = " + p + " OR e.patient_ids @> ARRAY[" + p + "::uuid])")
}

func (w *auditWhere) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Query returns one page of the records f selects, newest first, and the
// cursor of the next page ("" on the last). A cursor this store did not issue
// is ErrBadCursor.
func (s *AuditStore) Query(ctx context.Context, f audit.Filter) ([]audit.Record, string, error) {
	cur, err := decodeCursor(f.Cursor, func(p auditCursor) bool { return p.ID != uuid.Nil && !p.Time.IsZero() })
	if err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditPageSize
	}
	limit = min(limit, maxAuditPageSize)

	var w auditWhere
	if f.PatientID != nil {
		w.patient(*f.PatientID)
	}
	if f.Actor != "" {
		w.actor(f.Actor)
	}
	if f.Action != "" {
		w.add("e.action = " + w.arg(string(f.Action)))
	}
	if f.EntityType != "" {
		w.add("e.entity_type = " + w.arg(f.EntityType))
	}
	w.period(f.From, f.To)
	if cur != nil {
		w.add("(e.recorded_at, e.id) < (" + w.arg(cur.Time) + ", " + w.arg(cur.ID) + ")")
	}
	from := "audit_events e" + w.sql()
	if f.PatientID != nil {
		// The planner would rather walk the time index backwards, filtering,
		// than combine the patient indexes and sort: for one patient among
		// millions of records that walk reads most of a partition. Fence the
		// filter so the indexes answer it first.
		from = "(WITH m AS MATERIALIZED (SELECT * FROM " + from + ") SELECT * FROM m) e"
	}
	page, err := s.collect(ctx, `SELECT `+auditColumns+` FROM `+from+
		` ORDER BY e.recorded_at DESC, e.id DESC LIMIT `+strconv.Itoa(limit+1), w.args)
	if err != nil {
		return nil, "", fmt.Errorf("query audit records: %w", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		last := page[limit-1]
		next = encodeCursor(auditCursor{Time: last.Time, ID: last.ID})
	}
	return page, next, nil
}

func (s *AuditStore) collect(ctx context.Context, sql string, args []any) ([]audit.Record, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Record, error) {
		return scanAuditRecord(row)
	})
}

// Disclosures returns every record of access to the patient's data in
// [from, to) — the patient as subject or among a search's results — oldest
// first, for an accounting of disclosures. At most AuditReportLimit records:
// a period holding more is refused with a *domain.ValidationError.
func (s *AuditStore) Disclosures(ctx context.Context, patientID uuid.UUID, from, to time.Time) ([]audit.Record, error) {
	var w auditWhere
	w.patient(patientID)
	w.period(from, to)
	return s.report(ctx, "disclosures", w)
}

// UserActivity returns every record of what the actor did in [from, to),
// oldest first: the actor is a token subject, a user id or a practitioner
// id, so one person's acts are found whichever client they used, and the
// records they submitted too. At most AuditReportLimit records: a period
// holding more is refused with a *domain.ValidationError.
func (s *AuditStore) UserActivity(ctx context.Context, actor string, from, to time.Time) ([]audit.Record, error) {
	var w auditWhere
	w.actor(actor)
	w.period(from, to)
	return s.report(ctx, "user activity", w)
}

// BreakGlass returns every break-the-glass access in [from, to), oldest
// first. At most AuditReportLimit records: a period holding more is refused
// with a *domain.ValidationError.
func (s *AuditStore) BreakGlass(ctx context.Context, from, to time.Time) ([]audit.Record, error) {
	var w auditWhere
	w.add("e.break_glass <> ''")
	w.period(from, to)
	return s.report(ctx, "break-glass", w)
}

func (s *AuditStore) report(ctx context.Context, name string, w auditWhere) ([]audit.Record, error) {
	records, err := s.collect(ctx, `SELECT `+auditColumns+` FROM audit_events e`+w.sql()+
		` ORDER BY e.recorded_at, e.id LIMIT `+strconv.Itoa(AuditReportLimit+1), w.args)
	if err != nil {
		return nil, fmt.Errorf("%s report: %w", name, err)
	}
	if len(records) > AuditReportLimit {
		verr := &domain.ValidationError{}
		verr.Add("from", fmt.Sprintf("the period holds more than %d records; narrow it, or page through the audit events", AuditReportLimit))
		return nil, verr
	}
	return records, nil
}
