package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
	"github.com/zarish-sphere/zarish/integrations/hl7v2/ingest"
)

// HL7v2Ingest applies HL7 v2 messages: stored before they are
// acknowledged, duplicates answered again without being applied twice.
type HL7v2Ingest interface {
	Receive(ctx context.Context, raw []byte, src ingest.Source) ([]byte, hl7message.Message, error)
	Replay(ctx context.Context, id uuid.UUID, src ingest.Source) (hl7message.Message, error)
}

// HL7v2Messages reads the stored messages.
type HL7v2Messages interface {
	List(ctx context.Context, f hl7message.Filter) ([]hl7message.Message, string, error)
	Get(ctx context.Context, id uuid.UUID) (hl7message.Message, error)
}

// hl7v2MediaType is the media type of an HL7 v2 message in its ER7
// (pipe-delimited) encoding.
const hl7v2MediaType = "application/hl7-v2"

// hl7v2Routes serve /v1/integration/hl7v2: the same messages the MLLP
// listener takes, over HTTP, and the stored messages.
type hl7v2Routes struct {
	*edge
	ingest   HL7v2Ingest
	messages HL7v2Messages
}

func (s *hl7v2Routes) routes() []Route {
	return []Route{
		// A message registers and updates patients: the sender needs the
		// right to.
		{http.MethodPost, "/v1/integration/hl7v2", "system/Patient.write", entityEndpoint, s.receive},
		{http.MethodGet, "/v1/integration/hl7v2/messages", "system/Endpoint.read", entityEndpoint, s.list},
		{http.MethodGet, "/v1/integration/hl7v2/messages/:id", "system/Endpoint.read", entityEndpoint, s.get},
		{http.MethodPost, "/v1/integration/hl7v2/messages/:id/replay", "system/Endpoint.write", entityEndpoint, s.replay},
	}
}

// HL7v2MessageView is a stored message as the API shows it; Raw only when
// one message is read.
type HL7v2MessageView struct {
	hl7message.Message
	Raw string `json:"raw,omitempty"`
}

// source is the request's sender for the ingester and the audit trail.
func source(c *gin.Context) ingest.Source {
	client := ""
	if p, ok := principal(c); ok {
		client = p.ClientID
	}
	return ingest.Source{Transport: hl7message.TransportHTTP, Client: client, Address: c.ClientIP()}
}

// receive is POST /v1/integration/hl7v2: one message in the body
// (application/hl7-v2, or text/plain), answered with its acknowledgement
// once it is stored — 200 whatever the acknowledgement says (AA, AE, AR),
// its outcome and stored id in X-HL7-Outcome and X-HL7-Message-Id; 503 when
// it could not be stored, and then it was not applied.
func (s *hl7v2Routes) receive(c *gin.Context) {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || (mt != hl7v2MediaType && mt != "text/plain" && mt != "x-application/hl7-v2+er7") {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Send one HL7 v2 message as "+hl7v2MediaType+".")
		return
	}
	limit := bodyLimit(c)
	if declaredTooLarge(c, limit) {
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge, "The message is larger than the route takes.")
		return
	case err != nil:
		s.fail(c, err)
		return
	case len(strings.TrimSpace(string(raw))) == 0:
		fieldError(c, "body", "must be an HL7 v2 message")
		return
	}
	if h, err := hl7v2.ParseHeader(raw); err == nil && namesWhoActs(h) {
		if p, _ := principal(c); !p.Has(access.ScopeActOnBehalf) {
			abort(c, http.StatusForbidden, CodeForbidden, "A "+h.Type.Code+"^"+h.Type.Trigger+" message names the practitioners "+
				"who act (ORC-12, OBX-16, EVN-5, PV1-7): the client needs the scope "+access.ScopeActOnBehalf+", as X-On-Behalf-Of does.")
			return
		}
	}
	auditOf(c).about(audit.ActionCreate, entityEndpoint, "", nil)
	ack, m, err := s.ingest.Receive(c.Request.Context(), raw, source(c))
	if err != nil {
		s.log.ErrorContext(c.Request.Context(), "HL7 v2 message not stored", "error", err)
		abort(c, http.StatusServiceUnavailable, CodeUnavailable, "The message could not be stored, so it was not applied: send it again.")
		return
	}
	c.Header("X-HL7-Message-Id", m.ID.String())
	c.Header("X-HL7-Outcome", string(m.Outcome))
	c.Data(http.StatusOK, hl7v2MediaType, ack)
}

// namesWhoActs reports whether a message of h's type acts as the
// practitioners it names — orders placed by their orderer, results recorded
// by their observer, discharges and cancellations by their clinician — so
// that over HTTP its sender must be trusted to name them, as a client that
// sends X-On-Behalf-Of is. An MLLP peer is trusted by where it connects
// from: the listener is reached only from the hospital's interface engine.
func namesWhoActs(h *hl7v2.Header) bool {
	switch h.Type.Code + "^" + h.Type.Trigger {
	case "ORM^O01", "OML^O21", "ORU^R01", "ADT^A03", "ADT^A11", "ADT^A13":
		return true
	}
	return false
}

// list is GET /v1/integration/hl7v2/messages: newest first, by sender,
// message type, outcome and control id.
func (s *hl7v2Routes) list(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "sender", "messageType", "outcome", "controlId", "limit", "cursor")
	f := hl7message.Filter{Sender: c.Query("sender"), MessageType: c.Query("messageType"), Outcome: hl7message.Outcome(c.Query("outcome")),
		ControlID: c.Query("controlId"), Cursor: c.Query("cursor")}
	if f.Outcome != "" && !f.Outcome.Valid() {
		verr.Add("outcome", "must be AA, AE or AR")
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entityEndpoint, "", nil)
	list, next, err := s.messages.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, pageBody(list, next))
}

// get is GET /v1/integration/hl7v2/messages/{id}: the message with its
// bytes as received.
func (s *hl7v2Routes) get(c *gin.Context) {
	id, ok := uuidParam(c, "must be a message id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, entityEndpoint, id.String(), nil)
	m, err := s.messages.Get(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, HL7v2MessageView{Message: m, Raw: string(m.Raw)})
}

// replay is POST /v1/integration/hl7v2/messages/{id}/replay: the stored
// bytes applied again, and the new outcome recorded.
func (s *hl7v2Routes) replay(c *gin.Context) {
	id, ok := uuidParam(c, "must be a message id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionUpdate, entityEndpoint, id.String(), nil)
	m, err := s.ingest.Replay(c.Request.Context(), id, source(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, HL7v2MessageView{Message: m})
}
