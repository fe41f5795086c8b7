-- +goose Up
-- The audit trail: one row per access to patient data, denied auth decision
-- and admin action. Rows are append-only (the triggers below refuse UPDATE,
-- DELETE and TRUNCATE, whoever asks) and each is sealed, after it commits,
-- into a hash chain by the one audit sealer (audit_seals).
--
-- Partitioned by month of recorded_at (UTC). The migration creates the current
-- and the next two months; the sealer keeps creating months ahead
-- (audit_ensure_partition, hourly). Rows outside every monthly partition land
-- in audit_events_default so an insert never fails for lack of a partition.
-- A month's partition cannot be created while audit_events_default holds rows
-- of that month (PostgreSQL refuses: check violation 23514), so partitions must
-- be created before their month begins — hence the months ahead. Should it
-- happen anyway, the table owner moves those rows in one maintenance
-- transaction: DETACH PARTITION audit_events_default, create the month, copy
-- the month's rows from the detached table into audit_events unchanged (every
-- column, seq included, so the seals still verify), ATTACH a new empty default
-- partition, and keep the old one as the archive of the copied rows.
CREATE TABLE audit_events (
    id            uuid        NOT NULL,
    seq           bigserial   NOT NULL,              -- insertion order; the sealer's queue is read in it
    recorded_at   timestamptz NOT NULL,
    actor_subject text        NOT NULL DEFAULT '',
    actor_client  text        NOT NULL DEFAULT '',
    actor_roles   text[]      NOT NULL DEFAULT '{}',
    action        text        NOT NULL,
    entity_type   text        NOT NULL,
    entity_id     text        NOT NULL DEFAULT '',
    patient_id    uuid,
    patient_ids   uuid[]      NOT NULL DEFAULT '{}', -- patients a search returned
    source_ip     text        NOT NULL DEFAULT '',   -- as given, so the record hashes the same when read back
    user_agent    text        NOT NULL DEFAULT '',
    request_id    text        NOT NULL DEFAULT '',
    method        text        NOT NULL DEFAULT '',
    route         text        NOT NULL DEFAULT '',
    status        integer     NOT NULL DEFAULT 0,
    purpose       text        NOT NULL DEFAULT '',
    outcome       text        NOT NULL,
    break_glass   text        NOT NULL DEFAULT '',   -- the stated reason of a break-the-glass access
    description   text        NOT NULL DEFAULT '',
    PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);

CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;

-- Accounting of disclosures: one patient's records by time, whether the
-- patient was the subject (patient_id) or among a search's results (patient_ids).
CREATE INDEX audit_events_patient ON audit_events (patient_id, recorded_at) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_events_patient_ids ON audit_events USING gin (patient_ids);
-- One user's activity by time.
CREATE INDEX audit_events_actor ON audit_events (actor_subject, recorded_at);
-- Newest-first listing with a (recorded_at, id) keyset cursor.
CREATE INDEX audit_events_recorded ON audit_events (recorded_at, id);
-- The break-the-glass report.
CREATE INDEX audit_events_break_glass ON audit_events (recorded_at) WHERE break_glass <> '';

-- +goose StatementBegin
-- audit_refuse_change is the trigger that makes the audit tables append-only.
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: audit records are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = '42501',
              HINT = 'Audit records and their seals are never changed or removed.';
END
$$;
-- +goose StatementEnd

-- Row triggers on a partitioned table are cloned onto every partition, present
-- and future. Statement (TRUNCATE) triggers are not, so each partition gets
-- its own (audit_ensure_partition adds it to new months).
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- +goose StatementBegin
-- audit_ensure_partition creates the partition of the UTC month holding
-- month_start, with its TRUNCATE guard, unless it exists, and returns its
-- name (audit_events_yYYYYmMM).
CREATE FUNCTION audit_ensure_partition(month_start timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lo_utc timestamp := date_trunc('month', month_start AT TIME ZONE 'UTC');
    hi_utc timestamp := lo_utc + interval '1 month';
    part   text      := format('audit_events_y%sm%s', to_char(lo_utc, 'YYYY'), to_char(lo_utc, 'MM'));
BEGIN
    IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                       part, lo_utc AT TIME ZONE 'UTC', hi_utc AT TIME ZONE 'UTC');
        EXECUTE format('CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()', part);
    END IF;
    RETURN part;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
BEGIN
    FOR i IN 0..2 LOOP
        PERFORM audit_ensure_partition((this_month + make_interval(months => i)) AT TIME ZONE 'UTC');
    END LOOP;
END
$$;
-- +goose StatementEnd

-- The sealer's work queue: one row per audit event not yet sealed, written in
-- the event's transaction and deleted in the transaction that seals it. The
-- sealer reads every queued row rather than resuming after the last seq it
-- saw, because transactions commit out of seq order.
CREATE TABLE audit_unsealed (
    seq         bigint      PRIMARY KEY,             -- the event's seq
    event_id    uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now()   -- start of the writing transaction, for the seal lag
) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);

-- The hash chain. The sealer appends links 1, 2, 3, … in the order it seals
-- events: hash = SHA-256(prev_hash || canonical event), prev_hash = the hash
-- of the link before (32 zero bytes for link 1). Append-only like the events.
CREATE TABLE audit_seals (
    link        bigint      PRIMARY KEY CHECK (link > 0),
    event_id    uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,                -- the event's, to find it and to verify a period
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, recorded_at)                   -- an event is sealed once
);
CREATE INDEX audit_seals_recorded ON audit_seals (recorded_at);

CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_seals FROM PUBLIC;

-- +goose Down
DROP TABLE audit_seals;
DROP TABLE audit_unsealed;
DROP TABLE audit_events;
DROP FUNCTION audit_ensure_partition(timestamptz);
DROP FUNCTION audit_refuse_change();
