package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/zarish-sphere/zarish/domain/audit"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

// AlertStore keeps escalation policies, routing rules and the alerts read
// model, and writes alert notifications to the outbox. It embeds the
// care-team directory that recipients are resolved from.
type AlertStore struct {
	*CareTeamStore
	pool *pgxpool.Pool
}

// NewAlertStore returns a store on pool.
func NewAlertStore(pool *pgxpool.Pool) *AlertStore {
	return &AlertStore{CareTeamStore: NewCareTeamStore(pool), pool: pool}
}

// levelRow is a policy level as stored: the timeout in whole seconds.
type levelRow struct {
	Recipients        []alert.RecipientRule `json:"recipients"`
	Channels          []alert.Channel       `json:"channels"`
	AckTimeoutSeconds int64                 `json:"ackTimeoutSeconds"`
}

// CreatePolicy validates and stores p; domain.ErrConflict if its id is
// taken. rec, when not nil, is the request's audit record, stored in the
// same transaction.
func (s *AlertStore) CreatePolicy(ctx context.Context, rec *audit.Record, p alert.Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	rows := make([]levelRow, 0, len(p.Levels))
	for _, l := range p.Levels {
		rows = append(rows, levelRow{Recipients: l.Recipients, Channels: l.Channels, AckTimeoutSeconds: int64(l.AckTimeout / time.Second)})
	}
	levels, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("encode levels: %w", err)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		roles := make([]string, 0, len(p.ResolverRoles))
		for _, r := range p.ResolverRoles {
			roles = append(roles, string(r))
		}
		_, err := tx.Exec(ctx, `INSERT INTO escalation_policies (id, name, levels, repeat, resolve_reminder_seconds, resolver_roles)
			VALUES ($1, $2, $3, $4, $5, $6)`, p.ID, p.Name, levels, p.Repeat, int64(p.ResolveReminder/time.Second), roles)
		if err != nil {
			return translate(err, "create policy")
		}
		return auditWrite(ctx, tx, rec, "PlanDefinition", p.ID)
	})
}

// GetPolicy returns the policy with id, or domain.ErrNotFound.
func (s *AlertStore) GetPolicy(ctx context.Context, id string) (alert.Policy, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, levels, repeat, resolve_reminder_seconds, resolver_roles
		FROM escalation_policies WHERE id = $1`, id)
	if err != nil {
		return alert.Policy{}, translate(err, "get policy")
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanPolicy)
	return p, translate(err, "policy "+id)
}

// ListPolicies returns every policy, ordered by id.
func (s *AlertStore) ListPolicies(ctx context.Context) ([]alert.Policy, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, levels, repeat, resolve_reminder_seconds, resolver_roles
		FROM escalation_policies ORDER BY id`)
	if err != nil {
		return nil, translate(err, "list policies")
	}
	ps, err := pgx.CollectRows(rows, scanPolicy)
	return ps, translate(err, "list policies")
}

func scanPolicy(r pgx.CollectableRow) (alert.Policy, error) {
	var (
		p        alert.Policy
		raw      []byte
		reminder int64
		roles    []string
	)
	if err := r.Scan(&p.ID, &p.Name, &raw, &p.Repeat, &reminder, &roles); err != nil {
		return p, err
	}
	var levels []levelRow
	if err := json.Unmarshal(raw, &levels); err != nil {
		return p, fmt.Errorf("decode levels of policy %s: %w", p.ID, err)
	}
	for _, l := range levels {
		p.Levels = append(p.Levels, alert.Level{Recipients: l.Recipients, Channels: l.Channels,
			AckTimeout: time.Duration(l.AckTimeoutSeconds) * time.Second})
	}
	p.ResolveReminder = time.Duration(reminder) * time.Second
	for _, role := range roles {
		p.ResolverRoles = append(p.ResolverRoles, careteam.Role(role))
	}
	return p, nil
}

// CreateRoutingRule stores r; domain.ErrConflict when a rule for the same
// category and minimum severity exists, domain.ErrNotFound for an unknown
// policy. rec, when not nil, is the request's audit record, stored in the
// same transaction.
func (s *AlertStore) CreateRoutingRule(ctx context.Context, rec *audit.Record, r alert.RoutingRule) error {
	if !r.MinSeverity.Valid() {
		return fmt.Errorf("routing rule: unknown severity %q", r.MinSeverity)
	}
	if r.ID == uuid.Nil {
		return fmt.Errorf("routing rule: id is required")
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO alert_routing_rules (id, category, min_severity, policy_id)
			VALUES ($1, $2, $3, $4)`, r.ID, r.Category, string(r.MinSeverity), r.PolicyID)
		if err != nil {
			return translate(err, "create routing rule")
		}
		return auditWrite(ctx, tx, rec, "PlanDefinition", r.PolicyID)
	})
}

// ListRoutingRules returns every routing rule.
func (s *AlertStore) ListRoutingRules(ctx context.Context) ([]alert.RoutingRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, category, min_severity, policy_id
		FROM alert_routing_rules ORDER BY category, min_severity, id`)
	if err != nil {
		return nil, translate(err, "list routing rules")
	}
	rules, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.RoutingRule, error) {
		var (
			rr  alert.RoutingRule
			sev string
		)
		err := r.Scan(&rr.ID, &rr.Category, &sev, &rr.PolicyID)
		rr.MinSeverity = alert.Severity(sev)
		return rr, err
	})
	return rules, translate(err, "list routing rules")
}

// SelectPolicy returns the policy the routing rules pick for category and
// severity; alert.ErrNoPolicy when none matches.
func (s *AlertStore) SelectPolicy(ctx context.Context, category string, severity alert.Severity) (alert.Policy, error) {
	rules, err := s.ListRoutingRules(ctx)
	if err != nil {
		return alert.Policy{}, err
	}
	id, err := alert.SelectPolicy(rules, category, severity)
	if err != nil {
		return alert.Policy{}, err
	}
	return s.GetPolicy(ctx, id)
}

// ResolveRecipients returns who level notifies for an alert on unit at the
// instant at, read from the directory and the on-call schedule as they are now.
func (s *AlertStore) ResolveRecipients(ctx context.Context, unit string, level alert.Level, at time.Time) ([]careteam.Practitioner, error) {
	var (
		directory []careteam.Practitioner
		shifts    []careteam.OnCall
	)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var err error
		if shifts, err = listOnCall(ctx, tx, at); err != nil {
			return err
		}
		ids := make([]uuid.UUID, 0, len(shifts)+len(level.Recipients))
		for _, sh := range shifts {
			ids = append(ids, sh.PractitionerID)
		}
		for _, r := range level.Recipients {
			if r.Kind == alert.RecipientPractitioner {
				ids = append(ids, r.PractitionerID)
			}
		}
		rows, err := tx.Query(ctx, `SELECT `+practitionerColumns+` FROM practitioners
			WHERE active AND ($1 = ANY (units) OR id = ANY ($2)) ORDER BY name, id`, unit, ids)
		if err != nil {
			return translate(err, "resolve recipients")
		}
		directory, err = scanPractitioners(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	return alert.ResolveRecipients(level, unit, at, directory, shifts), nil
}
