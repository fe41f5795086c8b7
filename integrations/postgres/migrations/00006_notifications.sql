-- +goose Up
-- Notifications to deliver to people, one row per (alert, level, recipient,
-- channel) message, keyed by the notification id of the requesting event so a
-- redelivered event can never be delivered twice.
CREATE TABLE notifications (
    id              uuid        PRIMARY KEY,               -- notificationId of the event
    alert_id        uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    practitioner_id text        NOT NULL,
    recipient_name  text        NOT NULL DEFAULT '',
    channel         text        NOT NULL CHECK (channel IN ('inapp', 'email', 'sms', 'push')),
    address         text        NOT NULL DEFAULT '',       -- email address, phone number or push token
    subject         text        NOT NULL DEFAULT '',
    body            text        NOT NULL DEFAULT '',
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'urgent', 'critical')),
    category        text        NOT NULL DEFAULT '',
    level           integer     NOT NULL DEFAULT 0,
    -- queued: not tried yet; failed: the last attempt failed and another is
    -- scheduled; delivered and dead (given up) are final.
    status          text        NOT NULL DEFAULT 'queued'
                                CHECK (status IN ('queued', 'delivered', 'failed', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    -- When the next attempt is due; a claimed notification has it pushed
    -- forward by the claim's lease, so a crashed sender's work comes back.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        NOT NULL DEFAULT '',
    receipt         text        NOT NULL DEFAULT '',       -- provider's id for the delivered message
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL,                  -- createdAt of the event
    accepted_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('queued', 'failed');
CREATE INDEX notifications_alert ON notifications (alert_id, created_at);

-- Every delivery attempt and its outcome (a receipt or an error).
CREATE TABLE notification_attempts (
    notification_id uuid        NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt         integer     NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    outcome         text        NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead')),
    detail          text        NOT NULL DEFAULT '',
    PRIMARY KEY (notification_id, attempt)
);

-- In-app inbox: one item per delivered inapp notification.
CREATE TABLE inbox_items (
    id              uuid        PRIMARY KEY,
    practitioner_id text        NOT NULL,
    notification_id uuid        NOT NULL UNIQUE REFERENCES notifications (id) ON DELETE CASCADE,
    alert_id        uuid        NOT NULL,
    patient_id      uuid        NOT NULL,
    subject         text        NOT NULL DEFAULT '',
    body            text        NOT NULL DEFAULT '',
    severity        text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    read_at         timestamptz
);
CREATE INDEX inbox_items_practitioner ON inbox_items (practitioner_id, id DESC);
CREATE INDEX inbox_items_unread ON inbox_items (practitioner_id, id DESC) WHERE read_at IS NULL;

-- +goose Down
DROP TABLE inbox_items;
DROP TABLE notification_attempts;
DROP TABLE notifications;
