package kafka

// Topics the engine publishes to. The version suffix changes only with an
// incompatible change to the events on the topic.
const (
	// TopicClinical carries domain events: patients, encounters, orders, results.
	TopicClinical = "zarish.clinical.v1"
	// TopicNotifications carries messages to deliver to people.
	TopicNotifications = "zarish.notifications.v1"
	// TopicAudit carries the audit trail.
	TopicAudit = "zarish.audit.v1"
)

// Topics lists every topic the engine publishes to, for creating them up front.
var Topics = []string{TopicClinical, TopicNotifications, TopicAudit}
