package postgres

import (
	"encoding/json"
	"fmt"

	"github.com/zarish-sphere/zarish/domain/outbox"
)

// envelopeOverhead over-estimates what the relay adds to an event's
// attributes and data: the CloudEvent's field names and fixed values, the
// time, and the message headers.
const envelopeOverhead = 512

// EventSize estimates, from above, the bytes of e as the relay publishes it:
// the data as encoding/json writes it (the relay re-escapes what jsonb
// stores unescaped: each < becomes \u003c, six bytes), the envelope's
// attributes, and the message key and headers. An error means the data is
// not JSON.
func EventSize(e OutboxEvent) (int, error) {
	data, err := json.Marshal(json.RawMessage(e.Data))
	if err != nil {
		return 0, fmt.Errorf("event %s %s: data: %w", e.Type, e.ID, err)
	}
	n := len(data) + envelopeOverhead
	for _, attr := range []string{e.Key, e.Type, e.Source, e.Subject, e.TraceParent} {
		b, _ := json.Marshal(attr)
		n += 2 * len(b) // in the CloudEvent, and again as a header or the key
	}
	return n, nil
}

// capEvent returns e, or, when e is over outbox.MaxEventBytes, e with its
// data replaced by an outbox.Reference: the content's ids, the event type
// and subject, a link to the resource (e.Link, else e.Source) and the
// marker that content was omitted.
func capEvent(e OutboxEvent) (OutboxEvent, error) {
	size, err := EventSize(e)
	if err != nil || size <= outbox.MaxEventBytes {
		return e, err
	}
	link := e.Link
	if link == "" {
		link = e.Source
	}
	ref, err := json.Marshal(outbox.NewReference(e.Data, e.Type, e.Subject, link, size))
	if err != nil {
		return e, fmt.Errorf("event %s %s: reference: %w", e.Type, e.ID, err)
	}
	e.Data = ref
	if size, err := EventSize(e); err != nil || size > outbox.MaxEventBytes {
		// What is left are attributes the stores build from ids and paths.
		return e, fmt.Errorf("event %s %s: attributes alone exceed %d bytes", e.Type, e.ID, outbox.MaxEventBytes)
	}
	return e, nil
}
