package audit

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader names the columns CSV writes, in order; they are the record's
// JSON field names. Columns added later come last, so a sheet reading the
// earlier ones by position still reads them.
var CSVHeader = []string{"id", "time", "actorSubject", "actorClientId", "actorRoles", "action",
	"entityType", "entityId", "patientId", "patientIds", "sourceIp", "userAgent", "requestId",
	"method", "route", "status", "purpose", "outcome", "breakGlass", "description",
	"actorUserId", "actorPractitionerId", "actorAsserted",
	"submitted", "submitterClientId", "submitterUserId", "submitterPractitionerId"}

// CSV writes records as RFC 4180 CSV: the CSVHeader row, then one row per
// record. Times are RFC 3339 in UTC; roles and patient ids are separated by
// semicolons; an absent patient or status is an empty cell; actorAsserted
// and submitted are true or false, and a record nobody submitted has empty
// submitter cells. A cell that a
// spreadsheet would run as a formula (it begins with =, +, -, @, tab or
// carriage return) is prefixed with an apostrophe, so opening a report cannot
// execute text an audited caller supplied.
func CSV(w io.Writer, records []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("write audit csv: %w", err)
	}
	row := make([]string, len(CSVHeader))
	for _, r := range records {
		patient := ""
		if r.PatientID != nil {
			patient = r.PatientID.String()
		}
		patients := make([]string, len(r.PatientIDs))
		for i, id := range r.PatientIDs {
			patients[i] = id.String()
		}
		status := ""
		if r.Status != 0 {
			status = strconv.Itoa(r.Status)
		}
		var by Submitter
		if r.Submitter != nil {
			by = *r.Submitter
		}
		row = append(row[:0], r.ID.String(), r.Time.UTC().Format(time.RFC3339Nano),
			r.Actor.Subject, r.Actor.ClientID, strings.Join(r.Actor.Roles, ";"), string(r.Action),
			r.EntityType, r.EntityID, patient, strings.Join(patients, ";"), r.SourceIP, r.UserAgent,
			r.RequestID, r.Method, r.Route, status, r.Purpose, string(r.Outcome), r.BreakGlass, r.Description,
			r.Actor.UserID, r.Actor.PractitionerID, strconv.FormatBool(r.Actor.Asserted),
			strconv.FormatBool(r.Submitted), by.ClientID, by.UserID, by.PractitionerID)
		for i, cell := range row {
			row[i] = defuseFormula(cell)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write audit csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write audit csv: %w", err)
	}
	return nil
}

// defuseFormula keeps a spreadsheet from reading cell as a formula.
func defuseFormula(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
