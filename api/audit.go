package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
)

const (
	ctxAudit         = "zarish.audit"
	headerPurpose    = "X-Purpose-Of-Use"
	headerBreakGlass = "X-Break-Glass"
	// headerServiceName is how a calling service names itself in the
	// audit trail (Record.Service).
	headerServiceName    = "X-Service-Name"
	CodeAuditUnavailable = "AUDIT_UNAVAILABLE"
	maxBreakGlassText    = 500
)

// serviceNamePattern is an X-Service-Name: letters, digits, dot, dash and
// underscore (at most audit.MaxServiceLen of them, checked apart).
var serviceNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// serviceName is the request's X-Service-Name, or "" when it has none or an
// unfit one (which the input check refuses; the refusal's record must
// still be storable).
func serviceName(c *gin.Context) string {
	v := c.GetHeader(headerServiceName)
	if len(v) > audit.MaxServiceLen || !serviceNamePattern.MatchString(v) {
		return ""
	}
	return v
}

// AuditLog stores audit records.
type AuditLog interface {
	Append(ctx context.Context, records ...audit.Record) error
}

// auditing is one request's audit record as it is being built.
type auditing struct {
	rec audit.Record
	// recorded is set when the handler's own transaction stored the record
	// together with the write it describes.
	recorded bool
	// replayedStep is set for a workflow step sent again with its
	// Idempotency-Key (stepContext): its Update is answered with the first
	// one's outcome and carries no record, so the record is written after
	// the answer like a read's.
	replayedStep bool
	// entity is the route's resource type, used when the handler names none.
	entity string
}

func auditOf(c *gin.Context) *auditing {
	if v, ok := c.Get(ctxAudit); ok {
		return v.(*auditing)
	}
	return &auditing{} // routes outside /v1 are not audited; writes go nowhere
}

// audited records exactly one audit record for every /v1 request — reads,
// writes, searches, denials, token requests — and holds the response until
// the record is stored: if it cannot be stored, the caller gets 503 instead of
// unaudited data (fail closed).
// apiPath says p is a path of the API's (REST /v1 or FHIR /fhir): audited,
// and rate limited when unmatched.
func apiPath(p string) bool { return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/fhir/") }

func (s *server) audited(entities map[string]string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !apiPath(c.Request.URL.Path) || s.Audit == nil {
			c.Next()
			return
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		id, err := s.NewID()
		if err != nil {
			id = uuid.New()
		}
		purpose := strings.TrimSpace(c.GetHeader(headerPurpose))
		if purpose == "" || utf8.RuneCountInString(purpose) > 64 || textProblem(purpose) != "" {
			// An unfit purpose is refused by the input check; its record
			// still has to be storable.
			purpose = audit.DefaultPurpose
		}
		a := &auditing{
			entity: entities[c.Request.Method+" "+route],
			rec: audit.Record{
				ID:        id,
				Time:      s.Now().UTC(),
				SourceIP:  c.ClientIP(),
				UserAgent: truncate(c.Request.UserAgent(), 512),
				RequestID: requestID(c),
				Method:    c.Request.Method,
				Route:     route,
				Purpose:   purpose,
				Service:   serviceName(c),
			},
		}
		c.Set(ctxAudit, a)
		bw := newBufferedWriter(c.Writer)
		c.Writer = bw
		defer func() {
			if p := recover(); p != nil {
				// A handler panicked: record the failure, then let the
				// recovery middleware answer 500 on the real writer.
				c.Writer = bw.ResponseWriter
				if !a.recorded {
					a.finish(c, http.StatusInternalServerError)
					ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
					defer cancel()
					if err := s.Audit.Append(ctx, a.rec); err != nil {
						s.log.Error("audit record of a failed request not stored", "requestId", requestID(c), "error", err)
					}
				}
				panic(p)
			}
		}()
		c.Next()
		c.Writer = bw.ResponseWriter
		if a.recorded {
			bw.release()
			return
		}
		status := bw.status
		withheld := withheldForPatientContext(c, a)
		if withheld {
			// A token confined to its launch patient read another's data:
			// the answer is withheld and the refusal recorded.
			bw.discard()
			status = http.StatusForbidden
		}
		a.finish(c, status)
		if withheld {
			a.rec.Description += ": the answer names a patient other than the token's launch patient"
		}
		// The record is written even when the caller has gone away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
		defer cancel()
		if err := s.Audit.Append(ctx, a.rec); err != nil {
			s.log.Error("audit record not stored; response withheld", "requestId", requestID(c), "route", route, "error", err)
			bw.discard()
			c.Writer.Header().Set("Retry-After", "5")
			// abort: under /fhir the refusal is an OperationOutcome too.
			abort(c, http.StatusServiceUnavailable, CodeAuditUnavailable,
				"The access could not be recorded in the audit trail, so it was not served; retry shortly.")
			return
		}
		if withheld {
			abort(c, status, CodePatientContext, "This token reaches only the patient it was launched for; the answer names another.")
			return
		}
		bw.release()
	}
}

// finish fills in what only the end of the request knows.
func (a *auditing) finish(c *gin.Context, status int) {
	r := &a.rec
	r.Status = status
	if r.Actor.ClientID == "" {
		r.Actor = actorOf(c)
	}
	if r.EntityType == "" {
		r.EntityType = a.entity
		if r.EntityType == "" {
			r.EntityType = "Unknown"
		}
	}
	if r.Action == "" {
		r.Action = actionFor(c.Request.Method)
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		r.Outcome = audit.OutcomeDenied
		if r.Action != audit.ActionLogin {
			r.Description = strings.TrimSpace(string(r.Action) + " refused: " + http.StatusText(status))
			r.Action = audit.ActionDenied
		}
	case status < 400:
		r.Outcome = audit.OutcomeSuccess
	default:
		r.Outcome = audit.OutcomeFailure
	}
}

// forWrite prepares the request's audit record for a store that writes it in
// the same transaction as the change it describes; the handler calls stored
// once that commits. Nil when the request is not audited.
func (a *auditing) forWrite(c *gin.Context, action audit.Action, status int) *audit.Record {
	if a.rec.ID == uuid.Nil {
		return nil
	}
	a.rec.Action = action
	a.finish(c, status)
	if a.replayedStep {
		return nil
	}
	return &a.rec
}

// stored marks the record as written by the handler's transaction.
func (a *auditing) stored() {
	if a.rec.ID != uuid.Nil && !a.replayedStep {
		a.recorded = true
	}
}

// beginStream stores the request's audit record in records now, before a
// streaming response starts, and lets the stream's writes through. It
// reports false, having answered 503, when the record cannot be stored.
func beginStream(c *gin.Context, records AuditLog, log *slog.Logger) bool {
	a := auditOf(c)
	bw, ok := c.Writer.(*bufferedWriter)
	if !ok || a.rec.ID == uuid.Nil {
		return true // not an audited request
	}
	a.finish(c, http.StatusOK)
	if err := records.Append(c.Request.Context(), a.rec); err != nil {
		log.Error("audit record not stored; stream refused", "requestId", requestID(c), "error", err)
		abort(c, http.StatusServiceUnavailable, CodeAuditUnavailable,
			"The access could not be recorded in the audit trail, so it was not served; retry shortly.")
		return false
	}
	a.recorded = true
	bw.direct = true
	// A stream outlives the server's read and write timeouts, which bound
	// ordinary requests; it ends when the client goes or the stream does.
	rc := http.NewResponseController(bw.ResponseWriter)
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		log.Warn("stream read deadline not lifted", "requestId", requestID(c), "error", err)
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		log.Warn("stream write deadline not lifted", "requestId", requestID(c), "error", err)
	}
	return true
}

// disclosed records the patients whose data a list or search answered, so
// the accounting of disclosures names each of them; with one patient it is
// also the record's patient.
func (a *auditing) disclosed(patients ...uuid.UUID) {
	for _, id := range patients {
		if id != uuid.Nil && !slices.Contains(a.rec.PatientIDs, id) {
			a.rec.PatientIDs = append(a.rec.PatientIDs, id)
		}
	}
	if len(a.rec.PatientIDs) == 1 && a.rec.PatientID == nil {
		a.rec.PatientID = &a.rec.PatientIDs[0]
	}
}

// about names what the request touched.
func (a *auditing) about(action audit.Action, entityType, entityID string, patient *uuid.UUID) {
	a.rec.Action = action
	a.rec.EntityType = entityType
	a.rec.EntityID = entityID
	a.rec.PatientID = patient
}

func actorOf(c *gin.Context) audit.Actor {
	if p, ok := principal(c); ok {
		return audit.Actor{Subject: p.Subject, ClientID: p.ClientID, Roles: p.Roles,
			UserID: p.UserID, PractitionerID: p.PractitionerID, Asserted: p.Asserted, SessionID: p.SessionID}
	}
	// The token endpoint: the client that asked, authenticated or not.
	if id, _, ok := c.Request.BasicAuth(); ok && id != "" {
		return audit.Actor{Subject: truncate(id, 100), ClientID: truncate(id, 100)}
	}
	// Only a form the token endpoint has parsed already: parsing one here
	// would read the whole body of any refused request (a multipart one
	// into temporary files) just to name who sent it.
	if id := c.Request.PostForm.Get("client_id"); id != "" {
		return audit.Actor{Subject: truncate(id, 100), ClientID: truncate(id, 100)}
	}
	return audit.Actor{Subject: "anonymous", ClientID: "anonymous"}
}

func actionFor(method string) audit.Action {
	switch method {
	case http.MethodPost:
		return audit.ActionCreate
	case http.MethodPut, http.MethodPatch:
		return audit.ActionUpdate
	case http.MethodDelete:
		return audit.ActionDelete
	default:
		return audit.ActionRead
	}
}

// truncate makes s storable in an audit record whatever the client sent:
// invalid UTF-8 and control characters become U+FFFD (see printable), and the
// result is cut to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	s = printable(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
