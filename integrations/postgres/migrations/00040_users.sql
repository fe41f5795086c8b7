-- +goose Up
-- People who sign in at the authorization endpoint. A user is linked to a
-- practitioner of the care-team directory (their tokens carry fhirUser
-- Practitioner/<id>) or, as an administrator or auditor, to none. Roles grant
-- SMART scopes from the catalogue in the code, as they do for clients.
CREATE TABLE users (
    id                uuid        PRIMARY KEY,
    username          text        NOT NULL CHECK (username <> ''),
    display_name      text        NOT NULL DEFAULT '',
    practitioner_id   uuid        REFERENCES practitioners (id),
    roles             text[]      NOT NULL DEFAULT '{}',
    password_hash     text        NOT NULL,                -- argon2id, PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    totp_secret       bytea,                               -- the TOTP key sealed with AES-256-GCM; NULL: not enrolled
    totp_enrolled_at  timestamptz,
    totp_last_step    bigint      NOT NULL DEFAULT 0,      -- the last time step accepted: no code is accepted twice
    recovery_codes    text[]      NOT NULL DEFAULT '{}',   -- SHA-256 (hex) of each unused recovery code
    failed_attempts   integer     NOT NULL DEFAULT 0,      -- consecutive failed sign-ins since the last success
    locked_until      timestamptz,                         -- sign-in refused until then
    last_sign_in_at   timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    disabled_at       timestamptz,                         -- set: cannot sign in; its tokens are refused
    version           integer     NOT NULL DEFAULT 1
);
-- Usernames are unique whatever their case.
CREATE UNIQUE INDEX users_username ON users (lower(username));
-- One account per practitioner: every act names exactly one person.
CREATE UNIQUE INDEX users_practitioner ON users (practitioner_id) WHERE practitioner_id IS NOT NULL;

-- +goose Down
DROP TABLE users;
