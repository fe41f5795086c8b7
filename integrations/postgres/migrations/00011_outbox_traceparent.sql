-- +goose Up
-- The W3C traceparent of the operation that wrote each event, so the relay
-- can hand the trace on to consumers (CloudEvents distributed tracing
-- extension). Empty for events written outside a traced operation.
ALTER TABLE outbox ADD COLUMN traceparent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN traceparent;
