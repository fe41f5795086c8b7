package ingest_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
	"github.com/zarish-sphere/zarish/integrations/hl7v2/ingest"
	"github.com/zarish-sphere/zarish/integrations/hl7v2/internal/oracle"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// stack is an ingester on a fresh database, listening for MLLP, with the
// actual stores and a Temporal client that records what it is asked.
type stack struct {
	pool        *pgxpool.Pool
	ing         *ingest.Ingester
	messages    *postgres.HL7v2Store
	patients    *postgres.PatientStore
	diagnostics *postgres.DiagnosticStore
	encounters  *postgres.EncounterStore
	careTeam    *postgres.CareTeamStore
	temporal    *fakeTemporal
	addr        string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	pool := pgtest.NewPool(t)
	s := &stack{pool: pool, messages: postgres.NewHL7v2Store(pool), patients: postgres.NewPatientStore(pool),
		diagnostics: postgres.NewDiagnosticStore(pool), encounters: postgres.NewEncounterStore(pool),
		careTeam: postgres.NewCareTeamStore(pool), temporal: &fakeTemporal{}}
	s.ing = ingest.New(s.messages, s.patients, postgres.NewObservationStore(pool), slog.New(slog.NewTextHandler(io.Discard, nil)),
		ingest.WithOrders(s.diagnostics, nil), ingest.WithEncounters(s.encounters), ingest.WithDirectory(s.careTeam),
		ingest.WithWorkflows(s.temporal))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ing.Serve(ctx, ln, 1<<20) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s.addr = ln.Addr().String()
	return s
}

// sender is one MLLP connection.
type sender struct {
	t    *testing.T
	conn net.Conn
	r    *hl7v2.Reader
}

func (s *stack) dial(t *testing.T) *sender {
	t.Helper()
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &sender{t: t, conn: conn, r: hl7v2.NewReader(bufio.NewReader(conn), 0)}
}

// send frames msg and reads the acknowledgement.
func (c *sender) send(msg string) *hl7v2.Message {
	c.t.Helper()
	if err := hl7v2.WriteFrame(c.conn, []byte(msg)); err != nil {
		c.t.Fatal(err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	frame, err := c.r.ReadFrame()
	if err != nil {
		c.t.Fatalf("no acknowledgement: %v", err)
	}
	ack, err := hl7v2.Parse(frame)
	if err != nil {
		c.t.Fatalf("acknowledgement %q: %v", frame, err)
	}
	return ack
}

// msa is the acknowledgement's code and the control id it answers.
func msa(ack *hl7v2.Message) (string, string) {
	m := ack.First("MSA")
	return m.Field(1).Text(), m.Field(2).Text()
}

func adt(event, control, family, birth string) string {
	return strings.Join([]string{
		"MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|ZARISH|WARD|20261201083000||ADT^" + event + "^ADT_A01|" + control + "|P|2.5.1",
		"EVN|" + event + "|20261201083000",
		"PID|1||PATID1234^^^GHH^MR~123456789^^^USSSA^SS||" + family + "^AMINA^K||" + birth + "|F",
		"PV1|1|I|W3^12^A",
	}, "\r") + "\r"
}

// A sender's ADT^A04 registers the patient and is acknowledged AA for its
// control id; sent again it is acknowledged again, not applied twice; an
// A08 updates the same patient, found by a PID-3 identifier; an SIU is
// stored and refused AR (not applied yet) with the location; a frame that
// is not HL7 is refused AR; every message is stored with its outcome.
func TestMessagesAreStoredBeforeTheyAreAcknowledged(t *testing.T) {
	s := newStack(t)
	c := s.dial(t)
	ctx := context.Background()

	code, control := msa(c.send(adt("A04", "MSG-1", "RAHMAN", "19580214")))
	if code != "AA" || control != "MSG-1" {
		t.Fatalf("A04 answered %s for %s", code, control)
	}
	found, _, err := s.patients.Search(ctx, patient.Criteria{Identifier: "GHH|PATID1234"})
	if err != nil || len(found) != 1 || found[0].Name.Family != "RAHMAN" || found[0].BirthDate != "1958-02-14" || found[0].Sex != "female" ||
		len(found[0].Identifiers) != 2 {
		t.Fatalf("the patient after the A04: %+v, %v", found, err)
	}
	id := found[0].ID

	// The same message again: acknowledged as the first, not applied.
	code, control = msa(c.send(adt("A04", "MSG-1", "RAHMAN", "19580214")))
	if code != "AA" || control != "MSG-1" {
		t.Fatalf("the duplicate answered %s for %s", code, control)
	}
	list, _, err := s.messages.List(ctx, hl7message.Filter{ControlID: "MSG-1"})
	if err != nil || len(list) != 1 || list[0].Received != 2 || list[0].Outcome != hl7message.OutcomeAccepted ||
		len(list[0].Applied) != 1 || list[0].Applied[0].Reference != "Patient/"+id.String() {
		t.Fatalf("the stored message: %+v, %v", list, err)
	}

	// An update, on another connection: the same patient.
	c2 := s.dial(t)
	if code, _ := msa(c2.send(adt("A08", "MSG-2", "RAHMAN-KHAN", "19580214"))); code != "AA" {
		t.Fatalf("A08 answered %s", code)
	}
	p, err := s.patients.Get(ctx, id)
	if err != nil || p.Name.Family != "RAHMAN-KHAN" {
		t.Fatalf("after the A08: %+v, %v", p, err)
	}
	if all, _, _ := s.patients.Search(ctx, patient.Criteria{Identifier: "USSSA|123456789"}); len(all) != 1 {
		t.Fatalf("%d patients for the identifier", len(all))
	}

	// Not mapped yet: stored, refused AR, with the field at fault.
	siu := "MSH|^~\\&|LAB|GHH|ZARISH|WARD|20261201090000||SIU^S12^SIU_S12|MSG-3|P|2.5.1\rPID|1||PATID1234^^^GHH^MR\r"
	ack := c.send(siu)
	if code, control := msa(ack); code != "AR" || control != "MSG-3" {
		t.Fatalf("SIU answered %s for %s", code, control)
	}
	if e := ack.First("ERR"); e == nil || e.Field(3).Comp(1).Text() != "200" || e.Field(2).Comp(1).Text() != "MSH" || e.Field(2).Comp(3).Text() != "9" {
		t.Fatalf("SIU's ERR: %v", e)
	}
	// A bad birth date: AE, located at PID-7.
	ack = c.send(adt("A04", "MSG-4", "KHAN", "1958"))
	if code, _ := msa(ack); code != "AE" || ack.First("ERR").Field(2).Comp(3).Text() != "7" {
		t.Fatalf("a bad birth date answered %s: %v", code, ack.First("ERR"))
	}
	// Not HL7 at all: refused, and still stored.
	if code, _ := msa(c.send("hello")); code != "AR" {
		t.Fatalf("a frame that is not HL7 answered %s", code)
	}
	all, _, err := s.messages.List(ctx, hl7message.Filter{})
	if err != nil || len(all) != 5 {
		t.Fatalf("%d messages stored, want 5: %v", len(all), err)
	}
	for _, m := range all {
		if !m.Outcome.Valid() || m.ProcessedAt == nil {
			t.Errorf("message %s %q has no outcome: %+v", m.ControlID, m.MessageType, m)
		}
	}

	// A replay applies the stored bytes again: the SIU is still refused.
	stored, _, _ := s.messages.List(ctx, hl7message.Filter{ControlID: "MSG-3"})
	again, err := s.ing.Replay(ctx, stored[0].ID, ingest.Source{Transport: hl7message.TransportHTTP, Client: "test"})
	if err != nil || again.Outcome != hl7message.OutcomeRejected || again.Replays != 1 {
		t.Fatalf("replay: %+v, %v", again, err)
	}
}

// The real ADT^A01 messages of the shared test data register their
// patients; a second sending of each changes nothing.
func TestRealAdmissionsRegisterTheirPatients(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	for _, name := range []string{"MN__005_MN_ADT_A01.hl7", "Other__001_ADT_A01.hl7"} {
		raw, err := os.ReadFile("../testdata/real/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			ack, m, err := s.ing.Receive(ctx, raw, ingest.Source{Transport: hl7message.TransportHTTP, Client: "test"})
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := hl7v2.Parse(ack)
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := msa(parsed); code != "AA" || len(m.Applied) != 1 {
				t.Fatalf("%s answered %s: %+v", name, code, m)
			}
		}
	}
	for _, id := range []string{"SCH|11102779", "ADT1|PATID1234"} {
		found, _, err := s.patients.Search(ctx, patient.Criteria{Identifier: id})
		if err != nil || len(found) != 1 {
			t.Fatalf("%s: %d patients, %v", id, len(found), err)
		}
	}
}

// An ORU^R01 for a registered patient records its LOINC-coded results as
// observations, interpreted by our ranges with the sender's flag kept
// beside ours; the results it cannot record are each named (AE, a warning
// per OBX); sent again or replayed it records nothing more; for a patient
// nobody registered it is refused (AE 204 at PID-3), never creating one.
func TestResultsAreRecordedAsObservations(t *testing.T) {
	s := newStack(t)
	c := s.dial(t)
	ctx := context.Background()
	if code, _ := msa(c.send(adt("A04", "ADT-9", "RAHMAN", "19580214"))); code != "AA" {
		t.Fatalf("register: %s", code)
	}
	oru := strings.Join([]string{
		"MSH|^~\\&|LAB|GHH|ZARISH|WARD|20261201090000||ORU^R01^ORU_R01|LAB-1|P|2.5.1",
		"PID|1||PATID1234^^^GHH^MR",
		"OBR|1|ORD-1|FIL-1|24362-6^Renal panel^LN|||20261201083000",
		"OBX|1|NM|2823-3^Potassium^LN||6.8|mmol/L|3.5-5.1|HH|||F|||20261201083000",
		"OBX|2|NM|2160-0^Creatinine^LN||88|umol/L|62-106|N|||F",
		"OBX|3|NM|K-LOCAL^Potassium (local code)^L||4.0|mmol/L||N|||F",
		"OBX|4|NM|57719-7^Newborn screening^LN||1||||||F",
	}, "\r") + "\r"
	ack := c.send(oru)
	if code, control := msa(ack); code != "AE" || control != "LAB-1" {
		t.Fatalf("ORU answered %s for %s", code, control)
	}
	var warned []string
	for _, e := range ack.All("ERR") {
		warned = append(warned, e.Field(2).Comp(2).Text()+":"+e.Field(2).Comp(3).Text()+":"+e.Field(4).Text())
	}
	if strings.Join(warned, " ") != "3:3:W 4:5:W" {
		t.Fatalf("warnings %v", warned)
	}
	stored, _, err := s.messages.List(ctx, hl7message.Filter{ControlID: "LAB-1"})
	if err != nil || len(stored) != 1 || len(stored[0].Applied) != 2 {
		t.Fatalf("stored ORU: %+v, %v", stored, err)
	}
	k := stored[0].Applied[0]
	if k.Kind != "observation-recorded" || k.Flag != "HH" || k.SenderFlag != "HH" || stored[0].Applied[1].Flag != "N" {
		t.Fatalf("applied %+v", stored[0].Applied)
	}
	obs := postgres.NewObservationStore(s.pool)
	id, err := uuid.Parse(strings.TrimPrefix(k.Reference, "Observation/"))
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := obs.Get(ctx, id)
	if err != nil || o.Code != "2823-3" || o.Value.Quantity.Value != 6.8 || !o.EffectiveAt.Equal(time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)) ||
		o.Performer.ClientID != "hl7v2:LAB|GHH" {
		t.Fatalf("the potassium: %+v, %v", o, err)
	}
	// Again, then replayed: the same two observations.
	if code, _ := msa(c.send(oru)); code != "AE" {
		t.Fatalf("the duplicate answered %s", code)
	}
	again, err := s.ing.Replay(ctx, stored[0].ID, ingest.Source{Transport: hl7message.TransportHTTP, Client: "test"})
	if err != nil || len(again.Applied) != 2 || again.Applied[0].Reference != k.Reference {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM observations WHERE current`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d observations after the duplicate and the replay: %v", n, err)
	}
	// A result for a patient nobody registered.
	ack = c.send(strings.ReplaceAll(strings.ReplaceAll(oru, "PATID1234", "NOBODY"), "LAB-1", "LAB-2"))
	if code, _ := msa(ack); code != "AE" || ack.First("ERR").Field(3).Comp(1).Text() != "204" || ack.First("ERR").Field(2).Comp(3).Text() != "3" {
		t.Fatalf("an unknown patient answered %s: %v", code, ack.First("ERR"))
	}
}

// The real ORU^R01 messages (newborn screening) are stored and answered
// precisely: for a patient not registered, AE 204 at PID-3; registered,
// each OBX the engine does not record is named by a warning.
func TestRealResultsAreAnsweredPrecisely(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	raw, err := os.ReadFile("../testdata/real/CA__003_CA_ORU_R01_CDPH_produced_0_initial_message.hl7")
	if err != nil {
		t.Fatal(err)
	}
	src := ingest.Source{Transport: hl7message.TransportHTTP, Client: "test"}
	ack, _, err := s.ing.Receive(ctx, raw, src)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := hl7v2.Parse(ack)
	if code, _ := msa(parsed); code != "AE" || parsed.First("ERR").Field(3).Comp(1).Text() != "204" {
		t.Fatalf("unregistered: %s %v", code, parsed.First("ERR"))
	}
	msg, err := hl7v2.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	// Register the patient the message names (its PID, with the birth date
	// the register needs and the message leaves out), then replay it.
	fields := strings.Split(msg.First("PID").Raw(), "|")
	fields[7] = "20240711"
	pid := strings.Join(fields, "|")
	adtMsg := "MSH|^~\\&|ADT|" + msg.Header.SendingFacility.NamespaceID + "|ZARISH|WARD|20261201||ADT^A04^ADT_A01|REG-1|P|2.5.1\r" + pid + "\r"
	if _, m, err := s.ing.Receive(ctx, []byte(adtMsg), src); err != nil || m.Outcome != hl7message.OutcomeAccepted {
		t.Fatalf("register the message's patient: %+v, %v", m, err)
	}
	list, _, _ := s.messages.List(ctx, hl7message.Filter{MessageType: "ORU^R01"})
	m, err := s.ing.Replay(ctx, list[0].ID, src)
	if err != nil || m.Outcome != hl7message.OutcomeError || len(m.Problems) != len(msg.All("OBX")) {
		t.Fatalf("replayed: %d problems for %d OBX, %+v, %v", len(m.Problems), len(msg.All("OBX")), m.Outcome, err)
	}
	for _, p := range m.Problems {
		if p.Segment != "OBX" || p.Severity != "W" || p.Message == "" {
			t.Fatalf("problem %+v", p)
		}
	}
}

// The 99 real messages, sent by node-hl7-client — a real MLLP client nobody
// here wrote — to the engine's listener: every one is stored before its
// acknowledgement, and the client receives for each an acknowledgement
// whose MSA-2 is the message's MSH-10, with the outcome stored for it.
func TestRealClientSendsTheRealMessages(t *testing.T) {
	oracle.Require(t)
	s := newStack(t)
	_, port, _ := net.SplitHostPort(s.addr)
	var acks []struct {
		File  string `json:"file"`
		MSA1  string `json:"msa1"`
		MSA2  string `json:"msa2"`
		Error string `json:"error"`
	}
	oracle.Run(t, &acks, "client.mjs", port, filepath.Join(oracle.Dir, "..", "real"))
	files, err := filepath.Glob("../testdata/real/*.hl7")
	if err != nil || len(acks) != len(files) {
		t.Fatalf("%d acknowledgements for %d messages (%v)", len(acks), len(files), err)
	}
	ctx := context.Background()
	// Several files are the same message as one sender sent it (the same
	// sending application, facility and control id): stored once, counted
	// as received again.
	stored, _, err := s.messages.List(ctx, hl7message.Filter{Limit: 200})
	received := 0
	for _, m := range stored {
		received += m.Received
	}
	if err != nil || received != len(files) {
		t.Fatalf("%d messages stored, received %d times, for %d sent: %v", len(stored), received, len(files), err)
	}
	// A message is its sender's (MSH-3, MSH-4) control id: several senders
	// of the test data use the same control id.
	outcomes := map[string]hl7message.Outcome{}
	for _, m := range stored {
		if !m.Outcome.Valid() {
			t.Errorf("message %q stored without an outcome", m.ControlID)
		}
		outcomes[m.Sender+" "+m.ControlID] = m.Outcome
	}
	hd := func(x hl7v2.HD) string {
		return strings.TrimRight(x.NamespaceID+"^"+x.UniversalID+"^"+x.UniversalIDType, "^")
	}
	for _, a := range acks {
		if a.Error != "" {
			t.Errorf("%s: %s", a.File, a.Error)
			continue
		}
		raw, _ := os.ReadFile(filepath.Join("../testdata/real", a.File))
		h, err := hl7v2.ParseHeader(raw)
		if err != nil {
			continue // nothing names the message: AR, with no control id to echo
		}
		key := hd(h.SendingApplication) + "|" + hd(h.SendingFacility) + " " + h.ControlID
		if a.MSA2 != h.ControlID || string(outcomes[key]) != a.MSA1 {
			t.Errorf("%s: acknowledged %s for %q, the message is %q stored %s", a.File, a.MSA1, a.MSA2, h.ControlID, outcomes[key])
		}
	}
}
