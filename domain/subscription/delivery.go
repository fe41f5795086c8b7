package subscription

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// DeliveryStatus is where one event's delivery to one subscription stands.
type DeliveryStatus string

// Delivery statuses: pending waits for its first attempt (or a replay);
// failed waits for its next one; delivered and dead are done, dead when
// the policy's attempts ran out.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
	DeliveryDead      DeliveryStatus = "dead"
)

// Valid reports whether s is a known delivery status.
func (s DeliveryStatus) Valid() bool {
	switch s {
	case DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryDead:
		return true
	}
	return false
}

// Event is what a subscription is matched against and what it is sent: a
// CloudEvent's id, type, patient and category, and the whole CloudEvent
// JSON as Payload (which may hold clinical data: never logged).
type Event struct {
	ID        uuid.UUID
	Type      string
	PatientID uuid.UUID // uuid.Nil when the event names no patient
	Category  string
	Payload   json.RawMessage
}

// Delivery is one event's delivery to one subscription, as the API shows
// it; the payload is not part of it.
type Delivery struct {
	ID             uuid.UUID      `json:"id"`
	SubscriptionID uuid.UUID      `json:"subscriptionId"`
	EventID        uuid.UUID      `json:"eventId"`
	EventType      string         `json:"eventType"`
	Attempt        int            `json:"attempt"`
	Status         DeliveryStatus `json:"status"`
	HTTPStatus     *int           `json:"httpStatus,omitempty"`
	Error          string         `json:"error,omitempty"`
	// NextAttemptAt is when a pending or failed delivery is tried next.
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
	DeliveredAt   *time.Time `json:"deliveredAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
}

// Due is a delivery claimed for sending: the delivery, the body to send and
// the subscription's endpoint and secret.
type Due struct {
	Delivery
	Payload  json.RawMessage
	Endpoint string
	Secret   string
}

// Outcome is the result of one attempt, as the deliverer records it.
type Outcome struct {
	DeliveryID     uuid.UUID
	SubscriptionID uuid.UUID
	// Attempt is the attempt's number, counting from 1.
	Attempt    int
	Status     DeliveryStatus // delivered, failed or dead
	HTTPStatus int            // 0 when no response came
	Error      string         // why it failed; never the response body
	At         time.Time
	// NextAttemptAt is when a failed delivery is tried again.
	NextAttemptAt time.Time
}

// DeliveryFilter selects one subscription's deliveries; zero fields other
// than SubscriptionID do not filter.
type DeliveryFilter struct {
	SubscriptionID uuid.UUID
	Status         DeliveryStatus
	Limit          int
	Cursor         string
}

// DeliveryPage is one page of deliveries, newest first; Next is empty on
// the last page.
type DeliveryPage struct {
	Deliveries []Delivery
	Next       string
}
