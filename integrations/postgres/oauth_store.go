package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/zarish-sphere/zarish/domain"
)

// OAuthClient is a registered OAuth2 client. It satisfies fosite.Client: a
// confidential client that authenticates with its secret, or a public one
// (a browser or native app) that holds none and proves itself with PKCE.
type OAuthClient struct {
	ID         string
	Name       string
	SecretHash []byte   // bcrypt hash of the client secret
	Scopes     []string // scopes the client may request, beyond those its roles grant
	Roles      []string // roles the client acts in, e.g. nurse; each grants scopes
	GrantTypes []string // e.g. client_credentials
	Audience   []string // audiences the client may request
	// RedirectURIs are where the authorization endpoint may send a user
	// back; ResponseTypes what it may answer (code).
	RedirectURIs  []string
	ResponseTypes []string
	// Public clients hold no secret: a browser or native app.
	Public bool
	// FirstParty clients are ours: signing in to them skips the consent step.
	FirstParty bool
	CreatedAt  time.Time
	DisabledAt *time.Time // non-nil: the client can no longer authenticate
}

var _ fosite.Client = (*OAuthClient)(nil)

// GetID returns the client id.
func (c *OAuthClient) GetID() string { return c.ID }

// GetHashedSecret returns the bcrypt hash of the client secret.
func (c *OAuthClient) GetHashedSecret() []byte { return c.SecretHash }

// GetRedirectURIs returns where the authorization endpoint may redirect to.
func (c *OAuthClient) GetRedirectURIs() []string { return c.RedirectURIs }

// GetGrantTypes returns the grants the client may use.
func (c *OAuthClient) GetGrantTypes() fosite.Arguments { return c.GrantTypes }

// GetResponseTypes returns what the authorization endpoint may answer the client.
func (c *OAuthClient) GetResponseTypes() fosite.Arguments { return c.ResponseTypes }

// GetScopes returns the client's own scopes; the auth server's client store
// adds those its roles grant before fosite checks a request against them.
func (c *OAuthClient) GetScopes() fosite.Arguments { return c.Scopes }

// IsPublic reports whether the client holds no secret.
func (c *OAuthClient) IsPublic() bool { return c.Public }

// GetAudience returns the audiences the client may request.
func (c *OAuthClient) GetAudience() fosite.Arguments { return c.Audience }

// OAuthStore keeps OAuth2 clients, the records of issued tokens, sign-in
// sessions and the revocation list in PostgreSQL. It is the one persister of
// the fosite storage interfaces (fosite.ClientManager, oauth2.CoreStorage,
// oauth2.TokenRevocationStorage, PKCE and OpenID Connect request storage;
// see oauth_grants.go), plus client administration.
//
// Methods called by fosite report a missing row as fosite.ErrNotFound and any
// other database failure as fosite.ErrServerError wrapping the cause, so the
// token endpoint answers 500 server_error rather than a misleading 4xx. The
// administration methods report domain errors instead.
type OAuthStore struct {
	pool *pgxpool.Pool
}

var (
	_ fosite.ClientManager      = (*OAuthStore)(nil)
	_ oauth2.AccessTokenStorage = (*OAuthStore)(nil)
)

// NewOAuthStore returns a store on pool.
func NewOAuthStore(pool *pgxpool.Pool) *OAuthStore {
	return &OAuthStore{pool: pool}
}

const clientColumns = `id, name, secret_hash, scopes, roles, grant_types, audience, created_at, disabled_at,
	redirect_uris, response_types, public, first_party`

func scanClient(row pgx.Row) (*OAuthClient, error) {
	var c OAuthClient
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Scopes, &c.Roles, &c.GrantTypes, &c.Audience, &c.CreatedAt, &c.DisabledAt,
		&c.RedirectURIs, &c.ResponseTypes, &c.Public, &c.FirstParty)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CreateClient registers c. A client with the same id yields domain.ErrConflict.
func (s *OAuthStore) CreateClient(ctx context.Context, c OAuthClient) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO oauth_clients (id, name, secret_hash, scopes, roles, grant_types, audience,
			redirect_uris, response_types, public, first_party)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.Name, nonNilBytes(c.SecretHash), nonNil(c.Scopes), nonNil(c.Roles), nonNil(c.GrantTypes), nonNil(c.Audience),
		nonNil(c.RedirectURIs), nonNil(c.ResponseTypes), c.Public, c.FirstParty)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("oauth client %q: %w", c.ID, domain.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create oauth client %q: %w", c.ID, err)
	}
	return nil
}

// EnsureClient registers c unless a client with its id exists, in which case
// the existing client is left untouched. It reports whether it created c.
func (s *OAuthStore) EnsureClient(ctx context.Context, c OAuthClient) (created bool, err error) {
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO oauth_clients (id, name, secret_hash, scopes, roles, grant_types, audience,
			redirect_uris, response_types, public, first_party)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Name, nonNilBytes(c.SecretHash), nonNil(c.Scopes), nonNil(c.Roles), nonNil(c.GrantTypes), nonNil(c.Audience),
		nonNil(c.RedirectURIs), nonNil(c.ResponseTypes), c.Public, c.FirstParty)
	if err != nil {
		return false, fmt.Errorf("ensure oauth client %q: %w", c.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// GetOAuthClient returns the client with id, disabled or not, or domain.ErrNotFound.
func (s *OAuthStore) GetOAuthClient(ctx context.Context, id string) (OAuthClient, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return OAuthClient{}, fmt.Errorf("oauth client %q: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return OAuthClient{}, fmt.Errorf("get oauth client %q: %w", id, err)
	}
	return *c, nil
}

// SetClientAccess replaces the scopes and roles of the client with id; the
// new access applies to the tokens issued from now on. An unknown id yields
// domain.ErrNotFound.
func (s *OAuthStore) SetClientAccess(ctx context.Context, id string, scopes, roles []string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE oauth_clients SET scopes = $2, roles = $3 WHERE id = $1`,
		id, nonNil(scopes), nonNil(roles))
	if err != nil {
		return fmt.Errorf("set access of oauth client %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("oauth client %q: %w", id, domain.ErrNotFound)
	}
	return nil
}

// DisableClient stops the client with id from authenticating and puts the
// tokens already issued to it on the revocation list, so they are refused
// from then on. An unknown id yields domain.ErrNotFound.
func (s *OAuthStore) DisableClient(ctx context.Context, id string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE oauth_clients SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL`, id)
		if err != nil {
			return fmt.Errorf("disable oauth client %q: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			_, err := s.GetOAuthClient(ctx, id)
			return err
		}
		return revoke(ctx, tx, RevokeClient, id, "client disabled")
	})
}

// GetClient loads an enabled client for fosite; unknown and disabled clients
// yield fosite.ErrNotFound.
func (s *OAuthStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `
		SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1 AND disabled_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fosite.ErrNotFound.WithWrap(err).WithDebugf("oauth client %q not found", id)
	}
	if err != nil {
		return nil, serverError("get oauth client", err)
	}
	return c, nil
}

// errClientAssertionUnsupported answers the JWT client assertion checks:
// clients authenticate with a secret only (client_secret_basic or
// client_secret_post), never with private_key_jwt or client_secret_jwt, so no
// assertion id is ever recorded.
var errClientAssertionUnsupported = fosite.ErrInvalidClient.WithHint(
	"Client assertions are not supported; authenticate with client_secret_basic or client_secret_post.")

// ClientAssertionJWTValid always fails: client assertions are not supported.
func (s *OAuthStore) ClientAssertionJWTValid(context.Context, string) error {
	return errClientAssertionUnsupported
}

// SetClientAssertionJWT always fails: client assertions are not supported.
func (s *OAuthStore) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return errClientAssertionUnsupported
}

// CreateAccessTokenSession records an issued access token under its signature.
func (s *OAuthStore) CreateAccessTokenSession(ctx context.Context, signature string, req fosite.Requester) error {
	sess := req.GetSession()
	if sess == nil {
		return fosite.ErrServerError.WithDebug("access token request has no session")
	}
	expires := sess.GetExpiresAt(fosite.AccessToken)
	if expires.IsZero() {
		return fosite.ErrServerError.WithDebug("access token session has no expiry")
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return serverError("encode access token session", err)
	}
	_, err = s.db(ctx).Exec(ctx, `
		INSERT INTO oauth_access_tokens (signature, request_id, client_id, subject,
			requested_scopes, granted_scopes, requested_audience, granted_audience,
			requested_at, expires_at, session, token_id, session_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		signature, req.GetID(), req.GetClient().GetID(), sess.GetSubject(),
		nonNil(req.GetRequestedScopes()), nonNil(req.GetGrantedScopes()),
		nonNil(req.GetRequestedAudience()), nonNil(req.GetGrantedAudience()),
		req.GetRequestedAt(), expires, data, tokenIDOf(req), sessionIDOf(req))
	if err != nil {
		return serverError("record access token", err)
	}
	return nil
}

// GetAccessTokenSession returns the request an access token was issued for,
// decoding the stored session into session (a new oauth2.JWTSession when nil).
func (s *OAuthStore) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var (
		req         fosite.Request
		clientID    string
		sessionJSON []byte
	)
	err := s.db(ctx).QueryRow(ctx, `
		SELECT request_id, client_id, requested_scopes, granted_scopes,
			requested_audience, granted_audience, requested_at, session
		FROM oauth_access_tokens WHERE signature = $1`, signature).
		Scan(&req.ID, &clientID, &req.RequestedScope, &req.GrantedScope,
			&req.RequestedAudience, &req.GrantedAudience, &req.RequestedAt, &sessionJSON)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fosite.ErrNotFound.WithWrap(err).WithDebug("access token not found")
	}
	if err != nil {
		return nil, serverError("get access token", err)
	}
	client, err := scanClient(s.db(ctx).QueryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, clientID))
	if err != nil {
		// The foreign key cascades deletes, so a missing client is a race with its deletion.
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fosite.ErrNotFound.WithWrap(err).WithDebugf("oauth client %q not found", clientID)
		}
		return nil, serverError("get oauth client", err)
	}
	if session == nil {
		session = &oauth2.JWTSession{}
	}
	if err := json.Unmarshal(sessionJSON, session); err != nil {
		return nil, serverError("decode access token session", err)
	}
	req.Client = client
	req.Session = session
	req.Form = url.Values{}
	return &req, nil
}

// DeleteAccessTokenSession removes the record of the access token with signature.
func (s *OAuthStore) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	if _, err := s.db(ctx).Exec(ctx, `DELETE FROM oauth_access_tokens WHERE signature = $1`, signature); err != nil {
		return serverError("delete access token", err)
	}
	return nil
}

// RevokeAccessToken removes the records of the access tokens issued for
// requestID and puts each on the revocation list by its jti: the tokens are
// self-contained JWTs, and the list is how verifiers learn to refuse them.
func (s *OAuthStore) RevokeAccessToken(ctx context.Context, requestID string) error {
	db := s.db(ctx)
	rows, err := db.Query(ctx, `DELETE FROM oauth_access_tokens WHERE request_id = $1 RETURNING token_id`, requestID)
	if err != nil {
		return serverError("revoke access token", err)
	}
	jtis, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return serverError("revoke access token", err)
	}
	for _, jti := range jtis {
		if jti == "" {
			continue
		}
		if err := revoke(ctx, db, RevokeToken, jti, "access token revoked"); err != nil {
			return serverError("revoke access token", err)
		}
	}
	return nil
}

// DeleteExpiredAccessTokens removes the records of access tokens that expired
// before t and reports how many it removed.
func (s *OAuthStore) DeleteExpiredAccessTokens(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM oauth_access_tokens WHERE expires_at < $1`, t)
	if err != nil {
		return 0, fmt.Errorf("delete expired access tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// serverError marks a database failure for fosite as server_error, keeping the
// cause for logs (it is not sent to clients).
func serverError(op string, err error) error {
	err = fmt.Errorf("%s: %w", op, err)
	return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
}

// nonNilBytes turns a nil byte slice into an empty one, for NOT NULL bytea
// columns (a public client has no secret hash).
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nonNil turns a nil slice into an empty one, so NOT NULL array columns get '{}'.
func nonNil[S ~[]string](s S) []string {
	if s == nil {
		return []string{}
	}
	return s
}
