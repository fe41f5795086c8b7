// Package kafka delivers the outbox to Kafka: a relay that publishes unsent
// outbox rows as CloudEvents and marks them sent, the publisher it writes
// through, and a Kafka-protocol broker embedded in the process for `zarish dev`
// and tests.
//
// Delivery is at least once. Every event carries a stable id (the outbox row's
// id, also in the ce_id header); consumers dedupe on it. One relay per database
// publishes at a time (a PostgreSQL advisory lock), and each event is keyed by
// patient id, so a patient's events stay in order on one partition.
package kafka
