package postgres

import (
	"context"
	"sync"
	"time"
)

// Limits of group appends.
const (
	// auditGroupInFlight is how many append statements AuditStore.Append
	// runs at once; callers arriving while all are busy wait and go into
	// the next statement together.
	auditGroupInFlight = 1
	// auditGroupMaxRows caps the records one grouped statement carries.
	auditGroupMaxRows = 1000
	// auditGroupTimeout bounds a statement that carries several callers'
	// records, which no single caller's context may cancel.
	auditGroupTimeout = 10 * time.Second
)

// auditGroup merges the records of concurrent AuditStore.Append calls into
// shared statements — a group commit. With a statement slot free, a call
// runs its own statement at once, so a lone caller waits for nothing; when
// all slots are busy, calls queue, and the next slot to free up takes the
// whole queue in one statement. Each record costs one transaction commit
// (and one commit-time NOTIFY, which PostgreSQL serialises across the
// database) only when the trail is quiet. Every caller still returns only
// after its records committed, or with the error that prevented it.
type auditGroup struct {
	db execer

	mu       sync.Mutex
	pending  []*groupAppend
	inFlight int
}

// groupAppend is one Append call's records waiting in the group.
type groupAppend struct {
	ctx  context.Context
	rows []auditRow
	done chan groupOutcome // receives exactly one outcome
}

// groupOutcome ends a wait: the call's result, or lead=true when the call
// takes over a statement slot and runs the next statement itself.
type groupOutcome struct {
	err  error
	lead bool
}

func (g *auditGroup) append(ctx context.Context, rows []auditRow) error {
	call := &groupAppend{ctx: ctx, rows: rows, done: make(chan groupOutcome, 1)}
	g.mu.Lock()
	if g.inFlight < auditGroupInFlight {
		g.inFlight++
		g.mu.Unlock()
		return g.lead(call)
	}
	g.pending = append(g.pending, call)
	g.mu.Unlock()
	out := <-call.done
	if out.lead {
		return g.lead(call)
	}
	return out.err
}

// lead runs one statement for own and as many queued calls as fit, reports
// to each, then hands the slot to the next queued call or frees it.
func (g *auditGroup) lead(own *groupAppend) error {
	g.mu.Lock()
	group := []*groupAppend{own}
	n := len(own.rows)
	for len(g.pending) > 0 && n+len(g.pending[0].rows) <= auditGroupMaxRows {
		next := g.pending[0]
		g.pending = g.pending[1:]
		if err := next.ctx.Err(); err != nil {
			next.done <- groupOutcome{err: err}
			continue
		}
		group = append(group, next)
		n += len(next.rows)
	}
	g.mu.Unlock()

	errs := g.run(group)
	for i, c := range group[1:] {
		c.done <- groupOutcome{err: errs[i+1]}
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0]
		g.pending = g.pending[1:]
		g.mu.Unlock()
		next.done <- groupOutcome{lead: true}
	} else {
		g.inFlight--
		g.mu.Unlock()
	}
	return errs[0]
}

// run inserts the group's records in one statement. If that fails and the
// group holds several calls, each call's records are tried on their own, so
// one call's bad record (a duplicate id, text PostgreSQL refuses) fails only
// that call; the failed statement wrote nothing, so nothing is written twice.
func (g *auditGroup) run(group []*groupAppend) []error {
	errs := make([]error, len(group))
	if len(group) == 1 {
		errs[0] = insertAudit(group[0].ctx, g.db, group[0].rows)
		return errs
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(group[0].ctx), auditGroupTimeout)
	defer cancel()
	var rows []auditRow
	for _, c := range group {
		rows = append(rows, c.rows...)
	}
	if insertAudit(ctx, g.db, rows) == nil {
		return errs
	}
	for i, c := range group {
		errs[i] = insertAudit(ctx, g.db, c.rows)
	}
	return errs
}
