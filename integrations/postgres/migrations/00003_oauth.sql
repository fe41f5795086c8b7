-- +goose Up
-- OAuth2 clients that authenticate with a secret (client_secret_basic or
-- client_secret_post) and obtain tokens with the client_credentials grant.
CREATE TABLE oauth_clients (
    id          text        PRIMARY KEY CHECK (id <> ''),
    name        text        NOT NULL,
    secret_hash bytea       NOT NULL,                              -- bcrypt
    scopes      text[]      NOT NULL DEFAULT '{}',                 -- SMART scopes the client may request
    grant_types text[]      NOT NULL DEFAULT '{client_credentials}',
    audience    text[]      NOT NULL DEFAULT '{}',                 -- audiences the client may request
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz                                        -- set: the client can no longer authenticate
);

-- One row per issued access token. The tokens are self-contained JWTs verified
-- without this table; the row is the issuance record fosite writes, keyed by the
-- JWT's signature, and can be deleted once expires_at has passed.
CREATE TABLE oauth_access_tokens (
    signature          text        PRIMARY KEY,
    request_id         text        NOT NULL,
    client_id          text        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    subject            text        NOT NULL DEFAULT '',
    requested_scopes   text[]      NOT NULL DEFAULT '{}',
    granted_scopes     text[]      NOT NULL DEFAULT '{}',
    requested_audience text[]      NOT NULL DEFAULT '{}',
    granted_audience   text[]      NOT NULL DEFAULT '{}',
    requested_at       timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    session            jsonb       NOT NULL                        -- the fosite session (JWT claims and header)
);
CREATE INDEX oauth_access_tokens_request_id ON oauth_access_tokens (request_id);
CREATE INDEX oauth_access_tokens_client_id ON oauth_access_tokens (client_id);
CREATE INDEX oauth_access_tokens_expires_at ON oauth_access_tokens (expires_at);

-- +goose Down
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_clients;
