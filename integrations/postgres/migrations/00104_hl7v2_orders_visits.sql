-- +goose Up
-- What HL7 v2 senders call their orders and visits, so that a message sent
-- again is applied once and a later message finds what an earlier one made.
--
-- A diagnostic order another system placed (ORM^O01, OML^O21) keeps the
-- placer order number it gave it (ORC-2/OBR-2) in its resource
-- (order.placer: sender, number, namespace); the columns below are read
-- from there. One sender's placer number names one order; results
-- (ORU^R01 OBR-2) find the order by its number.
ALTER TABLE diagnostic_reports
    ADD COLUMN placer_sender text GENERATED ALWAYS AS (resource #>> '{order,placer,sender}') STORED,
    ADD COLUMN placer_number text GENERATED ALWAYS AS (resource #>> '{order,placer,number}') STORED;
CREATE UNIQUE INDEX diagnostic_reports_placer ON diagnostic_reports (placer_sender, placer_number)
    WHERE placer_number IS NOT NULL;
CREATE INDEX diagnostic_reports_placer_number ON diagnostic_reports (placer_number)
    WHERE placer_number IS NOT NULL;

-- An encounter an admission (ADT^A01) opened keeps its visit number
-- (PV1-19) with the authority that assigned it (CX-4, else the sending
-- facility): the discharge and cancellation of that visit (A03, A11) and
-- orders placed during it find it by it, and the admission sent again
-- opens nothing more.
ALTER TABLE encounters
    ADD COLUMN visit_system text,
    ADD COLUMN visit_number text,
    ADD CONSTRAINT encounters_visit_both CHECK ((visit_system IS NULL) = (visit_number IS NULL));
CREATE UNIQUE INDEX encounters_visit ON encounters (visit_system, visit_number) WHERE visit_number IS NOT NULL;

-- +goose Down
DROP INDEX encounters_visit;
ALTER TABLE encounters DROP CONSTRAINT encounters_visit_both, DROP COLUMN visit_number, DROP COLUMN visit_system;
DROP INDEX diagnostic_reports_placer_number;
DROP INDEX diagnostic_reports_placer;
ALTER TABLE diagnostic_reports DROP COLUMN placer_number, DROP COLUMN placer_sender;
