// Package hl7message holds what the engine keeps of each HL7 v2 message a
// hospital system sends it: the bytes as received, what was read from
// them, and the outcome the sender was acknowledged with. Every message is
// stored before it is acknowledged, so an acknowledged message is never
// lost; a sender's duplicate (the same sending application and facility,
// and MSH-10 control id) is acknowledged again with the first outcome and
// not applied twice.
package hl7message

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// Outcome is the acknowledgement code a message was answered with (HL7
// v2.5.1 table 0008): AA accepted, AE error, AR rejected.
type Outcome string

// The outcomes.
const (
	OutcomeAccepted Outcome = "AA"
	OutcomeError    Outcome = "AE"
	OutcomeRejected Outcome = "AR"
)

// Valid says o is one of the outcomes.
func (o Outcome) Valid() bool {
	return o == OutcomeAccepted || o == OutcomeError || o == OutcomeRejected
}

// Transport is how a message arrived.
type Transport string

// The transports.
const (
	TransportMLLP Transport = "mllp"
	TransportHTTP Transport = "http"
)

// Problem is one error or warning of a message, located as an ERR segment
// locates it (ERR-2: segment, its sequence, field, component).
type Problem struct {
	Code      int    `json:"code"`
	Severity  string `json:"severity"`
	Segment   string `json:"segment,omitempty"`
	Sequence  int    `json:"sequence,omitempty"`
	Field     int    `json:"field,omitempty"`
	Component int    `json:"component,omitempty"`
	Message   string `json:"message"`
}

// Applied is one thing a message became: a patient registered or updated,
// an encounter, an order.
type Applied struct {
	// Kind is what was done: patient-registered, patient-updated …
	Kind string `json:"kind"`
	// Reference names the resource ("Patient/<id>").
	Reference string `json:"reference"`
	// Flag is our interpretation of a result (N, L, H, LL, HH, A), and
	// SenderFlag the sender's own abnormal flag (OBX-8), kept beside it.
	Flag       string `json:"flag,omitempty"`
	SenderFlag string `json:"senderFlag,omitempty"`
}

// Message is one received HL7 v2 message as stored.
type Message struct {
	ID uuid.UUID `json:"id"`
	// Sender is the sending application and facility, MSH-3 and MSH-4.
	Sender      string `json:"sender"`
	ControlID   string `json:"controlId"`
	MessageType string `json:"messageType"`
	Version     string `json:"version,omitempty"`
	Charset     string `json:"charset,omitempty"`
	// Raw is the message as received, byte for byte.
	Raw        []byte    `json:"-"`
	Size       int       `json:"size"`
	Transport  Transport `json:"transport"`
	ReceivedAt time.Time `json:"receivedAt"`
	// Received counts how many times the sender sent it.
	Received int `json:"received"`
	// Outcome is empty while the message is being applied.
	Outcome     Outcome    `json:"outcome,omitempty"`
	Problems    []Problem  `json:"problems"`
	Applied     []Applied  `json:"applied"`
	ProcessedAt *time.Time `json:"processedAt,omitempty"`
	// Replays counts the times an operator had it applied again.
	Replays int `json:"replays"`
}

// Filter selects stored messages, newest first.
type Filter struct {
	Sender      string
	MessageType string
	Outcome     Outcome
	ControlID   string
	Limit       int
	Cursor      string
}

// ErrNoControlID refuses to keep a message no duplicate could be told
// apart from: it names no control id.
var ErrNoControlID = errors.New("hl7message: a message without a control id (MSH-10) cannot be deduplicated")
