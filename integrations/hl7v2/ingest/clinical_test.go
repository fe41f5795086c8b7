package ingest_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
	"github.com/zarish-sphere/zarish/integrations/hl7v2/ingest"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// fakeTemporal records the workflows started and the Updates sent; an
// Update answers refuse when set (once), else succeeds.
type fakeTemporal struct {
	mu      sync.Mutex
	starts  []startCall
	updates []client.UpdateWorkflowOptions
	refuse  error
}

type startCall struct {
	id, workflow string
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, workflow any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, _ := workflow.(string)
	f.starts = append(f.starts, startCall{id: o.ID, workflow: name})
	return nil, nil
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, o)
	err := f.refuse
	f.refuse = nil
	return fakeHandle{err: err}, nil
}

// sent is the Updates sent so far.
func (f *fakeTemporal) sent() []client.UpdateWorkflowOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]client.UpdateWorkflowOptions{}, f.updates...)
}

func (f *fakeTemporal) started() []startCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startCall{}, f.starts...)
}

type fakeHandle struct{ err error }

func (fakeHandle) WorkflowID() string               { return "" }
func (fakeHandle) RunID() string                    { return "" }
func (fakeHandle) UpdateID() string                 { return "" }
func (h fakeHandle) Get(context.Context, any) error { return h.err }

// receive applies one message over HTTP's path and parses its ACK.
func (s *stack) receive(t *testing.T, msg string) (*hl7v2.Message, hl7message.Message) {
	t.Helper()
	ack, m, err := s.ing.Receive(context.Background(), []byte(msg), ingest.Source{Transport: hl7message.TransportHTTP, Client: "test"})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := hl7v2.Parse(ack)
	if err != nil {
		t.Fatalf("acknowledgement %q: %v", ack, err)
	}
	return parsed, m
}

// replay applies stored message m again.
func (s *stack) replay(t *testing.T, m hl7message.Message) hl7message.Message {
	t.Helper()
	again, err := s.ing.Replay(context.Background(), m.ID, ingest.Source{Transport: hl7message.TransportHTTP, Client: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return again
}

// practitioner adds an active practitioner to the directory.
func (s *stack) practitioner(t *testing.T, name string, role careteam.Role) uuid.UUID {
	t.Helper()
	p, err := careteam.NewPractitioner(uuid.Must(uuid.NewV7()), name, []careteam.Role{role}, []string{"W3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.careTeam.CreatePractitioner(context.Background(), nil, p); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// seg is a segment with the fields given by number.
func seg(id string, fields map[int]string) string {
	n := 0
	for k := range fields {
		n = max(n, k)
	}
	out := make([]string, n+1)
	out[0] = id
	for k, v := range fields {
		out[k] = v
	}
	return strings.Join(out, "|")
}

// message is an HL7 v2 message from sender (application^facility GHH).
func message(app, typ, control string, segments ...string) string {
	return strings.Join(append([]string{"MSH|^~\\&|" + app + "|GHH|ZARISH|WARD|20261201083000||" + typ + "|" + control + "|P|2.5.1"},
		segments...), "\r") + "\r"
}

// errs are the acknowledgement's ERR segments as
// "segment:sequence:field:component:code".
func errs(ack *hl7v2.Message) []string {
	var out []string
	for _, e := range ack.All("ERR") {
		loc := e.Field(2)
		out = append(out, strings.Join([]string{loc.Comp(1).Text(), loc.Comp(2).Text(), loc.Comp(3).Text(), loc.Comp(5).Text(),
			e.Field(3).Comp(1).Text()}, ":"))
	}
	return out
}

func (s *stack) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ref is the id a reference "Kind/<id>" names.
func ref(t *testing.T, reference string) uuid.UUID {
	t.Helper()
	_, id, _ := strings.Cut(reference, "/")
	u, err := uuid.Parse(id)
	if err != nil {
		t.Fatalf("reference %q: %v", reference, err)
	}
	return u
}

const patientPID = "PID|1||PATID1234^^^GHH^MR||RAHMAN^AMINA||19580214|F"

// An ORM^O01 places its order through the order placement of /v1: the
// test the catalogue holds ordered, the one it does not named at its OBR-4
// (AE) and left out, the priority from ORC-7, the orderer ORC-12 names,
// the placer number kept; sent again under another control id, and the
// first replayed, it is the same one order, its workflow started once. An
// orderer the directory does not know, or none, is refused at ORC-12 and
// nothing is placed; so is an unknown patient, at PID-3. An OML^O21 reads
// its priority from TQ1-9 and is placed during the encounter its PV1-19
// visit opened.
func TestOrdersArePlacedOnce(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	if ack, _ := s.receive(t, adt("A04", "REG-1", "RAHMAN", "19580214")); ack.First("MSA").Field(1).Text() != "AA" {
		t.Fatal("register")
	}
	dr := s.practitioner(t, "Rahim Khan", careteam.RolePhysician)
	orc := func(placer, orderer string) string {
		return seg("ORC", map[int]string{1: "NW", 2: placer + "^EHR", 7: "^^^^^S", 12: orderer + "^KHAN^RAHIM"})
	}
	potassium := seg("OBR", map[int]string{1: "1", 2: "PLC-100^EHR", 4: "2823-3^Potassium^LN", 7: "20261201083000"})
	unknown := seg("OBR", map[int]string{1: "2", 2: "PLC-100^EHR", 4: "99999-9^No such test^LN"})

	ack, first := s.receive(t, message("EHR", "ORM^O01^ORM_O01", "ORD-1", patientPID, orc("PLC-100", dr.String()), potassium, unknown))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "OBR:2:4:1:103" {
		t.Fatalf("ORM answered %s %v", code, errs(ack))
	}
	if len(first.Applied) != 1 || first.Applied[0].Kind != "diagnostic-order-placed" {
		t.Fatalf("applied %+v", first.Applied)
	}
	id := ref(t, first.Applied[0].Reference)
	r, err := s.diagnostics.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	p, _, _ := s.patients.Search(ctx, patient.Criteria{Identifier: "GHH|PATID1234"})
	o := r.Order
	if o.PatientID != p[0].ID || o.OrdererID != dr || o.Priority != diagnostic.PriorityStat || len(o.Items) != 1 || o.Items[0].Code != "2823-3" ||
		o.Placer == nil || *o.Placer != (diagnostic.Placer{Sender: "EHR|GHH", Number: "PLC-100", Namespace: "EHR"}) || o.EncounterID != nil ||
		r.Status != diagnostic.StatusRegistered {
		t.Fatalf("the order placed: %+v placer %+v", o, o.Placer)
	}
	if got := s.temporal.started(); len(got) != 1 || got[0] != (startCall{id: diagnosticflow.WorkflowID(id), workflow: diagnosticflow.WorkflowName}) {
		t.Fatalf("workflows started: %+v", got)
	}
	if n := s.count(t, `SELECT count(*) FROM workflow_starts WHERE workflow_id = $1 AND started_at IS NOT NULL`, diagnosticflow.WorkflowID(id)); n != 1 {
		t.Fatalf("%d start rows marked started", n)
	}

	// Sent again (a new control id), then the first replayed: one order.
	ack, again := s.receive(t, message("EHR", "ORM^O01^ORM_O01", "ORD-2", patientPID, orc("PLC-100", dr.String()), potassium))
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(again.Applied) != 1 || again.Applied[0].Reference != first.Applied[0].Reference {
		t.Fatalf("sent again: %s %+v", code, again.Applied)
	}
	if replayed := s.replay(t, first); len(replayed.Applied) != 1 || replayed.Applied[0].Reference != first.Applied[0].Reference {
		t.Fatalf("replayed: %+v", replayed)
	}
	if n := s.count(t, `SELECT count(*) FROM diagnostic_reports`); n != 1 || len(s.temporal.started()) != 1 {
		t.Fatalf("%d orders, %d starts after the re-sending and the replay", n, len(s.temporal.started()))
	}

	// Nobody we know ordered it: refused at ORC-12, nothing placed.
	for _, tc := range []struct{ orderer, want string }{
		{uuid.NewString(), "ORC:1:12:1:204"},
		{"D12345", "ORC:1:12:1:204"},
		{"", "ORC:1:12:1:101"},
	} {
		ack, m := s.receive(t, message("EHR", "ORM^O01^ORM_O01", "ORD-X"+tc.orderer, patientPID,
			orc("PLC-101", tc.orderer), strings.ReplaceAll(potassium, "PLC-100", "PLC-101")))
		if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != tc.want || len(m.Applied) != 0 {
			t.Fatalf("orderer %q: %s %v %+v", tc.orderer, code, errs(ack), m.Applied)
		}
	}
	// A patient nobody registered.
	ack, _ = s.receive(t, message("EHR", "ORM^O01^ORM_O01", "ORD-4", "PID|1||NOBODY^^^GHH^MR", orc("PLC-102", dr.String()), potassium))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "PID:1:3:1:204" {
		t.Fatalf("unknown patient: %s %v", code, errs(ack))
	}
	if n := s.count(t, `SELECT count(*) FROM diagnostic_reports`); n != 1 {
		t.Fatalf("%d orders after the refusals", n)
	}

	// An OML^O21 during an admission: the visit's encounter, TQ1 priority.
	pv1 := seg("PV1", map[int]string{1: "1", 2: "I", 3: "W3^12^A", 19: "V-77"})
	if ack, m := s.receive(t, message("ADT1", "ADT^A01^ADT_A01", "ADM-1", patientPID, pv1)); ack.First("MSA").Field(1).Text() != "AA" || len(m.Applied) != 2 {
		t.Fatalf("admission: %v %+v", errs(ack), m.Applied)
	}
	enc, err := s.encounters.EncounterByVisit(ctx, encounter.Visit{System: "GHH", Number: "V-77"})
	if err != nil {
		t.Fatal(err)
	}
	ack, oml := s.receive(t, message("LIS", "OML^O21^OML_O21", "OML-1", patientPID, pv1,
		seg("ORC", map[int]string{1: "NW", 2: "PLC-300", 12: dr.String()}), "TQ1|1||||||||A^ASAP^HL70485",
		seg("OBR", map[int]string{1: "1", 2: "PLC-300", 4: "58410-2^CBC panel^LN"})))
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(oml.Applied) != 1 {
		t.Fatalf("OML answered %s %v", code, errs(ack))
	}
	r, err = s.diagnostics.Get(ctx, ref(t, oml.Applied[0].Reference))
	if err != nil || r.Order.Priority != diagnostic.PriorityUrgent || r.Order.EncounterID == nil || *r.Order.EncounterID != enc.ID ||
		r.Order.Items[0].Code != "58410-2" || r.Order.Placer.Sender != "LIS|GHH" || r.Order.Placer.Namespace != "" {
		t.Fatalf("the OML's order: %+v, %v", r.Order, err)
	}
}

// receiveTube puts the order's tube in the laboratory, as the specimen
// steps of /v1 record it in the read model.
func (s *stack) receiveTube(t *testing.T, id, by uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	r, err := s.diagnostics.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	at := r.Order.CreatedAt.Add(time.Minute)
	if r, err = r.Collect(diagnostic.Collection{Accession: "ACC-1", Container: r.Order.Items[0].Container, CollectedAt: at, CollectorID: by}, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r, err = r.Receive("ACC-1", by, at.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.diagnostics.Record(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
}

// An ORU^R01 whose OBR-2 is the placer number of an order placed here
// records its results on the order: the observations stored (based on the
// order, of its patient) and the record-results Update sent with them, as
// the responsible observer OBX-16 names, else the interpreter OBR-32
// names; replayed, the Update carries the same observation. Nobody we
// know named: refused at OBX-16, nothing stored or sent. A result the
// report refuses (a test not ordered) is named at its OBX-3. The
// workflow's refusal is AE at OBR-2. An ORU naming no order of ours
// records observations, as before, and sends nothing.
func TestResultsAreRecordedOnTheirOrder(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	s.receive(t, adt("A04", "REG-1", "RAHMAN", "19580214"))
	dr := s.practitioner(t, "Rahim Khan", careteam.RolePhysician)
	sci := s.practitioner(t, "Lab Scientist", careteam.RoleLab)
	_, placed := s.receive(t, message("EHR", "ORM^O01^ORM_O01", "ORD-1", patientPID,
		seg("ORC", map[int]string{1: "NW", 2: "PLC-200^EHR", 12: dr.String()}),
		seg("OBR", map[int]string{1: "1", 2: "PLC-200^EHR", 4: "2823-3^Potassium^LN"})))
	order := ref(t, placed.Applied[0].Reference)
	s.receiveTube(t, order, sci)

	obr := func(placer, interpreter string) string {
		return seg("OBR", map[int]string{1: "1", 2: placer, 3: "FIL-1^LAB", 4: "2823-3^Potassium^LN", 7: "20261201083000", 32: interpreter})
	}
	obx := func(code, observer string) string {
		return seg("OBX", map[int]string{1: "1", 2: "NM", 3: code + "^Potassium^LN", 5: "6.8", 6: "mmol/L", 7: "3.5-5.1", 8: "HH", 11: "F",
			14: "20261201083000", 16: observer})
	}
	ack, m := s.receive(t, message("LAB", "ORU^R01^ORU_R01", "RES-1", patientPID, obr("PLC-200^EHR", ""), obx("2823-3", sci.String()+"^SCI^LAB")))
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(m.Applied) != 2 || m.Applied[0].Kind != "observation-recorded" ||
		m.Applied[1] != (hl7message.Applied{Kind: "diagnostic-results-recorded", Reference: "DiagnosticReport/" + order.String()}) {
		t.Fatalf("ORU answered %s %v %+v", code, errs(ack), m.Applied)
	}
	sent := s.temporal.sent()
	if len(sent) != 1 || sent[0].WorkflowID != diagnosticflow.WorkflowID(order) || sent[0].UpdateName != diagnosticflow.UpdateRecordResults {
		t.Fatalf("updates %+v", sent)
	}
	req := sent[0].Args[0].(*diagnosticflow.RecordResultsRequest)
	obsID := ref(t, m.Applied[0].Reference)
	if req.By != sci || len(req.Observations) != 1 {
		t.Fatalf("the record-results request: %+v", req)
	}
	o := req.Observations[0]
	if o.ID != obsID || o.Code != "2823-3" || o.Value.Quantity.Value != 6.8 || o.BasedOn == nil || *o.BasedOn != order ||
		o.Performer.PractitionerID == nil || *o.Performer.PractitionerID != sci || o.Performer.ClientID != "hl7v2:LAB|GHH" {
		t.Fatalf("the observation sent: %+v", o)
	}
	// Replayed: the same observation, sent again (the report holds it).
	s.replay(t, m)
	if sent = s.temporal.sent(); len(sent) != 2 || sent[1].Args[0].(*diagnosticflow.RecordResultsRequest).Observations[0].ID != obsID {
		t.Fatalf("after the replay: %+v", sent)
	}
	if n := s.count(t, `SELECT count(*) FROM observations WHERE current`); n != 1 {
		t.Fatalf("%d observations after the replay", n)
	}

	// By our order id in OBR-3, the interpreter OBR-32 acting.
	ack, _ = s.receive(t, message("LAB", "ORU^R01^ORU_R01", "RES-3", patientPID,
		seg("OBR", map[int]string{1: "1", 3: order.String(), 4: "2823-3^Potassium^LN", 7: "20261201083000", 32: dr.String() + "&KHAN&RAHIM"}),
		obx("2823-3", "")))
	sent = s.temporal.sent()
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(sent) != 3 || sent[2].Args[0].(*diagnosticflow.RecordResultsRequest).By != dr {
		t.Fatalf("by our id, OBR-32 acting: %s %v %d updates", code, errs(ack), len(sent))
	}

	// Nobody we know: refused at OBX-16, nothing stored or sent.
	before := s.count(t, `SELECT count(*) FROM observations`)
	ack, m = s.receive(t, message("LAB", "ORU^R01^ORU_R01", "RES-4", patientPID, obr("PLC-200^EHR", ""), obx("2823-3", uuid.NewString()+"^WHO")))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "OBX:1:16:1:204" || len(m.Applied) != 0 {
		t.Fatalf("unknown observer: %s %v", code, errs(ack))
	}
	if n := s.count(t, `SELECT count(*) FROM observations`); n != before || len(s.temporal.sent()) != 3 {
		t.Fatalf("the refusal stored %d observations, sent %d updates", n-before, len(s.temporal.sent())-3)
	}
	// A test the order does not hold: named at its OBX-3, nothing sent.
	ack, _ = s.receive(t, message("LAB", "ORU^R01^ORU_R01", "RES-5", patientPID, obr("PLC-200^EHR", ""),
		strings.NewReplacer("2823-3^Potassium", "2951-2^Sodium", "|6.8|", "|140|", "3.5-5.1", "135-145", "|HH|", "|N|").Replace(obx("2823-3", sci.String()))))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "OBX:1:3:1:102" || len(s.temporal.sent()) != 3 {
		t.Fatalf("a test not ordered: %s %v", code, errs(ack))
	}
	// The workflow refuses: AE at OBR-2 with its reason.
	s.temporal.mu.Lock()
	s.temporal.refuse = temporal.NewApplicationError("the report is final; correct it to change a result", diagnosticflow.RefusedInvalidTransition)
	s.temporal.mu.Unlock()
	ack, _ = s.receive(t, message("LAB", "ORU^R01^ORU_R01", "RES-6", patientPID, obr("PLC-200^EHR", ""), obx("2823-3", sci.String())))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "OBR:1:2:1:207" ||
		!strings.Contains(ack.First("ERR").Field(8).Text(), "the report is final") {
		t.Fatalf("a refused Update: %s %v %q", code, errs(ack), ack.First("ERR").Field(8).Text())
	}

	// No order of ours: observations, no Update.
	n := len(s.temporal.sent())
	ack, m = s.receive(t, message("LAB", "ORU^R01^ORU_R01", "RES-7", patientPID, obr("ELSEWHERE-9^OTHER", ""), obx("2823-3", "")))
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(m.Applied) != 1 || m.Applied[0].Kind != "observation-recorded" || len(s.temporal.sent()) != n {
		t.Fatalf("unmatched: %s %v %+v", code, errs(ack), m.Applied)
	}
	stored, _, err := postgres.NewObservationStore(s.pool).Get(ctx, ref(t, m.Applied[0].Reference))
	if err != nil || stored.BasedOn != nil || stored.Performer.PractitionerID != nil {
		t.Fatalf("the unmatched result: %+v, %v", stored, err)
	}
}

// An ADT^A01 with a visit number opens the visit's encounter (planned,
// inpatient, at PV1-3's point of care) and starts its workflow; sent again
// it opens nothing more. An A03 sends the discharge Update, as the PV1-7
// attending, with PV1-36's disposition; once the read model says
// discharged, a replay sends nothing. An A11 sends the cancel Update. The
// workflow's refusal is AE with its reason at PV1-19; an attending we do
// not know is refused at PV1-7, an unknown visit at PV1-19, and an A13 is
// AE: the workflow cannot reopen an encounter.
func TestVisitsAreAdmittedDischargedAndCancelled(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	dr := s.practitioner(t, "Rahim Khan", careteam.RolePhysician)
	pv1 := func(visit, attending, disposition string) string {
		return seg("PV1", map[int]string{1: "1", 2: "I", 3: "W3^12^A", 7: attending + "^KHAN^RAHIM", 19: visit, 36: disposition})
	}
	ack, m := s.receive(t, message("ADT1", "ADT^A01^ADT_A01", "ADM-1", "EVN|A01|20261201083000", patientPID, pv1("V-1", dr.String(), "")))
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(m.Applied) != 2 || m.Applied[1].Kind != "encounter-opened" {
		t.Fatalf("A01 answered %s %v %+v", code, errs(ack), m.Applied)
	}
	id := ref(t, m.Applied[1].Reference)
	enc, err := s.encounters.GetEncounter(ctx, id)
	if err != nil || enc.Class != encounter.ClassInpatient || enc.Location != "W3" || enc.Status != encounter.StatusPlanned ||
		enc.PatientID != ref(t, m.Applied[0].Reference) {
		t.Fatalf("the encounter: %+v, %v", enc, err)
	}
	if got := s.temporal.started(); len(got) != 1 || got[0] != (startCall{id: encounterflow.WorkflowID(id), workflow: encounterflow.WorkflowName}) {
		t.Fatalf("started %+v", got)
	}
	_, again := s.receive(t, message("ADT1", "ADT^A01^ADT_A01", "ADM-2", patientPID, pv1("V-1", dr.String(), "")))
	if len(again.Applied) != 2 || again.Applied[1].Reference != m.Applied[1].Reference || len(s.temporal.started()) != 1 ||
		s.count(t, `SELECT count(*) FROM encounters`) != 1 {
		t.Fatalf("the admission sent again: %+v", again.Applied)
	}

	// Discharge: the Update, as the attending, disposition home.
	ack, dis := s.receive(t, message("ADT1", "ADT^A03^ADT_A03", "DIS-1", "EVN|A03|20261202083000", patientPID, pv1("V-1", dr.String(), "01")))
	sent := s.temporal.sent()
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(sent) != 1 || sent[0].WorkflowID != encounterflow.WorkflowID(id) ||
		sent[0].UpdateName != encounterflow.UpdateDischarge {
		t.Fatalf("A03 answered %s %v, updates %+v", code, errs(ack), sent)
	}
	d := sent[0].Args[0].(*encounterflow.DischargeRequest)
	if d.By != dr || d.Disposition != encounter.DispositionHome || d.Force || d.Audit == nil || d.Audit.Actor.Subject != "hl7v2:ADT1|GHH" {
		t.Fatalf("the discharge request: %+v", d)
	}
	// The workflow's read-model write says discharged: a replay sends nothing.
	if _, err := s.pool.Exec(ctx, `UPDATE encounters SET status = 'discharged' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if r := s.replay(t, dis); r.Outcome != hl7message.OutcomeAccepted || len(s.temporal.sent()) != 1 {
		t.Fatalf("the replayed discharge: %+v, %d updates", r, len(s.temporal.sent()))
	}
	// A13: not applied, and said why.
	ack, _ = s.receive(t, message("ADT1", "ADT^A13^ADT_A01", "UND-1", patientPID, pv1("V-1", dr.String(), "")))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "MSH:1:9:2:201" ||
		!strings.Contains(ack.First("ERR").Field(8).Text(), "cannot reopen") || len(s.temporal.sent()) != 1 {
		t.Fatalf("A13 answered %s %v", code, errs(ack))
	}

	// A second visit, cancelled (A11): the cancel Update.
	s.receive(t, message("ADT1", "ADT^A01^ADT_A01", "ADM-3", patientPID, pv1("V-2", dr.String(), "")))
	ack, _ = s.receive(t, message("ADT1", "ADT^A11^ADT_A09", "CAN-1", patientPID, pv1("V-2", dr.String(), "")))
	sent = s.temporal.sent()
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(sent) != 2 || sent[1].UpdateName != encounterflow.UpdateCancel {
		t.Fatalf("A11 answered %s %v, updates %+v", code, errs(ack), sent)
	}
	v2, _ := s.encounters.EncounterByVisit(ctx, encounter.Visit{System: "GHH", Number: "V-2"})
	c := sent[1].Args[0].(*encounterflow.CancelRequest)
	if sent[1].WorkflowID != encounterflow.WorkflowID(v2.ID) || c.By != dr || c.Reason != "admission cancelled: ADT^A11 CAN-1 from ADT1|GHH" {
		t.Fatalf("the cancel request %+v to %s", c, sent[1].WorkflowID)
	}

	// The workflow refuses (a status that forbids it): AE with the reason.
	s.temporal.mu.Lock()
	s.temporal.refuse = temporal.NewApplicationError("invalid transition: cannot discharge an encounter that is planned", encounterflow.RefusedInvalidTransition)
	s.temporal.mu.Unlock()
	ack, _ = s.receive(t, message("ADT1", "ADT^A03^ADT_A03", "DIS-2", patientPID, pv1("V-2", dr.String(), "")))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "PV1:1:19:1:207" ||
		!strings.Contains(ack.First("ERR").Field(8).Text(), "cannot discharge an encounter that is planned") {
		t.Fatalf("refused discharge answered %s %v", code, errs(ack))
	}
	// Nobody we know, no visit we opened.
	n := len(s.temporal.sent())
	for _, tc := range []struct{ visit, attending, want string }{
		{"V-2", uuid.NewString(), "PV1:1:7:1:204"},
		{"V-2", "", "PV1:1:7:1:101"},
		{"V-404", dr.String(), "PV1:1:19:1:204"},
	} {
		ack, _ = s.receive(t, message("ADT1", "ADT^A03^ADT_A03", "DIS-"+tc.visit+tc.attending, patientPID, pv1(tc.visit, tc.attending, "")))
		if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != tc.want {
			t.Fatalf("%+v answered %s %v", tc, code, errs(ack))
		}
	}
	if len(s.temporal.sent()) != n {
		t.Fatal("a refused discharge sent an Update")
	}
}

// An ADT^A40 links the patient MRG-1 names to the survivor PID-3 names:
// the survivor takes the old identifier, the merged-away patient is
// deactivated, and a later message by the old identifier updates the
// survivor. Replayed, it changes nothing more. Without a survivor we know
// it is refused at PID-3, without MRG-1 at MRG-1.
func TestMergeLinksTheOldIdentifierToTheSurvivor(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	reg := func(control, id, family string) uuid.UUID {
		_, m := s.receive(t, message("ADT1", "ADT^A04^ADT_A01", control, "PID|1||"+id+"^^^GHH^MR||"+family+"^AMINA||19580214|F"))
		return ref(t, m.Applied[0].Reference)
	}
	old, survivor := reg("R-1", "PAT-OLD", "RAHMAN"), reg("R-2", "PAT-NEW", "RAHMAN")
	ack, m := s.receive(t, message("ADT1", "ADT^A40^ADT_A39", "MRG-1", "PID|1||PAT-NEW^^^GHH^MR||RAHMAN^AMINA", "MRG|PAT-OLD^^^GHH^MR"))
	if code := ack.First("MSA").Field(1).Text(); code != "AA" || len(m.Applied) != 2 ||
		m.Applied[0] != (hl7message.Applied{Kind: "patient-merged", Reference: "Patient/" + survivor.String()}) ||
		m.Applied[1] != (hl7message.Applied{Kind: "patient-deactivated", Reference: "Patient/" + old.String()}) {
		t.Fatalf("A40 answered %s %v %+v", code, errs(ack), m.Applied)
	}
	sp, _ := s.patients.Get(ctx, survivor)
	op, _ := s.patients.Get(ctx, old)
	if !sp.Active || op.Active || len(sp.Identifiers) != 2 || sp.Identifiers[1] != (patient.Identifier{System: "GHH", Value: "PAT-OLD"}) {
		t.Fatalf("survivor %+v, merged away %+v", sp, op)
	}
	active := true
	if found, _, _ := s.patients.Search(ctx, patient.Criteria{Identifier: "GHH|PAT-OLD", Active: &active}); len(found) != 1 || found[0].ID != survivor {
		t.Fatalf("the old identifier finds %+v", found)
	}
	if r := s.replay(t, m); r.Outcome != hl7message.OutcomeAccepted || len(r.Applied) != 2 {
		t.Fatalf("replayed: %+v", r)
	}
	if again, _ := s.patients.Get(ctx, survivor); again.Version != sp.Version {
		t.Fatalf("the replay changed the survivor: version %d, was %d", again.Version, sp.Version)
	}
	// A later update by the old identifier: the survivor.
	s.receive(t, message("ADT1", "ADT^A08^ADT_A01", "UPD-1", "PID|1||PAT-OLD^^^GHH^MR||RAHMAN-KHAN^AMINA||19580214|F"))
	if sp, _ = s.patients.Get(ctx, survivor); sp.Name.Family != "RAHMAN-KHAN" {
		t.Fatalf("the A08 by the old identifier: %+v", sp.Name)
	}
	for _, tc := range []struct{ pid, mrg, want string }{
		{"PID|1||NOBODY^^^GHH^MR", "MRG|PAT-OLD^^^GHH^MR", "PID:1:3:1:204"},
		{"PID|1||PAT-NEW^^^GHH^MR", "MRG|", "MRG:1:1:1:101"},
	} {
		ack, _ := s.receive(t, message("ADT1", "ADT^A40^ADT_A39", "MRG-"+tc.want, tc.pid, tc.mrg))
		if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != tc.want {
			t.Fatalf("%+v answered %s %v", tc, code, errs(ack))
		}
	}
}

// The real ORM^O01 of the shared test data, for a registered patient: its
// orderer is named by NPI (ORC-12), which our directory does not hold, so
// it is refused there; named by our practitioner's id, its newborn
// screening panel (OBR-4) is not a test of our catalogue, and it is
// refused there. Nothing is placed.
func TestRealOrderIsAnsweredPrecisely(t *testing.T) {
	s := newStack(t)
	raw, err := os.ReadFile("../testdata/real/Test__e2e__orders__003_1_ORM_O01_short_linked_to_002_ORU_R01_short.hl7")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := hl7v2.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	pid := msg.First("PID").Raw()
	if ack, _ := s.receive(t, message("ADT1", "ADT^A04^ADT_A01", "REG-1", pid)); ack.First("MSA").Field(1).Text() != "AA" {
		t.Fatalf("register: %v", errs(ack))
	}
	ack, _ := s.receive(t, string(raw))
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "ORC:1:12:1:204" {
		t.Fatalf("the real ORM answered %s %v", code, errs(ack))
	}
	dr := s.practitioner(t, "Rahim Khan", careteam.RolePhysician)
	named := strings.ReplaceAll(strings.ReplaceAll(string(raw), "12345^^^^^^^^NPI", dr.String()+"^^^^^^^^NPI"), "Q1960841872T2476960690", "NEW-1")
	ack, _ = s.receive(t, named)
	if code := ack.First("MSA").Field(1).Text(); code != "AE" || strings.Join(errs(ack), " ") != "OBR:1:4:1:103" {
		t.Fatalf("named by our id, the real ORM answered %s %v", code, errs(ack))
	}
	if n := s.count(t, `SELECT count(*) FROM diagnostic_reports`); n != 0 {
		t.Fatalf("%d orders placed", n)
	}
}
