-- +goose Up
-- A session is one completed sign-in of a user into one client: the sid claim
-- of its tokens, the family of its refresh tokens. Revoking it stops the
-- refresh tokens at once and puts the sid on the revocation list, so its
-- access tokens are refused from then on.
CREATE TABLE auth_sessions (
    id             uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      text        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    amr            text[]      NOT NULL DEFAULT '{}',     -- how the user proved it: pwd, otp
    source_ip      text        NOT NULL DEFAULT '',
    user_agent     text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at   timestamptz NOT NULL DEFAULT now(),    -- the last token issued in it
    expires_at     timestamptz NOT NULL,                  -- no refresh after it, whatever happens
    revoked_at     timestamptz,
    revoked_reason text        NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id, created_at DESC);

-- The revocation list every verifier keeps in memory: access tokens of a
-- session, a user or a client, or one token (by jti), issued at or before
-- revoked_at, are refused. A row is needed only while such a token can still
-- be alive, so expires_at is revoked_at plus the longest access-token
-- lifetime; rows past it are deleted. Short lifetimes keep the list small.
CREATE TABLE auth_revocations (
    kind       text        NOT NULL CHECK (kind IN ('session', 'user', 'client', 'token')),
    subject    text        NOT NULL,
    revoked_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    PRIMARY KEY (kind, subject)
);
CREATE INDEX auth_revocations_expires ON auth_revocations (expires_at);

-- A sign-in in progress at the authorization endpoint: the browser holds the
-- flow's secret in a cookie (only its SHA-256 is stored here) and each form
-- carries the flow's CSRF token. Password, second factor, enrolment and
-- consent are steps of one flow; it ends when the code is issued.
CREATE TABLE auth_signin_flows (
    id            text        PRIMARY KEY,              -- SHA-256 (hex) of the cookie's secret
    csrf_token    text        NOT NULL,
    query         text        NOT NULL,                 -- the authorization request, as the client sent it
    client_id     text        NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id       uuid        REFERENCES users (id) ON DELETE CASCADE,
    step          text        NOT NULL DEFAULT 'password',
    amr           text[]      NOT NULL DEFAULT '{}',
    auth_time     timestamptz,
    pending_totp  bytea,                                -- a sealed TOTP key being enrolled
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX auth_signin_flows_expires ON auth_signin_flows (expires_at);

-- +goose Down
DROP TABLE auth_signin_flows;
DROP TABLE auth_revocations;
DROP TABLE auth_sessions;
