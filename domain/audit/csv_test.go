package audit_test

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
)

func TestCSV(t *testing.T) {
	p1, p2 := uuid.New(), uuid.New()
	records := []audit.Record{
		{
			ID: uuid.New(), Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Actor:  audit.Actor{Subject: "nurse.k", ClientID: "ward-app", Roles: []string{"nurse", "triage"}},
			Action: audit.ActionSearch, EntityType: "Patient", PatientIDs: []uuid.UUID{p1, p2},
			SourceIP: "192.0.2.1", UserAgent: `Mozilla/5.0 "quoted", with comma`, Method: "GET",
			Route: "/v1/patients", Status: 200, Purpose: "treatment", Outcome: audit.OutcomeSuccess,
			Description: "line one\nline two",
		},
		{
			ID: uuid.New(), Time: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
			Actor:  audit.Actor{Subject: "=HYPERLINK(\"http://x\")", ClientID: "c"},
			Action: audit.ActionRead, EntityType: "Patient", EntityID: p1.String(), PatientID: &p1,
			Outcome: audit.OutcomeDenied, BreakGlass: "-1+1",
		},
	}
	var buf bytes.Buffer
	if err := audit.CSV(&buf, records); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("output is not valid CSV: %v", err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want a header and 2 records", len(rows))
	}
	if !reflect.DeepEqual(rows[0], audit.CSVHeader) {
		t.Errorf("header = %v", rows[0])
	}
	col := func(row []string, name string) string {
		for i, h := range audit.CSVHeader {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	r1, r2 := rows[1], rows[2]
	checks := []struct{ got, want string }{
		{col(r1, "id"), records[0].ID.String()},
		{col(r1, "time"), "2026-01-02T03:04:05Z"},
		{col(r1, "actorRoles"), "nurse;triage"},
		{col(r1, "patientIds"), p1.String() + ";" + p2.String()},
		{col(r1, "patientId"), ""},
		{col(r1, "userAgent"), `Mozilla/5.0 "quoted", with comma`},
		{col(r1, "description"), "line one\nline two"},
		{col(r1, "status"), "200"},
		{col(r2, "patientId"), p1.String()},
		{col(r2, "status"), ""},
		{col(r2, "outcome"), "denied"},
		{col(r2, "actorSubject"), `'=HYPERLINK("http://x")`},
		{col(r2, "breakGlass"), "'-1+1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("cell = %q, want %q", c.got, c.want)
		}
	}
}

func TestCSVNoRecordsIsHeaderOnly(t *testing.T) {
	var buf bytes.Buffer
	if err := audit.CSV(&buf, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows = %v, err = %v; want the header alone", rows, err)
	}
}
