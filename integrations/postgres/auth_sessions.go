package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain/identity"
)

// The kinds of revocation: every access token of a session (sid), of a user
// (sub) or of a client (client_id) issued at or before the revocation, or
// one token (jti).
const (
	RevokeSession = "session"
	RevokeUser    = "user"
	RevokeClient  = "client"
	RevokeToken   = "token"
)

// RevocationKeep is how long a revocation stays on the list: the longest
// access-token lifetime the configuration allows (JWT_EXPIRES_IN is capped
// at one hour) plus the verifiers' clock leeway, with room to spare. After
// it, every token the revocation covers has expired anyway.
const RevocationKeep = time.Hour + 5*time.Minute

// revocationChannel is the NOTIFY channel a revocation signals on commit;
// every verifier listens on it and reloads the list.
const revocationChannel = "auth_revoked"

// Revocation is one entry of the revocation list.
type Revocation struct {
	Kind      string
	Subject   string
	RevokedAt time.Time
}

// revoke puts (kind, subject) on the revocation list as of now and wakes
// the verifiers on commit.
func revoke(ctx context.Context, db execer, kind, subject, reason string) error {
	_, err := db.Exec(ctx, `
		WITH r AS (
			INSERT INTO auth_revocations (kind, subject, revoked_at, expires_at, reason)
			VALUES ($1, $2, now(), now() + $3 * interval '1 second', $4)
			ON CONFLICT (kind, subject) DO UPDATE SET revoked_at = EXCLUDED.revoked_at,
				expires_at = EXCLUDED.expires_at, reason = EXCLUDED.reason
		)
		SELECT pg_notify('`+revocationChannel+`', $1 || ':' || $2)`,
		kind, subject, RevocationKeep.Seconds(), reason)
	if err != nil {
		return fmt.Errorf("revoke %s %s: %w", kind, subject, err)
	}
	return nil
}

// revokeSession ends the sign-in session id: no refresh token of it works
// any more, the records of its access tokens go, and its sid goes on the
// revocation list.
func revokeSession(ctx context.Context, db dbtx, id uuid.UUID, reason string) error {
	if _, err := db.Exec(ctx, `
		UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
		WHERE id = $1 AND revoked_at IS NULL`, id, reason); err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM oauth_grant_requests WHERE session_id = $1`, id); err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	if _, err := db.Exec(ctx, `DELETE FROM oauth_access_tokens WHERE session_id = $1`, id); err != nil {
		return fmt.Errorf("revoke session %s: %w", id, err)
	}
	return revoke(ctx, db, RevokeSession, id.String(), reason)
}

const authSessionColumns = `id, user_id, client_id, amr, source_ip, user_agent, created_at, last_used_at,
	expires_at, revoked_at, revoked_reason`

func scanAuthSession(row pgx.Row) (identity.Session, error) {
	var s identity.Session
	err := row.Scan(&s.ID, &s.UserID, &s.ClientID, &s.AMR, &s.SourceIP, &s.UserAgent, &s.CreatedAt,
		&s.LastUsedAt, &s.ExpiresAt, &s.RevokedAt, &s.RevokedReason)
	return s, err
}

// CreateAuthSession stores a new sign-in session.
func (s *OAuthStore) CreateAuthSession(ctx context.Context, sess identity.Session) error {
	_, err := s.db(ctx).Exec(ctx, `
		INSERT INTO auth_sessions (id, user_id, client_id, amr, source_ip, user_agent, created_at, last_used_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
		sess.ID, sess.UserID, sess.ClientID, nonNil(sess.AMR), sess.SourceIP, sess.UserAgent, sess.CreatedAt, sess.ExpiresAt)
	return translate(err, "create session")
}

// GetAuthSession returns the session with id, or domain.ErrNotFound.
func (s *OAuthStore) GetAuthSession(ctx context.Context, id uuid.UUID) (identity.Session, error) {
	sess, err := scanAuthSession(s.db(ctx).QueryRow(ctx, `SELECT `+authSessionColumns+` FROM auth_sessions WHERE id = $1`, id))
	return sess, translate(err, "get session "+id.String())
}

// maxSessionsListed caps a list of one user's sessions.
const maxSessionsListed = 200

// ListAuthSessions returns the sessions of the user with userID, newest
// first: the active ones, and with ended also those revoked or expired.
func (s *OAuthStore) ListAuthSessions(ctx context.Context, userID uuid.UUID, ended bool) ([]identity.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+authSessionColumns+` FROM auth_sessions
		WHERE user_id = $1 AND ($2 OR (revoked_at IS NULL AND expires_at > now()))
		ORDER BY created_at DESC, id DESC LIMIT $3`, userID, ended, maxSessionsListed)
	if err != nil {
		return nil, translate(err, "list sessions")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity.Session, error) { return scanAuthSession(r) })
	return out, translate(err, "list sessions")
}

// TouchAuthSession records that a token was just issued in session id.
func (s *OAuthStore) TouchAuthSession(ctx context.Context, id uuid.UUID) error {
	_, err := s.db(ctx).Exec(ctx, `UPDATE auth_sessions SET last_used_at = now() WHERE id = $1`, id)
	return translate(err, "touch session")
}

// RevokeAuthSession ends the session id at once: its refresh tokens stop
// working and its access tokens are refused from then on. Revoking an ended
// session changes nothing. It returns the session as it now is, or
// domain.ErrNotFound.
func (s *OAuthStore) RevokeAuthSession(ctx context.Context, id uuid.UUID, reason string) (identity.Session, error) {
	var sess identity.Session
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := revokeSession(ctx, tx, id, reason); err != nil {
			return err
		}
		var err error
		sess, err = scanAuthSession(tx.QueryRow(ctx, `SELECT `+authSessionColumns+` FROM auth_sessions WHERE id = $1`, id))
		return translate(err, "get session "+id.String())
	})
	return sess, err
}

// RevokeTokens puts (kind, subject) on the revocation list now, with reason.
func (s *OAuthStore) RevokeTokens(ctx context.Context, kind, subject, reason string) error {
	return revoke(ctx, s.db(ctx), kind, subject, reason)
}

// Revocations returns the revocation list as of now: the entries whose
// tokens may still be alive.
func (s *OAuthStore) Revocations(ctx context.Context) ([]Revocation, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, subject, revoked_at FROM auth_revocations WHERE expires_at > now()`)
	if err != nil {
		return nil, fmt.Errorf("load revocations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Revocation, error) {
		var v Revocation
		err := r.Scan(&v.Kind, &v.Subject, &v.RevokedAt)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("load revocations: %w", err)
	}
	return out, nil
}

// RevocationWatcher waits for changes of the revocation list over one
// dedicated LISTEN connection.
type RevocationWatcher struct {
	w *notifyWaiter
}

// WatchRevocations returns a watcher on the revocation list.
func (s *OAuthStore) WatchRevocations() *RevocationWatcher {
	return &RevocationWatcher{w: &notifyWaiter{pool: s.pool, channel: revocationChannel}}
}

// Wait returns when a revocation was committed or timeout passed, whichever
// comes first; an error when ctx ends or the connection fails.
func (w *RevocationWatcher) Wait(ctx context.Context, timeout time.Duration) error {
	return w.w.wait(ctx, timeout)
}

// Close releases the watcher's connection.
func (w *RevocationWatcher) Close() { w.w.close() }
