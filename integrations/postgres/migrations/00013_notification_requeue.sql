-- +goose Up
-- An operator may requeue a dead-lettered notification. Each requeue starts
-- a new round of attempts, numbered from 1 again (so the retry limit and the
-- backoff start afresh), and is itself kept in the attempt history as attempt
-- 0 of its round: when, by whom and why.
ALTER TABLE notifications ADD COLUMN round integer NOT NULL DEFAULT 0;

ALTER TABLE notification_attempts ADD COLUMN round integer NOT NULL DEFAULT 0;
ALTER TABLE notification_attempts ADD COLUMN actor text NOT NULL DEFAULT '';  -- who requeued it
ALTER TABLE notification_attempts DROP CONSTRAINT notification_attempts_outcome_check;
ALTER TABLE notification_attempts ADD CONSTRAINT notification_attempts_outcome_check
    CHECK (outcome IN ('delivered', 'failed', 'dead', 'requeued'));
ALTER TABLE notification_attempts DROP CONSTRAINT notification_attempts_pkey;
ALTER TABLE notification_attempts ADD PRIMARY KEY (notification_id, round, attempt);

-- The delivery log, newest first: all of it, one patient's, and the dead
-- letters an operator looks for.
CREATE INDEX notifications_newest ON notifications (created_at DESC, id DESC);
CREATE INDEX notifications_patient ON notifications (patient_id, created_at DESC, id DESC);
CREATE INDEX notifications_dead ON notifications (created_at DESC, id DESC) WHERE status = 'dead';

-- +goose Down
DROP INDEX notifications_dead;
DROP INDEX notifications_patient;
DROP INDEX notifications_newest;
-- Rounds fold back into one numbering; the requeues themselves are lost.
DELETE FROM notification_attempts WHERE outcome = 'requeued';
ALTER TABLE notification_attempts DROP CONSTRAINT notification_attempts_pkey;
UPDATE notification_attempts a SET attempt = r.n
FROM (SELECT notification_id, round, attempt,
             row_number() OVER (PARTITION BY notification_id ORDER BY round, attempt) AS n
      FROM notification_attempts) r
WHERE a.notification_id = r.notification_id AND a.round = r.round AND a.attempt = r.attempt;
ALTER TABLE notification_attempts ADD PRIMARY KEY (notification_id, attempt);
ALTER TABLE notification_attempts DROP CONSTRAINT notification_attempts_outcome_check;
ALTER TABLE notification_attempts ADD CONSTRAINT notification_attempts_outcome_check
    CHECK (outcome IN ('delivered', 'failed', 'dead'));
ALTER TABLE notification_attempts DROP COLUMN actor;
ALTER TABLE notification_attempts DROP COLUMN round;
ALTER TABLE notifications DROP COLUMN round;
