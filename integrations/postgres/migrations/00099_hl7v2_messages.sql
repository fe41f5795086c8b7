-- +goose Up
-- Every HL7 v2 message a hospital system sends, stored before it is
-- acknowledged: the bytes as received, what was read from them and the
-- outcome (AA, AE, AR) the sender was answered with. A sender's control
-- id (MSH-10) names one message: a duplicate counts as received again and
-- is answered with the first outcome, never applied twice.
CREATE TABLE hl7v2_messages (
    id           uuid PRIMARY KEY,
    sender       text        NOT NULL,
    control_id   text        NOT NULL,
    message_type text        NOT NULL,
    version      text        NOT NULL DEFAULT '',
    charset      text        NOT NULL DEFAULT '',
    raw          bytea       NOT NULL,
    transport    text        NOT NULL CHECK (transport IN ('mllp', 'http')),
    received_at  timestamptz NOT NULL,
    received     integer     NOT NULL DEFAULT 1,
    outcome      text        CHECK (outcome IN ('AA', 'AE', 'AR')),
    problems     jsonb       NOT NULL DEFAULT '[]',
    applied      jsonb       NOT NULL DEFAULT '[]',
    processed_at timestamptz,
    replays      integer     NOT NULL DEFAULT 0
);
-- Messages without a control id are stored (and rejected) but never
-- matched as duplicates of each other.
CREATE UNIQUE INDEX hl7v2_messages_control ON hl7v2_messages (sender, control_id) WHERE control_id <> '';
CREATE INDEX hl7v2_messages_received ON hl7v2_messages (received_at DESC, id DESC);

-- +goose Down
DROP TABLE hl7v2_messages;
