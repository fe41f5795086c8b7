package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/zarish-sphere/zarish/domain/audit"
)

// CodecDecodePath is the codec endpoint the Temporal Web UI's remote codec
// calls: its endpoint setting is this path without the trailing /decode.
const CodecDecodePath = "/v1/temporal/codec/decode"

// entityBinary is the audit entity of opened workflow payloads.
const entityBinary = "Binary"

// CodePayloadUnreadable: a payload is sealed with a key this server does
// not hold, or does not open with it.
const CodePayloadUnreadable = "PAYLOAD_UNREADABLE"

// maxPayloadScan bounds how deep the decoded JSON is searched for the
// patients it names.
const maxPayloadScan = 6

// codecRoutes serve the remote codec of the Temporal Web UI: an operator
// sees a workflow's inputs, Update arguments and results opened, each
// opening audited with the patients the payloads name. Sealing is not
// served: nothing outside the engine needs to write workflow payloads.
type codecRoutes struct {
	*edge
	codec converter.PayloadCodec
	// origins are the Web UI origins a browser may call the endpoint from.
	origins []string
}

func (s *codecRoutes) routes() []Route {
	return []Route{
		{http.MethodPost, CodecDecodePath, "system/Binary.read", entityBinary, s.decode},
		// A browser asks first whether the Web UI's origin may call.
		{http.MethodOptions, CodecDecodePath, "", "", s.preflight},
	}
}

// codecPayloads is the remote codec's body, both ways: the JSON form of
// temporal.api.common.v1.Payloads, bytes in standard base64.
type codecPayloads struct {
	Payloads []codecPayload `json:"payloads"`
}

type codecPayload struct {
	Metadata map[string][]byte `json:"metadata,omitempty"`
	Data     []byte            `json:"data,omitempty"`
}

// allowOrigin answers a browser's cross-origin call from a listed origin.
func (s *codecRoutes) allowOrigin(c *gin.Context) bool {
	origin := c.GetHeader("Origin")
	c.Header("Vary", "Origin")
	if origin == "" || !slices.Contains(s.origins, origin) {
		return false
	}
	c.Header("Access-Control-Allow-Origin", origin)
	c.Header("Access-Control-Allow-Credentials", "true")
	return true
}

// preflight allows a listed Web UI origin to POST with its token and
// namespace; any other origin is refused.
func (s *codecRoutes) preflight(c *gin.Context) {
	if !s.allowOrigin(c) {
		abort(c, http.StatusForbidden, CodeForbidden, "This origin may not call the codec endpoint.")
		return
	}
	c.Header("Access-Control-Allow-Methods", "POST")
	c.Header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
	c.Header("Access-Control-Max-Age", "600")
	c.Status(http.StatusNoContent)
}

// decode opens sealed payloads; one not sealed is answered as it came. The
// audit record names the patients whose ids the opened payloads hold.
func (s *codecRoutes) decode(c *gin.Context) {
	s.allowOrigin(c)
	var b codecPayloads
	if readJSON(c, &b) == nil {
		return
	}
	in := make([]*commonpb.Payload, len(b.Payloads))
	for i, p := range b.Payloads {
		in[i] = &commonpb.Payload{Metadata: p.Metadata, Data: p.Data}
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityBinary, "", nil)
	a.rec.Description = fmt.Sprintf("opened %d workflow payloads of namespace %s", len(in), truncate(c.GetHeader("X-Namespace"), 100))
	out := in
	if s.codec != nil {
		var err error
		if out, err = s.codec.Decode(in); err != nil {
			abort(c, http.StatusUnprocessableEntity, CodePayloadUnreadable, err.Error())
			return
		}
	}
	answer := codecPayloads{Payloads: make([]codecPayload, len(out))}
	for i, p := range out {
		answer.Payloads[i] = codecPayload{Metadata: p.GetMetadata(), Data: p.GetData()}
		if string(p.GetMetadata()[converter.MetadataEncoding]) == converter.MetadataEncodingJSON {
			a.disclosed(payloadPatients(p.GetData())...)
		}
	}
	c.JSON(http.StatusOK, answer)
}

// payloadPatients are the patient ids a JSON payload holds under a key
// named patientId (any case), at any depth up to maxPayloadScan.
func payloadPatients(data []byte) []uuid.UUID {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []uuid.UUID
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > maxPayloadScan {
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if s, ok := x.(string); ok && strings.EqualFold(k, "patientId") {
					if id, err := uuid.Parse(s); err == nil && !slices.Contains(out, id) {
						out = append(out, id)
					}
					continue
				}
				walk(x, depth+1)
			}
		case []any:
			for _, x := range t {
				walk(x, depth+1)
			}
		}
	}
	walk(v, 0)
	return out
}
