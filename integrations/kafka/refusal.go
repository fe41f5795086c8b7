package kafka

import (
	"errors"

	kafkago "github.com/segmentio/kafka-go"
)

// errUnencodable marks an event that cannot be encoded as a message: no
// retry can publish it.
var errUnencodable = errors.New("event cannot be encoded")

// Permanent reports whether err, from Publish, refuses the events it was
// given for good, so that publishing them again can never succeed: the
// message is too large (for the writer or the broker), the record or its
// timestamp is invalid, the topic name is invalid, or the event cannot be
// encoded. kafka-go marks the errors worth retrying (a leader moving,
// replicas missing, timeouts) as Temporary; errors that are not Kafka
// errors at all (connection refused, deadlines) mean the broker is not
// reachable. Both are retried, and so are the non-temporary errors that say
// the client or the cluster is misconfigured, or say nothing (unknown
// server error, broker not available, authorization, SASL, versions,
// acks): they refuse every event alike, and dead-lettering them all would
// only move the backlog; an operator fixes them as an outage.
func Permanent(err error) bool {
	if errors.Is(err, errUnencodable) {
		return true
	}
	var kerr kafkago.Error
	if !errors.As(err, &kerr) || kerr.Temporary() {
		return false
	}
	switch kerr {
	case kafkago.Unknown, kafkago.BrokerNotAvailable, kafkago.ReplicaNotAvailable,
		kafkago.InvalidRequiredAcks, kafkago.InvalidConfiguration, kafkago.UnsupportedVersion,
		kafkago.UnsupportedCompressionType, kafkago.SecurityDisabled,
		kafkago.TopicAuthorizationFailed, kafkago.ClusterAuthorizationFailed,
		kafkago.BrokerAuthorizationFailed, kafkago.TransactionalIDAuthorizationFailed,
		kafkago.UnsupportedSASLMechanism, kafkago.IllegalSASLState, kafkago.SASLAuthenticationFailed,
		kafkago.UnacceptableCredential:
		return false
	}
	return true
}
