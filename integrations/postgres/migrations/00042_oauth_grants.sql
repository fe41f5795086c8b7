-- +goose Up
-- Clients that sign people in: where the authorization endpoint may send
-- them back, whether they hold a secret (a public browser or native app
-- authenticates with PKCE alone) and whether they are ours (first-party
-- clients skip the consent step).
ALTER TABLE oauth_clients
    ADD COLUMN redirect_uris  text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN response_types text[]  NOT NULL DEFAULT '{}',
    ADD COLUMN public         boolean NOT NULL DEFAULT false,
    ADD COLUMN first_party    boolean NOT NULL DEFAULT false;

-- Which token an issued access token was (jti), and in which session.
ALTER TABLE oauth_access_tokens
    ADD COLUMN token_id   text NOT NULL DEFAULT '',
    ADD COLUMN session_id uuid;
CREATE INDEX oauth_access_tokens_session ON oauth_access_tokens (session_id) WHERE session_id IS NOT NULL;

-- fosite's other stored requests, one row shape for each kind, as ory/hydra
-- keeps them: authorization codes, refresh tokens, PKCE challenges and
-- OpenID Connect requests, each under its token's signature. request_id is
-- the grant: every refresh token rotated from one authorization shares it.
CREATE TABLE oauth_grant_requests (
    kind               text        NOT NULL CHECK (kind IN ('code', 'refresh', 'pkce', 'oidc')),
    signature          text        NOT NULL,
    request_id         text        NOT NULL,
    client_id          text        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    subject            text        NOT NULL DEFAULT '',
    session_id         uuid,                                   -- the auth session (sid)
    access_signature   text        NOT NULL DEFAULT '',        -- refresh tokens: the access token issued with it
    active             boolean     NOT NULL DEFAULT true,      -- false: used (a code) or rotated (a refresh token)
    requested_scopes   text[]      NOT NULL DEFAULT '{}',
    granted_scopes     text[]      NOT NULL DEFAULT '{}',
    requested_audience text[]      NOT NULL DEFAULT '{}',
    granted_audience   text[]      NOT NULL DEFAULT '{}',
    form               text        NOT NULL DEFAULT '',        -- the sanitized request form, URL-encoded
    requested_at       timestamptz NOT NULL,
    expires_at         timestamptz,
    session            jsonb       NOT NULL,
    PRIMARY KEY (kind, signature)
);
CREATE INDEX oauth_grant_requests_request ON oauth_grant_requests (request_id);
CREATE INDEX oauth_grant_requests_session ON oauth_grant_requests (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX oauth_grant_requests_expires ON oauth_grant_requests (expires_at);

-- +goose Down
DROP TABLE oauth_grant_requests;
ALTER TABLE oauth_access_tokens DROP COLUMN session_id, DROP COLUMN token_id;
ALTER TABLE oauth_clients DROP COLUMN first_party, DROP COLUMN public,
    DROP COLUMN response_types, DROP COLUMN redirect_uris;
