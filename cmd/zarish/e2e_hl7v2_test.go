package main

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// mllpSend sends one message over MLLP and returns its acknowledgement.
func mllpSend(t *testing.T, conn net.Conn, r *bufio.Reader, msg string) string {
	t.Helper()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("\x0b" + msg + "\x1c\r")); err != nil {
		t.Fatal(err)
	}
	frame, err := r.ReadBytes('\x1c')
	if err != nil {
		t.Fatalf("no acknowledgement: %v", err)
	}
	if b, err := r.ReadByte(); err != nil || b != '\r' {
		t.Fatalf("frame end %q, %v", b, err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(frame), "\x0b"), "\x1c")
}

// segment is an HL7 v2 segment with the fields given by number.
func segment(id string, fields map[int]string) string {
	n := 0
	for k := range fields {
		n = max(n, k)
	}
	out := make([]string, n+1)
	out[0] = id
	for k, v := range fields {
		out[k] = v
	}
	return strings.Join(out, "|") + "\r"
}

// TestEndToEndHL7v2IntoTheCareProcesses: a hospital's interface engine,
// over MLLP to the engine's listener, registers a patient, admits her —
// the visit's encounter opens and its workflow runs — and orders a test
// for her, ordered by the physician ORC-12 names: the order is placed with
// its placer number and its diagnostic workflow runs, as an order placed
// through the API would be. Sent again, the order is placed once.
func TestEndToEndHL7v2IntoTheCareProcesses(t *testing.T) {
	e := startE2E(t, devConfig(t))
	conn, err := net.Dial("tcp", e.stack.MLLPAddress)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	karim := demoPractitionerID("dr.karim").String()
	msh := func(typ, control string) string {
		return "MSH|^~\\&|EHR|GHH|ZARISH|WARD|20261201083000||" + typ + "|" + control + "|P|2.5.1\r"
	}
	pid := "PID|1||E2E-HL7-1^^^GHH^MR||BEGUM^RUKSANA||19620309|F\r"

	if ack := mllpSend(t, conn, r, msh("ADT^A04^ADT_A01", "E2E-REG")+pid); !strings.Contains(ack, "MSA|AA|E2E-REG") {
		t.Fatalf("register: %q", ack)
	}
	admit := msh("ADT^A01^ADT_A01", "E2E-ADM") + pid +
		segment("PV1", map[int]string{1: "1", 2: "I", 3: "ward-3^12^A", 7: karim + "^HOSSAIN^KARIM", 19: "V-E2E-1"})
	if ack := mllpSend(t, conn, r, admit); !strings.Contains(ack, "MSA|AA|E2E-ADM") {
		t.Fatalf("admit: %q", ack)
	}
	admin := e.token(devClientID, "dev-secret", "")
	res := e.do(http.MethodGet, "/v1/patients?identifier=GHH%7CE2E-HL7-1", admin, nil)
	var patients struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	res.json(t, &patients)
	if res.status != http.StatusOK || len(patients.Data) != 1 {
		t.Fatalf("the registered patient: %d %s", res.status, res.body)
	}
	patientID := patients.Data[0].ID
	eventually(t, 30*time.Second, "the visit's encounter and its workflow", func() bool {
		res := e.do(http.MethodGet, "/v1/clinical/encounters?patientId="+patientID, admin, nil)
		return res.status == http.StatusOK && bytes.Contains(res.body, []byte(`"class":"inpatient"`)) &&
			bytes.Contains(res.body, []byte(`"status":"planned"`))
	})

	order := msh("ORM^O01^ORM_O01", "E2E-ORD") + pid + segment("PV1", map[int]string{1: "1", 2: "I", 3: "ward-3^12^A", 19: "V-E2E-1"}) +
		segment("ORC", map[int]string{1: "NW", 2: "PLC-E2E-1^EHR", 7: "^^^^^S", 12: karim + "^HOSSAIN^KARIM"}) +
		segment("OBR", map[int]string{1: "1", 2: "PLC-E2E-1^EHR", 4: "2823-3^Potassium^LN", 7: "20261201083000"})
	if ack := mllpSend(t, conn, r, order); !strings.Contains(ack, "MSA|AA|E2E-ORD") {
		t.Fatalf("order: %q", ack)
	}
	again := strings.Replace(order, "E2E-ORD", "E2E-ORD-AGAIN", 1)
	if ack := mllpSend(t, conn, r, again); !strings.Contains(ack, "MSA|AA|E2E-ORD-AGAIN") {
		t.Fatalf("order sent again: %q", ack)
	}
	var reports struct {
		Data []struct {
			Status string `json:"status"`
			Order  struct {
				Priority  string `json:"priority"`
				OrdererID string `json:"ordererId"`
				Placer    struct {
					Number string `json:"number"`
				} `json:"placer"`
				EncounterID string `json:"encounterId"`
			} `json:"order"`
			WorkflowID string `json:"workflowId"`
		} `json:"data"`
	}
	eventually(t, 30*time.Second, "the order's diagnostic workflow as a FHIR Task", func() bool {
		res := e.do(http.MethodGet, "/fhir/R4/Task?patient="+patientID, admin, nil)
		return res.status == http.StatusOK && bytes.Contains(res.body, []byte(`"reference":"ServiceRequest/`)) &&
			bytes.Contains(res.body, []byte(`"reference":"Encounter/`))
	})
	res = e.do(http.MethodGet, "/v1/diagnostics/reports?patientId="+patientID, admin, nil)
	res.json(t, &reports)
	if res.status != http.StatusOK || len(reports.Data) != 1 {
		t.Fatalf("orders placed: %d %s", res.status, res.body)
	}
	o := reports.Data[0]
	if o.Status != "registered" || o.Order.Priority != "stat" || o.Order.OrdererID != karim || o.Order.Placer.Number != "PLC-E2E-1" ||
		o.Order.EncounterID == "" || !strings.HasPrefix(o.WorkflowID, "diagnostic/") {
		t.Fatalf("the order placed: %+v", o)
	}
}
