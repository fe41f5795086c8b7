package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/identity"
)

// UserStore keeps the users who sign in: their profile and roles, their
// password hash, TOTP key and recovery codes, and the failed-sign-in count
// behind the lockout.
type UserStore struct {
	pool *pgxpool.Pool
}

// NewUserStore returns a store on pool.
func NewUserStore(pool *pgxpool.Pool) *UserStore { return &UserStore{pool: pool} }

// UserCredentials is what a sign-in checks: the user and their secrets.
type UserCredentials struct {
	User           identity.User
	PasswordHash   string // PHC string
	TOTPSecret     []byte // sealed; nil when not enrolled
	TOTPLastStep   int64
	RecoveryCodes  int // how many unused recovery codes remain
	FailedAttempts int
}

// LockoutPolicy is how the store locks an account after failed sign-ins:
// the Threshold-th consecutive failure locks it for Base, each further one
// for twice as long as the one before, never longer than Max.
type LockoutPolicy struct {
	Threshold int
	Base, Max time.Duration
}

const userColumns = `id, username, display_name, practitioner_id, roles, totp_secret IS NOT NULL,
	locked_until, last_sign_in_at, created_at, updated_at, disabled_at, version`

func userTargets(u *identity.User) []any {
	return []any{&u.ID, &u.Username, &u.DisplayName, &u.PractitionerID, &u.Roles, &u.MFAEnrolled,
		&u.LockedUntil, &u.LastSignInAt, &u.CreatedAt, &u.UpdatedAt, &u.DisabledAt, &u.Version}
}

func scanUser(row pgx.Row) (identity.User, error) {
	var u identity.User
	if err := row.Scan(userTargets(&u)...); err != nil {
		return identity.User{}, err
	}
	return u, nil
}

// CreateUser stores u with passwordHash. A taken username, or a practitioner
// that already has an account, is domain.ErrConflict; an unknown
// practitioner is domain.ErrNotFound.
func (s *UserStore) CreateUser(ctx context.Context, u identity.User, passwordHash string) (identity.User, error) {
	row := s.pool.QueryRow(ctx, `
		INSERT INTO users (id, username, display_name, practitioner_id, roles, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+userColumns,
		u.ID, u.Username, u.DisplayName, u.PractitionerID, nonNil(u.Roles), passwordHash)
	created, err := scanUser(row)
	if err != nil {
		return identity.User{}, translate(err, "create user "+u.Username)
	}
	return created, nil
}

// EnsureUser stores u unless a user with its username exists; it reports
// whether it created it.
func (s *UserStore) EnsureUser(ctx context.Context, u identity.User, passwordHash string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO users (id, username, display_name, practitioner_id, roles, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`,
		u.ID, u.Username, u.DisplayName, u.PractitionerID, nonNil(u.Roles), passwordHash)
	if err != nil {
		return false, translate(err, "ensure user "+u.Username)
	}
	return tag.RowsAffected() == 1, nil
}

// GetUser returns the user with id, disabled or not, or domain.ErrNotFound.
func (s *UserStore) GetUser(ctx context.Context, id uuid.UUID) (identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, translate(err, "get user "+id.String())
}

// ListUsers returns a page of users, newest first.
func (s *UserStore) ListUsers(ctx context.Context, f identity.UserFilter) (identity.UserPage, error) {
	q := newPageQuery(f.Limit)
	if !f.IncludeDisabled {
		q.where("disabled_at IS NULL")
	}
	if f.Role != "" {
		q.where(q.arg(f.Role) + " = ANY (roles)")
	}
	type position struct {
		T  time.Time `json:"t"`
		ID uuid.UUID `json:"i"`
	}
	after, err := decodeCursor(f.Cursor, func(p position) bool { return p.ID != uuid.Nil })
	if err != nil {
		return identity.UserPage{}, err
	}
	if after != nil {
		q.after("created_at", after.T, after.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+userColumns+` FROM users`, "created_at"), q.args...)
	if err != nil {
		return identity.UserPage{}, translate(err, "list users")
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (identity.User, error) { return scanUser(r) })
	if err != nil {
		return identity.UserPage{}, translate(err, "list users")
	}
	users, next := cutPage(q, users, func(u identity.User) string { return encodeCursor(position{u.CreatedAt, u.ID}) })
	return identity.UserPage{Users: users, Next: next}, nil
}

// SetUserRoles replaces the roles of the user with id when its version is
// still version, and puts the user's tokens on the revocation list, so that
// their next refresh is granted what the new roles grant. It returns the
// user before and after. A stale version is domain.ErrVersionMismatch.
func (s *UserStore) SetUserRoles(ctx context.Context, id uuid.UUID, version int, roles []string) (before, after identity.User, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		before, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return translate(err, "get user "+id.String())
		}
		if before.Version != version {
			return fmt.Errorf("user %s is at version %d, not %d: %w", id, before.Version, version, domain.ErrVersionMismatch)
		}
		after, err = scanUser(tx.QueryRow(ctx, `
			UPDATE users SET roles = $2, updated_at = now(), version = version + 1 WHERE id = $1
			RETURNING `+userColumns, id, nonNil(roles)))
		if err != nil {
			return translate(err, "set roles of user "+id.String())
		}
		return revoke(ctx, tx, RevokeUser, id.String(), "roles changed")
	})
	return before, after, err
}

// DisableUser stops the user with id from signing in, revokes their
// sessions and puts their tokens on the revocation list, all at once. A user
// already disabled stays as it was. An unknown id is domain.ErrNotFound.
func (s *UserStore) DisableUser(ctx context.Context, id uuid.UUID) (identity.User, error) {
	var u identity.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `
			UPDATE users SET disabled_at = coalesce(disabled_at, now()), updated_at = now(),
				version = version + CASE WHEN disabled_at IS NULL THEN 1 ELSE 0 END
			WHERE id = $1 RETURNING `+userColumns, id))
		if err != nil {
			return translate(err, "disable user "+id.String())
		}
		if _, err := tx.Exec(ctx, `
			UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'user disabled'
			WHERE user_id = $1 AND revoked_at IS NULL`, id); err != nil {
			return translate(err, "revoke sessions of user "+id.String())
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM oauth_grant_requests WHERE session_id IN (SELECT id FROM auth_sessions WHERE user_id = $1)`, id); err != nil {
			return translate(err, "delete refresh tokens of user "+id.String())
		}
		return revoke(ctx, tx, RevokeUser, id.String(), "user disabled")
	})
	return u, err
}

// SignInRecord returns the credentials of the user with username (normalized
// by the caller), or domain.ErrNotFound.
func (s *UserStore) SignInRecord(ctx context.Context, username string) (UserCredentials, error) {
	return s.credentials(ctx, `lower(username) = $1`, username)
}

// CredentialsOf returns the credentials of the user with id, or domain.ErrNotFound.
func (s *UserStore) CredentialsOf(ctx context.Context, id uuid.UUID) (UserCredentials, error) {
	return s.credentials(ctx, `id = $1`, id)
}

func (s *UserStore) credentials(ctx context.Context, where string, arg any) (UserCredentials, error) {
	var c UserCredentials
	targets := append(userTargets(&c.User), &c.PasswordHash, &c.TOTPSecret, &c.TOTPLastStep, &c.RecoveryCodes, &c.FailedAttempts)
	err := s.pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash, totp_secret, totp_last_step,
		cardinality(recovery_codes), failed_attempts FROM users WHERE `+where, arg).Scan(targets...)
	if err != nil {
		return UserCredentials{}, translate(err, "load credentials")
	}
	return c, nil
}

// RecordSignInFailure counts a failed sign-in of the user with id at now and
// locks the account as policy says. It returns the consecutive failures and,
// when this failure locked the account, until when.
func (s *UserStore) RecordSignInFailure(ctx context.Context, id uuid.UUID, now time.Time, p LockoutPolicy) (failures int, lockedUntil *time.Time, err error) {
	err = s.pool.QueryRow(ctx, `
		UPDATE users SET failed_attempts = failed_attempts + 1,
			locked_until = CASE WHEN failed_attempts + 1 >= $3
				THEN $2::timestamptz + least($5::float8, $4::float8 * power(2, failed_attempts + 1 - $3)) * interval '1 second'
				ELSE locked_until END
		WHERE id = $1
		RETURNING failed_attempts, CASE WHEN failed_attempts >= $3 THEN locked_until END`,
		id, now, p.Threshold, p.Base.Seconds(), p.Max.Seconds()).Scan(&failures, &lockedUntil)
	return failures, lockedUntil, translate(err, "record sign-in failure")
}

// RecordSignIn clears the failure count and lock of the user with id after
// a successful sign-in at now.
func (s *UserStore) RecordSignIn(ctx context.Context, id uuid.UUID, now time.Time) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE users SET failed_attempts = 0, locked_until = NULL, last_sign_in_at = $2 WHERE id = $1`, id, now)
	return translate(err, "record sign-in")
}

// Unlock clears the lock and failure count of the user with id.
func (s *UserStore) Unlock(ctx context.Context, id uuid.UUID) (identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `
		UPDATE users SET failed_attempts = 0, locked_until = NULL, updated_at = now() WHERE id = $1
		RETURNING `+userColumns, id))
	return u, translate(err, "unlock user "+id.String())
}

// SetPassword replaces the password hash of the user with id.
func (s *UserStore) SetPassword(ctx context.Context, id uuid.UUID, hash string) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now(),
			version = version + 1 WHERE id = $1`, id, hash)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return translate(err, "set password of user "+id.String())
}

// EnrolTOTP stores a sealed TOTP key and the hashes of fresh recovery
// codes for the user with id, with step as the last time step used (the
// code that proved the enrolment), replacing any earlier enrolment.
func (s *UserStore) EnrolTOTP(ctx context.Context, id uuid.UUID, sealed []byte, step int64, recoveryHashes []string) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE users SET totp_secret = $2, totp_enrolled_at = now(), totp_last_step = $3,
			recovery_codes = $4, updated_at = now() WHERE id = $1`, id, sealed, step, nonNil(recoveryHashes))
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return translate(err, "enrol TOTP for user "+id.String())
}

// ResetMFA removes the TOTP key and recovery codes of the user with id.
func (s *UserStore) ResetMFA(ctx context.Context, id uuid.UUID) (identity.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `
		UPDATE users SET totp_secret = NULL, totp_enrolled_at = NULL, totp_last_step = 0,
			recovery_codes = '{}', updated_at = now(), version = version + 1 WHERE id = $1
		RETURNING `+userColumns, id))
	return u, translate(err, "reset MFA of user "+id.String())
}

// UseTOTPStep records step as the last TOTP time step the user with id used,
// reporting false when it is not later than the one recorded: a code is
// accepted once (RFC 6238 §5.2).
func (s *UserStore) UseTOTPStep(ctx context.Context, id uuid.UUID, step int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, id, step)
	if err != nil {
		return false, translate(err, "use TOTP step")
	}
	return tag.RowsAffected() == 1, nil
}

// UseRecoveryCode removes the recovery code whose hash is hash from the
// user with id, reporting whether it was there and how many remain. The
// hashes are of random codes, so comparing them in SQL leaks nothing a
// timing could use.
func (s *UserStore) UseRecoveryCode(ctx context.Context, id uuid.UUID, hash string) (ok bool, remaining int, err error) {
	err = s.pool.QueryRow(ctx, `
		UPDATE users SET recovery_codes = array_remove(recovery_codes, $2), updated_at = now()
		WHERE id = $1 AND $2 = ANY (recovery_codes)
		RETURNING cardinality(recovery_codes)`, id, hash).Scan(&remaining)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, translate(err, "use recovery code")
	}
	return true, remaining, nil
}
