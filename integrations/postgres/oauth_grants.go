package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/storage"
)

// The fosite storage interfaces of the authorization code, refresh token,
// PKCE and OpenID Connect flows, on one persister as ory/hydra has them: each
// stored request is a row of oauth_grant_requests under its token's
// signature, and a transaction fosite begins (storage.Transactional) is
// carried in the context, so a refresh token's rotation and its successor's
// issuance commit together.
var (
	_ oauth2.CoreStorage                 = (*OAuthStore)(nil)
	_ oauth2.TokenRevocationStorage      = (*OAuthStore)(nil)
	_ pkce.PKCERequestStorage            = (*OAuthStore)(nil)
	_ openid.OpenIDConnectRequestStorage = (*OAuthStore)(nil)
	_ storage.Transactional              = (*OAuthStore)(nil)
)

// grantKind names what a row of oauth_grant_requests holds.
type grantKind string

const (
	kindCode    grantKind = "code"
	kindRefresh grantKind = "refresh"
	kindPKCE    grantKind = "pkce"
	kindOIDC    grantKind = "oidc"
)

// TokenSession is what the store reads from a fosite session beyond
// fosite's own interface: the sign-in session the tokens belong to (the sid
// claim; empty for machine clients) and the id of the access token about to
// be issued (jti). The auth server's session implements it.
type TokenSession interface {
	AuthSessionID() string
	AccessTokenID() string
}

func sessionIDOf(req fosite.Requester) *uuid.UUID {
	ts, ok := req.GetSession().(TokenSession)
	if !ok {
		return nil
	}
	id, err := uuid.Parse(ts.AuthSessionID())
	if err != nil {
		return nil
	}
	return &id
}

func tokenIDOf(req fosite.Requester) string {
	if ts, ok := req.GetSession().(TokenSession); ok {
		return ts.AccessTokenID()
	}
	return ""
}

type txKey struct{}

// dbtx is what both the pool and a transaction offer.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// db is the transaction ctx carries, or the pool.
func (s *OAuthStore) db(ctx context.Context) dbtx {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return tx
	}
	return s.pool
}

// BeginTX starts a transaction the store's methods called with the returned
// context run in.
func (s *OAuthStore) BeginTX(ctx context.Context) (context.Context, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return ctx, serverError("begin transaction", err)
	}
	return context.WithValue(ctx, txKey{}, tx), nil
}

// Commit commits the transaction of ctx.
func (s *OAuthStore) Commit(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	if !ok {
		return fosite.ErrServerError.WithDebug("commit without a transaction")
	}
	if err := tx.Commit(ctx); err != nil {
		return serverError("commit", err)
	}
	return nil
}

// Rollback rolls back the transaction of ctx.
func (s *OAuthStore) Rollback(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	if !ok {
		return nil
	}
	if err := tx.Rollback(context.WithoutCancel(ctx)); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return serverError("rollback", err)
	}
	return nil
}

// createGrant stores req under (kind, signature).
func (s *OAuthStore) createGrant(ctx context.Context, kind grantKind, signature, accessSignature string, req fosite.Requester) error {
	sess := req.GetSession()
	if sess == nil {
		return fosite.ErrServerError.WithDebug("request has no session")
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return serverError("encode session", err)
	}
	var expires *time.Time
	switch kind {
	case kindCode, kindPKCE, kindOIDC:
		if t := sess.GetExpiresAt(fosite.AuthorizeCode); !t.IsZero() {
			expires = &t
		}
	case kindRefresh:
		if t := sess.GetExpiresAt(fosite.RefreshToken); !t.IsZero() {
			expires = &t
		}
	}
	_, err = s.db(ctx).Exec(ctx, `
		INSERT INTO oauth_grant_requests (kind, signature, request_id, client_id, subject, session_id,
			access_signature, requested_scopes, granted_scopes, requested_audience, granted_audience,
			form, requested_at, expires_at, session)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		kind, signature, req.GetID(), req.GetClient().GetID(), sess.GetSubject(), sessionIDOf(req),
		accessSignature, nonNil(req.GetRequestedScopes()), nonNil(req.GetGrantedScopes()),
		nonNil(req.GetRequestedAudience()), nonNil(req.GetGrantedAudience()),
		req.GetRequestForm().Encode(), req.GetRequestedAt(), expires, data)
	if err != nil {
		return serverError("store "+string(kind), err)
	}
	return nil
}

// getGrant loads the request stored under (kind, signature), decoding its
// session into session. An inactive row is returned with
// fosite.ErrInactiveToken (fosite needs the request to revoke its family).
func (s *OAuthStore) getGrant(ctx context.Context, kind grantKind, signature string, session fosite.Session) (fosite.Requester, error) {
	var (
		req         fosite.Request
		clientID    string
		form        string
		active      bool
		sessionJSON []byte
	)
	err := s.db(ctx).QueryRow(ctx, `
		SELECT request_id, client_id, requested_scopes, granted_scopes, requested_audience,
			granted_audience, form, requested_at, active, session
		FROM oauth_grant_requests WHERE kind = $1 AND signature = $2`, kind, signature).
		Scan(&req.ID, &clientID, &req.RequestedScope, &req.GrantedScope, &req.RequestedAudience,
			&req.GrantedAudience, &form, &req.RequestedAt, &active, &sessionJSON)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fosite.ErrNotFound.WithWrap(err).WithDebugf("%s not found", kind)
	}
	if err != nil {
		return nil, serverError("get "+string(kind), err)
	}
	client, err := scanClient(s.db(ctx).QueryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, clientID))
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fosite.ErrNotFound.WithWrap(err).WithDebugf("oauth client %q not found", clientID)
		}
		return nil, serverError("get oauth client", err)
	}
	if session == nil {
		session = &openid.DefaultSession{}
	}
	if err := json.Unmarshal(sessionJSON, session); err != nil {
		return nil, serverError("decode session", err)
	}
	if req.Form, err = url.ParseQuery(form); err != nil {
		return nil, serverError("decode request form", err)
	}
	req.Client = client
	req.Session = session
	if !active {
		if kind == kindCode {
			return &req, fosite.ErrInvalidatedAuthorizeCode
		}
		return &req, fosite.ErrInactiveToken
	}
	return &req, nil
}

func (s *OAuthStore) deleteGrant(ctx context.Context, kind grantKind, signature string) error {
	if _, err := s.db(ctx).Exec(ctx, `DELETE FROM oauth_grant_requests WHERE kind = $1 AND signature = $2`, kind, signature); err != nil {
		return serverError("delete "+string(kind), err)
	}
	return nil
}

// CreateAuthorizeCodeSession stores the request an authorization code was issued for.
func (s *OAuthStore) CreateAuthorizeCodeSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createGrant(ctx, kindCode, signature, "", req)
}

// GetAuthorizeCodeSession returns the request of an authorization code;
// fosite.ErrInvalidatedAuthorizeCode (with the request) once it was used.
func (s *OAuthStore) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getGrant(ctx, kindCode, signature, session)
}

// InvalidateAuthorizeCodeSession marks an authorization code used.
func (s *OAuthStore) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	if _, err := s.db(ctx).Exec(ctx, `UPDATE oauth_grant_requests SET active = false WHERE kind = $1 AND signature = $2`, kindCode, signature); err != nil {
		return serverError("invalidate authorization code", err)
	}
	return nil
}

// CreateRefreshTokenSession stores the request a refresh token was issued
// for, with the access token issued beside it.
func (s *OAuthStore) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, req fosite.Requester) error {
	return s.createGrant(ctx, kindRefresh, signature, accessSignature, req)
}

// GetRefreshTokenSession returns the request of a refresh token;
// fosite.ErrInactiveToken (with the request) once it was rotated, which is
// how fosite detects its reuse.
func (s *OAuthStore) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getGrant(ctx, kindRefresh, signature, session)
}

// DeleteRefreshTokenSession removes a refresh token.
func (s *OAuthStore) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.deleteGrant(ctx, kindRefresh, signature)
}

// RotateRefreshToken marks the refresh token with signature used: presented
// again, it is reuse, and revokes its family (RevokeRefreshToken). Two
// refreshes racing with one token cannot both rotate it: the second gets
// fosite.ErrSerializationFailure.
func (s *OAuthStore) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	tag, err := s.db(ctx).Exec(ctx, `
		UPDATE oauth_grant_requests SET active = false
		WHERE kind = $1 AND signature = $2 AND request_id = $3 AND active`, kindRefresh, signature, requestID)
	if err != nil {
		return serverError("rotate refresh token", err)
	}
	if tag.RowsAffected() == 0 {
		return fosite.ErrSerializationFailure.WithDebug("the refresh token was rotated by a concurrent request")
	}
	return nil
}

// RevokeRefreshToken revokes the whole family of refresh tokens of the grant
// requestID — on reuse of a rotated one, on RFC 7009 revocation and on reuse
// of an authorization code — and with them their sign-in sessions, whose
// access tokens the revocation list refuses from then on.
func (s *OAuthStore) RevokeRefreshToken(ctx context.Context, requestID string) error {
	db := s.db(ctx)
	rows, err := db.Query(ctx, `
		WITH gone AS (
			DELETE FROM oauth_grant_requests WHERE kind = $1 AND request_id = $2 RETURNING session_id
		)
		SELECT session_id FROM gone WHERE session_id IS NOT NULL
		UNION SELECT session_id FROM oauth_access_tokens WHERE request_id = $2 AND session_id IS NOT NULL`,
		kindRefresh, requestID)
	if err != nil {
		return serverError("revoke refresh tokens", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[*uuid.UUID])
	if err != nil {
		return serverError("revoke refresh tokens", err)
	}
	seen := map[uuid.UUID]bool{}
	for _, id := range ids {
		if id == nil || seen[*id] {
			continue
		}
		seen[*id] = true
		if err := revokeSession(ctx, db, *id, "refresh token family revoked"); err != nil {
			return serverError("revoke session", err)
		}
	}
	return nil
}

// CreatePKCERequestSession stores an authorization request's PKCE challenge.
func (s *OAuthStore) CreatePKCERequestSession(ctx context.Context, signature string, req fosite.Requester) error {
	return s.createGrant(ctx, kindPKCE, signature, "", req)
}

// GetPKCERequestSession returns an authorization request's PKCE challenge.
func (s *OAuthStore) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	return s.getGrant(ctx, kindPKCE, signature, session)
}

// DeletePKCERequestSession removes a PKCE challenge once it was checked.
func (s *OAuthStore) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.deleteGrant(ctx, kindPKCE, signature)
}

// oidcKey stores an OpenID Connect request under a hash of the code, never
// the code itself.
func oidcKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// CreateOpenIDConnectSession stores the OpenID Connect request of an authorization code.
func (s *OAuthStore) CreateOpenIDConnectSession(ctx context.Context, code string, req fosite.Requester) error {
	return s.createGrant(ctx, kindOIDC, oidcKey(code), "", req)
}

// GetOpenIDConnectSession returns the OpenID Connect request of an
// authorization code, or openid.ErrNoSessionFound.
func (s *OAuthStore) GetOpenIDConnectSession(ctx context.Context, code string, req fosite.Requester) (fosite.Requester, error) {
	r, err := s.getGrant(ctx, kindOIDC, oidcKey(code), req.GetSession())
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, openid.ErrNoSessionFound
	}
	return r, err
}

// DeleteOpenIDConnectSession removes the OpenID Connect request of an authorization code.
func (s *OAuthStore) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.deleteGrant(ctx, kindOIDC, oidcKey(code))
}

// DeleteExpiredGrants removes the records of access tokens, and the codes,
// challenges and refresh tokens, that expired before t, and the sign-in
// flows and revocations no longer needed, reporting how many rows went.
func (s *OAuthStore) DeleteExpiredGrants(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM oauth_access_tokens WHERE expires_at < $1`,
		`DELETE FROM oauth_grant_requests WHERE expires_at < $1`,
		`DELETE FROM auth_signin_flows WHERE expires_at < $1`,
		`DELETE FROM auth_revocations WHERE expires_at < $1`,
	} {
		tag, err := s.pool.Exec(ctx, q, t)
		if err != nil {
			return total, fmt.Errorf("delete expired grants: %w", err)
		}
		total += tag.RowsAffected()
	}
	return total, nil
}
