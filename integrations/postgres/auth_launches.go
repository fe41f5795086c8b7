package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/identity"
)

// launchDigest is what is stored of a launch value.
func launchDigest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// CreateLaunch stores the launch context l under the opaque value the app
// will present. A patient that does not exist is a *domain.ValidationError
// on patientId.
func (s *OAuthStore) CreateLaunch(ctx context.Context, value string, l identity.Launch) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO auth_launches (id_hash, patient_id, encounter_id, client_id, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		launchDigest(value), l.PatientID, l.EncounterID, l.ClientID, l.UserID, l.CreatedAt, l.ExpiresAt)
	return translate(err, "create launch")
}

// UseLaunch returns the launch context stored under value and marks it
// used, so it opens one sign-in only. A value that is unknown, expired at
// now or already used is domain.ErrNotFound.
func (s *OAuthStore) UseLaunch(ctx context.Context, value string, now time.Time) (identity.Launch, error) {
	var l identity.Launch
	err := s.pool.QueryRow(ctx, `
		UPDATE auth_launches SET used_at = $2
		WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING patient_id, encounter_id, client_id, user_id, created_at, expires_at`,
		launchDigest(value), now).Scan(&l.PatientID, &l.EncounterID, &l.ClientID, &l.UserID, &l.CreatedAt, &l.ExpiresAt)
	if err == pgx.ErrNoRows {
		return identity.Launch{}, domain.ErrNotFound
	}
	return l, translate(err, "use launch")
}

// DeleteExpiredLaunches removes launch contexts that expired before t.
func (s *OAuthStore) DeleteExpiredLaunches(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM auth_launches WHERE expires_at < $1`, t)
	return tag.RowsAffected(), translate(err, "delete expired launches")
}
