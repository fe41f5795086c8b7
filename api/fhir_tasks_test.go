package api

import (
	"context"
	"net/http"
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
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// taskTemporal answers the visibility calls Tasks make: workflows, by id,
// and the query a search sent.
type taskTemporal struct {
	client.Client
	workflows []*workflowpb.WorkflowExecutionInfo
	queries   []string
}

func (f *taskTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.queries = append(f.queries, req.GetQuery())
	var out []*workflowpb.WorkflowExecutionInfo
	for _, w := range f.workflows {
		if strings.Contains(req.GetQuery(), keyword(w.GetSearchAttributes().GetIndexedFields()["PatientId"])) {
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
	attrs := map[string]*commonpb.Payload{}
	for k, v := range map[string]string{"PatientId": patient, "EncounterStatus": business} {
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
