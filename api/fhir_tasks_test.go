package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/google/uuid"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// taskTemporal answers the visibility calls Tasks make: workflows, by id,
// and the query a search sent. A listing answers the workflows whose
// PatientId and OwnerId match the query's, where it names them.
type taskTemporal struct {
	client.Client
	workflows []*workflowpb.WorkflowExecutionInfo
	queries   []string
}

func (f *taskTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	var out []*workflowpb.WorkflowExecutionInfo
	q := req.GetQuery()
	for _, w := range f.workflows {
		fields := w.GetSearchAttributes().GetIndexedFields()
		matches := func(attr string) bool {
			return !strings.Contains(q, attr+" = ") || strings.Contains(q, attr+" = '"+keyword(fields[attr])+"'")
		}
		if matches("PatientId") && matches("OwnerId") {
			out = append(out, w)
		}
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: out}, nil
}

func (f *taskTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	for _, w := range f.workflows {
		if w.GetExecution().GetWorkflowId() == id {
			return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: w}, nil
		}
	}
	return nil, serviceerror.NewNotFound("workflow not found")
}

// workflowInfo is one workflow of patient as visibility lists it.
func workflowInfo(t *testing.T, id, typ string, status enumspb.WorkflowExecutionStatus, patient, business string) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	return ownedWorkflowInfo(t, id, typ, status, patient, business, "", time.Time{})
}

// ownedWorkflowInfo is workflowInfo started with owner (none when "") and
// deadline (none when zero) as its start-only search attributes.
func ownedWorkflowInfo(t *testing.T, id, typ string, status enumspb.WorkflowExecutionStatus, patient, business, owner string,
	deadline time.Time) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	attrs := map[string]*commonpb.Payload{}
	values := map[string]any{"PatientId": patient, "EncounterStatus": business}
	if owner != "" {
		values["OwnerId"] = owner
	}
	if !deadline.IsZero() {
		values["Deadline"] = deadline
	}
	for k, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		attrs[k] = p
	}
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	info := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: id}, Type: &commonpb.WorkflowType{Name: typ},
		Status: status, StartTime: timestamppb.New(start), SearchAttributes: &commonpb.SearchAttributes{IndexedFields: attrs}}
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		info.CloseTime = timestamppb.New(start.Add(time.Hour))
	}
	return info
}

// A patient's workflows are Tasks: read by id, searched by patient and
// status, each with its status, business status, focus and patient.
func TestFHIRTasksAreTheWorkflows(t *testing.T) {
	a := newFHIRAPI(t)
	p := a.register(t, "Amina", "Begum", "1988-02-29").ID.String()
	enc := "0193e000-0000-7000-8000-00000000e001"
	a.temporal.workflows = []*workflowpb.WorkflowExecutionInfo{
		workflowInfo(t, "encounter/"+enc, "Encounter", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, p, "in-progress"),
		workflowInfo(t, "alert/0193e000-0000-7000-8000-00000000a001", "AlertEscalation", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, p, ""),
	}
	r := a.get(t, fhirBase+"/Task/encounter-"+enc)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"status":"in-progress"`) || !strings.Contains(r.body, `"reference":"Encounter/`+enc+`"`) ||
		!strings.Contains(r.body, `"reference":"Patient/`+p+`"`) || !strings.Contains(r.body, `"value":"encounter/`+enc+`"`) ||
		!strings.Contains(r.body, `"businessStatus":{"text":"in-progress"}`) {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	b := searchBundle(t, a.get(t, fhirBase+"/Task?patient="+p+"&status=completed"))
	if len(b.Entry) != 2 || !strings.Contains(a.temporal.queries[len(a.temporal.queries)-1], "ExecutionStatus IN ('Completed')") {
		t.Fatalf("search: %d entries, query %q", len(b.Entry), a.temporal.queries)
	}
	if issue := fhirOutcome(t, a.get(t, fhirBase+"/Task/encounter-0193e000-0000-7000-8000-00000000ffff"), http.StatusNotFound); issue.Code != fhir.IssueNotFound {
		t.Errorf("an unknown Task: %+v", issue)
	}
	if issue := fhirOutcome(t, a.get(t, fhirBase+"/Task/spaceship-1"), http.StatusNotFound); issue.Code != fhir.IssueNotFound {
		t.Errorf("a Task of no kind: %+v", issue)
	}
	if issue := fhirOutcome(t, a.get(t, fhirBase+"/Task?patient="+p+"&status=finished"), http.StatusBadRequest); issue.Code != fhir.IssueInvalid {
		t.Errorf("a status Tasks never have: %+v", issue)
	}
}

// The care-team directory's members are Practitioners, read by id and
// searched by name.
func TestFHIRPractitionersAreTheDirectory(t *testing.T) {
	a := newFHIRAPI(t)
	p, err := careteam.NewPractitioner(uuid.Must(uuid.NewV7()), "Dr. Karim Hossain", []careteam.Role{careteam.RolePhysician}, []string{"ward-3"},
		[]careteam.ContactPoint{{System: careteam.ContactPush, Value: "device-token"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.directory.CreatePractitioner(context.Background(), nil, p); err != nil {
		t.Fatal(err)
	}
	r := a.get(t, fhirBase+"/Practitioner/"+p.ID.String())
	if r.status != http.StatusOK || !strings.Contains(r.body, `"text":"Dr. Karim Hossain"`) || !strings.Contains(r.body, `"code":{"text":"physician"}`) ||
		!strings.Contains(r.body, `"system":"other"`) {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	if got := fhirIDs(t, a.get(t, fhirBase+"/Practitioner?name=KARIM")); len(got) != 1 || got[0] != p.ID.String() {
		t.Fatalf("search by name: %v", got)
	}
	if got := fhirIDs(t, a.get(t, fhirBase+"/Practitioner?name=nobody")); len(got) != 0 {
		t.Fatalf("search for nobody: %v", got)
	}
	if issue := fhirOutcome(t, a.get(t, fhirBase+"/Practitioner/"+uuid.NewString()), http.StatusNotFound); issue.Code != fhir.IssueNotFound {
		t.Errorf("an unknown practitioner: %+v", issue)
	}
}

// A practitioner's worklist: Tasks searched by owner, with or without a
// patient, each showing its owner and its deadline; every patient it
// discloses is audited, a launched token stays with its patient, and an
// owner that names no practitioner is refused.
func TestFHIRTasksOfAnOwner(t *testing.T) {
	a := newFHIRAPI(t)
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-06-01").ID
	owner, other := "0193e000-0000-7000-8000-0000000000d1", "0193e000-0000-7000-8000-0000000000d2"
	due := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	order := "diagnostic/0193e000-0000-7000-8000-00000000d001"
	a.temporal.workflows = []*workflowpb.WorkflowExecutionInfo{
		ownedWorkflowInfo(t, order, "DiagnosticReport", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, amina.String(), "registered", owner, due),
		ownedWorkflowInfo(t, "prescription/0193e000-0000-7000-8000-00000000c001", "Prescription", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			rahim.String(), "draft", owner, time.Time{}),
		ownedWorkflowInfo(t, "procedure/0193e000-0000-7000-8000-00000000b001", "ProcedureScheduling", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			rahim.String(), "requested", other, time.Time{}),
	}
	lastQuery := func() string { return a.temporal.queries[len(a.temporal.queries)-1] }

	r := a.as(t, adminToken, fhirBase+"/Task?owner=Practitioner/"+owner+"&status=in-progress", "task-worklist")
	b := searchBundle(t, r)
	if len(b.Entry) != 2 || lastQuery() != "OwnerId = '"+owner+"' AND ExecutionStatus IN ('Running')" {
		t.Fatalf("worklist: %d entries, query %q", len(b.Entry), lastQuery())
	}
	if !strings.Contains(r.body, `"owner":{"reference":"Practitioner/`+owner+`"}`) ||
		!strings.Contains(r.body, `"restriction":{"period":{"end":"2026-12-01T09:30:00Z"}}`) ||
		strings.Count(r.body, `"restriction"`) != 1 {
		t.Fatalf("worklist body: %s", r.body)
	}
	if rec := a.audited(t, "task-worklist"); !slices.Equal(rec.PatientIDs, []uuid.UUID{amina, rahim}) || rec.Action != audit.ActionSearch {
		t.Errorf("the worklist audited as %+v", rec)
	}

	b = searchBundle(t, a.as(t, adminToken, fhirBase+"/Task?patient="+rahim.String()+"&owner="+owner, "task-both"))
	if len(b.Entry) != 1 || lastQuery() != "PatientId = '"+rahim.String()+"' AND OwnerId = '"+owner+"'" {
		t.Fatalf("owner and patient: %d entries, query %q", len(b.Entry), lastQuery())
	}
	if rec := a.audited(t, "task-both"); !slices.Equal(rec.PatientIDs, []uuid.UUID{rahim}) {
		t.Errorf("owner and patient audited as %+v", rec)
	}

	launched := a.launchedFor(rahim)
	b = searchBundle(t, a.as(t, launched, fhirBase+"/Task?owner="+owner, "task-launched"))
	if len(b.Entry) != 1 || lastQuery() != "PatientId = '"+rahim.String()+"' AND OwnerId = '"+owner+"'" {
		t.Fatalf("launched worklist: %d entries, query %q", len(b.Entry), lastQuery())
	}
	if r := a.as(t, launched, fhirBase+"/Task?owner="+owner+"&patient="+amina.String(), "task-launched-other"); r.status != http.StatusForbidden {
		t.Errorf("launched worklist of another patient: %d %s", r.status, r.body)
	}

	searches := len(a.temporal.queries)
	for _, bad := range []string{"Patient/" + owner, "nobody", "Practitioner/" + owner + "/x", uuid.Nil.String()} {
		issue := fhirOutcome(t, a.get(t, fhirBase+"/Task?owner="+url.QueryEscape(bad)), http.StatusBadRequest)
		if issue.Code != fhir.IssueInvalid || !slices.Equal(issue.Expression, []string{"owner"}) {
			t.Errorf("owner=%s: %+v", bad, issue)
		}
	}
	issue := fhirOutcome(t, a.get(t, fhirBase+"/Task?status=in-progress"), http.StatusBadRequest)
	if issue.Code != fhir.IssueInvalid || !slices.Equal(issue.Expression, []string{"patient"}) {
		t.Errorf("neither patient nor owner: %+v", issue)
	}
	if len(a.temporal.queries) != searches {
		t.Errorf("a refused search listed workflows: %q", a.temporal.queries[searches:])
	}

	r = a.get(t, fhirBase+"/metadata")
	if !strings.Contains(r.body, `"name":"owner","type":"reference"`) {
		t.Errorf("the CapabilityStatement lists no owner search: %s", r.body)
	}
}
