package outbox

import (
	"encoding/json"
	"strings"
)

// ReasonSize is the Reference.Reason of an event written by reference
// because its content exceeded MaxEventBytes.
const ReasonSize = "size"

// maxReferenceIDs and maxReferenceIDLen bound the ids a reference carries
// over from the content it replaces.
const (
	maxReferenceIDs   = 16
	maxReferenceIDLen = 100
)

// Reference is the data of an event whose content is too large to publish:
// the ids of the content (every top-level "id" or "…Id" string, such as
// patientId and encounterId, flattened beside these fields), a link to the
// API path that serves the full resource, and a marker that content was
// omitted. Consumers that see contentOmitted fetch the link.
type Reference struct {
	ContentOmitted bool   `json:"contentOmitted"` // always true
	Reason         string `json:"reason"`         // ReasonSize
	EventType      string `json:"eventType"`      // the CloudEvent type, e.g. note.created
	Subject        string `json:"subject,omitempty"`
	Link           string `json:"link"`
	// OmittedBytes is the size of the event as it would have been published.
	OmittedBytes int `json:"omittedBytes"`
	// IDs are the content's ids by field name; they are written flat.
	IDs map[string]string `json:"-"`
}

// MarshalJSON writes the reference's fields and its ids in one object.
func (r Reference) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range r.IDs {
		m[k] = v
	}
	m["contentOmitted"] = true
	m["reason"] = r.Reason
	m["eventType"] = r.EventType
	if r.Subject != "" {
		m["subject"] = r.Subject
	}
	m["link"] = r.Link
	m["omittedBytes"] = r.OmittedBytes
	return json.Marshal(m)
}

// NewReference builds the reference that replaces data, an event's
// content: it keeps data's top-level ids (string fields named "id" or
// ending in "Id", at most 16, each at most 100 bytes).
func NewReference(data json.RawMessage, eventType, subject, link string, size int) Reference {
	r := Reference{ContentOmitted: true, Reason: ReasonSize, EventType: eventType, Subject: subject,
		Link: link, OmittedBytes: size, IDs: map[string]string{}}
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return r
	}
	for k, raw := range fields {
		if len(r.IDs) == maxReferenceIDs {
			break
		}
		if k != "id" && !(strings.HasSuffix(k, "Id") && len(k) > 2) {
			continue
		}
		var v string
		if json.Unmarshal(raw, &v) == nil && v != "" && len(v) <= maxReferenceIDLen {
			r.IDs[k] = v
		}
	}
	return r
}
