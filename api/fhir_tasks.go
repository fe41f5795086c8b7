package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// businessStatusAttributes are the search attributes each workflow type
// keeps its own status in.
var businessStatusAttributes = []string{"EncounterStatus", "PrescriptionStatus", "DiagnosticStatus", "ProcedureStatus", "AlertStatus", "Status"}

// taskPage bounds a Task search page.
const taskPage = 100

// taskOf reads a workflow execution as Temporal's visibility lists it.
func taskOf(info *workflowpb.WorkflowExecutionInfo) fhir.Task {
	w := fhir.Workflow{ID: info.GetExecution().GetWorkflowId(), Type: info.GetType().GetName(),
		ExecutionStatus: info.GetStatus().String()}
	if t := info.GetStartTime(); t != nil {
		w.Start = t.AsTime()
	}
	if t := info.GetCloseTime(); t != nil {
		w.Close = t.AsTime()
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	w.PatientID = keyword(fields["PatientId"])
	w.OwnerID = keyword(fields["OwnerId"])
	w.Deadline = datetime(fields["Deadline"])
	for _, name := range businessStatusAttributes {
		if v := keyword(fields[name]); v != "" {
			w.BusinessStatus = v
			break
		}
	}
	return fhir.FromWorkflow(w)
}

// keyword is a keyword search attribute's value ("" when absent).
func keyword(p *commonpb.Payload) string {
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		var list []string
		if converter.GetDefaultDataConverter().FromPayload(p, &list) == nil && len(list) > 0 {
			return list[0]
		}
		return ""
	}
	return s
}

// datetime is a Datetime search attribute's value (zero when absent).
func datetime(p *commonpb.Payload) time.Time {
	var at time.Time
	if p == nil || converter.GetDefaultDataConverter().FromPayload(p, &at) != nil {
		return time.Time{}
	}
	return at
}

// ownerParam reads a reference to a practitioner: Practitioner/<id>, or
// the id alone; uuid.Nil when absent.
func ownerParam(value string) (uuid.UUID, error) {
	if value == "" {
		return uuid.Nil, nil
	}
	ref := strings.TrimPrefix(value, "Practitioner/")
	id, err := uuid.Parse(ref)
	if err != nil || id == uuid.Nil || strings.Contains(ref, "/") {
		return uuid.Nil, invalidParam("owner", "owner must be Practitioner/<id> or a practitioner id")
	}
	return id, nil
}

// readTask answers GET /fhir/R4/Task/{id}: the workflow the id names.
func (s *fhirRoutes) readTask(c *gin.Context) {
	if s.temporal == nil {
		writeOutcome(c, http.StatusServiceUnavailable, fhirIssue(fhir.IssueException, "This server reads no workflows."))
		return
	}
	wid, ok := fhir.WorkflowIDOf(c.Param("id"))
	if !ok {
		auditOf(c).about(audit.ActionRead, "Task", c.Param("id"), nil)
		writeOutcome(c, http.StatusNotFound, fhirIssue(fhir.IssueNotFound, "There is no Task "+c.Param("id")+"."))
		return
	}
	d, err := s.temporal.DescribeWorkflowExecution(c.Request.Context(), wid, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		auditOf(c).about(audit.ActionRead, "Task", wid, nil)
		writeOutcome(c, http.StatusNotFound, fhirIssue(fhir.IssueNotFound, "There is no Task "+c.Param("id")+"."))
		return
	case err != nil:
		auditOf(c).about(audit.ActionRead, "Task", wid, nil)
		s.fhirFail(c, err, nil)
		return
	}
	t := taskOf(d.GetWorkflowExecutionInfo())
	var patient *uuid.UUID
	if t.For != nil {
		if id, err := uuid.Parse(strings.TrimPrefix(t.For.Reference, "Patient/")); err == nil {
			patient = &id
		}
	}
	auditOf(c).about(audit.ActionRead, "Task", wid, patient)
	if patient != nil && outsideLaunch(c, *patient) {
		return
	}
	writeFHIR(c, http.StatusOK, t)
}

// searchTasks answers GET /fhir/R4/Task?patient=&owner=&status=: the
// workflows of a patient, of an owner (a practitioner's worklist across
// patients), or both, newest first, from Temporal's visibility. A token
// confined to its launch patient is kept to that patient.
func (s *fhirRoutes) searchTasks(c *gin.Context, q url.Values) {
	if s.temporal == nil {
		writeOutcome(c, http.StatusServiceUnavailable, fhirIssue(fhir.IssueException, "This server reads no workflows."))
		return
	}
	patient, err := patientParam(c, "patient", q.Get("patient"))
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	owner, err := ownerParam(q.Get("owner"))
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if patient == uuid.Nil && owner == uuid.Nil {
		s.fhirFail(c, invalidParam("patient", "patient or owner is required: the Tasks of one patient or of one practitioner are searched"), nil)
		return
	}
	var clauses []string
	if patient != uuid.Nil {
		clauses = append(clauses, "PatientId = '"+patient.String()+"'")
	}
	if owner != uuid.Nil {
		clauses = append(clauses, "OwnerId = '"+owner.String()+"'")
	}
	query := strings.Join(clauses, " AND ")
	if st := q.Get("status"); st != "" {
		statuses := fhir.ExecutionStatusesOf(st)
		if statuses == nil {
			s.fhirFail(c, invalidParam("status", "status must be one of "+strings.Join(fhir.TaskStatuses, ", ")), nil)
			return
		}
		query += " AND ExecutionStatus IN ('" + strings.Join(statuses, "', '") + "')"
	}
	size, err := countParam(q, 50, taskPage)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	var token []byte
	if cur := q.Get(fhirCursor); cur != "" {
		if token, err = base64.RawURLEncoding.DecodeString(cur); err != nil {
			s.fhirFail(c, invalidParam(fhirCursor, "_cursor is not one this server gave"), nil)
			return
		}
	}
	res, err := s.temporal.ListWorkflow(c.Request.Context(), &workflowservice.ListWorkflowExecutionsRequest{
		PageSize: int32(size), NextPageToken: token, Query: query})
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	a := auditOf(c)
	if patient != uuid.Nil {
		a.rec.PatientIDs = append(a.rec.PatientIDs, patient)
	}
	out := make([]fhir.Task, 0, len(res.GetExecutions()))
	for _, info := range res.GetExecutions() {
		t := taskOf(info)
		if patient == uuid.Nil && t.For != nil {
			// A worklist across patients names each one it discloses.
			if id, err := uuid.Parse(strings.TrimPrefix(t.For.Reference, "Patient/")); err == nil {
				a.disclosed(id)
			}
		}
		out = append(out, t)
	}
	next := ""
	if len(res.GetNextPageToken()) > 0 {
		next = base64.RawURLEncoding.EncodeToString(res.GetNextPageToken())
	}
	searchSet(c, q, out, next)
}

// readPractitioner answers GET /fhir/R4/Practitioner/{id}: one member of
// the care-team directory.
func (s *fhirRoutes) readPractitioner(c *gin.Context) {
	id, ok := fhirID(c, "Practitioner")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, "Practitioner", id.String(), nil)
	if s.directory == nil {
		writeOutcome(c, http.StatusServiceUnavailable, fhirIssue(fhir.IssueException, "This server has no care-team directory."))
		return
	}
	p, err := s.directory.GetPractitioner(c.Request.Context(), id)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	writeFHIR(c, http.StatusOK, fhir.FromPractitioner(p))
}

// searchPractitioners answers GET /fhir/R4/Practitioner?name=: the
// directory's members whose name holds the text, case aside.
func (s *fhirRoutes) searchPractitioners(c *gin.Context, q url.Values) {
	if s.directory == nil {
		writeOutcome(c, http.StatusServiceUnavailable, fhirIssue(fhir.IssueException, "This server has no care-team directory."))
		return
	}
	all, err := s.directory.ListPractitioners(c.Request.Context(), "")
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	name := strings.ToLower(strings.TrimSpace(q.Get("name")))
	out := []fhir.Practitioner{}
	for _, p := range all {
		if name == "" || strings.Contains(strings.ToLower(p.Name), name) {
			out = append(out, fhir.FromPractitioner(p))
		}
	}
	searchSet(c, q, out, "")
}
