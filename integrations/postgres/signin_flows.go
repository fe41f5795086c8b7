package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SignInFlow is a sign-in in progress at the authorization endpoint.
type SignInFlow struct {
	// ID is the SHA-256 (hex) of the secret in the browser's cookie.
	ID        string
	CSRFToken string
	// Query is the authorization request as the client sent it.
	Query    string
	ClientID string
	// UserID is set once the password was checked.
	UserID *uuid.UUID
	// Step is what the flow waits for: password, otp, enrol, recovery-codes
	// or consent.
	Step string
	// AMR lists the factors proven so far: pwd, otp.
	AMR      []string
	AuthTime *time.Time
	// PendingTOTP is the sealed TOTP key shown during enrolment.
	PendingTOTP []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

const signInFlowColumns = `id, csrf_token, query, client_id, user_id, step, amr, auth_time, pending_totp, created_at, expires_at`

// CreateSignInFlow stores a new flow.
func (s *OAuthStore) CreateSignInFlow(ctx context.Context, f SignInFlow) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO auth_signin_flows (`+signInFlowColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ID, f.CSRFToken, f.Query, f.ClientID, f.UserID, f.Step, nonNil(f.AMR), f.AuthTime, f.PendingTOTP, f.CreatedAt, f.ExpiresAt)
	return translate(err, "create sign-in flow")
}

// GetSignInFlow returns the flow with id unless it expired before now, or
// domain.ErrNotFound.
func (s *OAuthStore) GetSignInFlow(ctx context.Context, id string, now time.Time) (SignInFlow, error) {
	var f SignInFlow
	err := s.pool.QueryRow(ctx, `SELECT `+signInFlowColumns+` FROM auth_signin_flows WHERE id = $1 AND expires_at > $2`, id, now).
		Scan(&f.ID, &f.CSRFToken, &f.Query, &f.ClientID, &f.UserID, &f.Step, &f.AMR, &f.AuthTime, &f.PendingTOTP, &f.CreatedAt, &f.ExpiresAt)
	return f, translate(err, "get sign-in flow")
}

// UpdateSignInFlow saves the progress of flow f.
func (s *OAuthStore) UpdateSignInFlow(ctx context.Context, f SignInFlow) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE auth_signin_flows SET user_id = $2, step = $3, amr = $4, auth_time = $5, pending_totp = $6
		WHERE id = $1`, f.ID, f.UserID, f.Step, nonNil(f.AMR), f.AuthTime, f.PendingTOTP)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return translate(err, "update sign-in flow")
}

// DeleteSignInFlow ends the flow with id.
func (s *OAuthStore) DeleteSignInFlow(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM auth_signin_flows WHERE id = $1`, id)
	return translate(err, "delete sign-in flow")
}
