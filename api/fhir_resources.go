package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// The FHIR reads and searches of each resource type. Each read names the
// resource and its patient in the audit record, each search every patient it
// discloses, as the /v1 routes do.

// encounterMaxPage is the largest encounter page the store serves.
const encounterMaxPage = 200

// fhirETag is the weak ETag FHIR gives a version.
func fhirETag(version int) string { return `W/"` + strconv.Itoa(version) + `"` }

func (s *fhirRoutes) readPatient(c *gin.Context) {
	id, ok := fhirID(c, "Patient")
	if !ok || outsideLaunch(c, id) {
		return
	}
	auditOf(c).about(audit.ActionRead, "Patient", id.String(), &id)
	p, err := s.patients.Get(c.Request.Context(), id)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	c.Header("ETag", fhirETag(p.Version))
	writeFHIR(c, http.StatusOK, fhir.FromPatient(p))
}

// patientFields names the patient criteria's fields as FHIR parameters.
var patientFields = map[string]string{"name": "name", "birthDate": "birthdate", "mrn": "identifier",
	"identifier": "identifier", "limit": fhirCount, "cursor": fhirCursor}

func (s *fhirRoutes) searchPatients(c *gin.Context, q url.Values) {
	limit, err := countParam(q, patient.DefaultLimit, patient.MaxLimit)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	crit := patient.Criteria{Name: q.Get("name"), Limit: limit, Cursor: q.Get(fhirCursor)}
	if v := q.Get("identifier"); v != "" {
		system, value, found := strings.Cut(v, "|")
		switch {
		case system == fhir.SystemMRN, found && system == "", !found:
			if !found {
				value = v
			}
			if patient.ValidateMRN(value) != nil {
				s.fhirFail(c, invalidParam("identifier", "identifier must be system|value, or an MRN"), nil)
				return
			}
			crit.MRN = value
		default:
			crit.Identifier = v
		}
	}
	if v := q.Get("birthdate"); v != "" {
		date := strings.TrimPrefix(v, "eq")
		if len(date) > 0 && (date[0] < '0' || date[0] > '9') {
			s.fhirFail(c, invalidParam("birthdate", "birthdate takes a YYYY-MM-DD date with no prefix or eq"), nil)
			return
		}
		crit.BirthDate = date
	}
	if err := crit.Validate(); err != nil {
		s.fhirFail(c, err, patientFields)
		return
	}
	found, next, err := s.patients.Search(c.Request.Context(), crit)
	if err != nil {
		s.fhirFail(c, err, patientFields)
		return
	}
	launch, confined := launchPatient(c)
	a := auditOf(c)
	out := make([]fhir.Patient, 0, len(found))
	for _, p := range found {
		if confined && p.ID != launch {
			continue
		}
		a.rec.PatientIDs = append(a.rec.PatientIDs, p.ID)
		out = append(out, fhir.FromPatient(p))
	}
	searchSet(c, q, out, next)
}

func (s *fhirRoutes) readObservation(c *gin.Context) {
	id, ok := fhirID(c, "Observation")
	if !ok {
		return
	}
	o, _, err := s.observations.Get(c.Request.Context(), id)
	if err != nil {
		auditOf(c).about(audit.ActionRead, "Observation", id.String(), nil)
		s.fhirFail(c, err, nil)
		return
	}
	auditOf(c).about(audit.ActionRead, "Observation", id.String(), &o.PatientID)
	if outsideLaunch(c, o.PatientID) {
		return
	}
	c.Header("ETag", fhirETag(o.Version))
	writeFHIR(c, http.StatusOK, fhir.FromObservation(o))
}

// observationFields names the observation filter's fields as FHIR parameters.
var observationFields = map[string]string{"patientId": "patient", "codes": "code", "to": "date",
	"limit": fhirCount, "cursor": fhirCursor}

func (s *fhirRoutes) searchObservations(c *gin.Context, q url.Values) {
	f, empty, err := observationFilter(c, q)
	if err != nil {
		s.fhirFail(c, err, observationFields)
		return
	}
	if empty {
		searchSet(c, q, []fhir.Observation{}, "")
		return
	}
	page, err := s.observations.List(c.Request.Context(), f)
	if err != nil {
		s.fhirFail(c, err, observationFields)
		return
	}
	a := auditOf(c)
	a.rec.PatientIDs = append(a.rec.PatientIDs, f.PatientID)
	out := make([]fhir.Observation, 0, len(page.Observations))
	for _, o := range page.Observations {
		out = append(out, fhir.FromObservation(o))
	}
	searchSet(c, q, out, page.Next)
}

// observationFilter reads an observation search; empty reports a date
// range no time falls in, which matches nothing.
func observationFilter(c *gin.Context, q url.Values) (f observation.Filter, empty bool, err error) {
	if f.Limit, err = countParam(q, observation.DefaultPageSize, observation.MaxPageSize); err != nil {
		return f, false, err
	}
	f.Cursor = q.Get(fhirCursor)
	patientID, err := patientParam(c, "patient", q.Get("patient"))
	if err != nil {
		return f, false, err
	}
	subject := q.Get("subject")
	if subject != "" && !strings.HasPrefix(subject, "Patient/") {
		if _, perr := uuid.Parse(subject); perr != nil {
			return f, false, invalidParam("subject", "subject must be Patient/<id>: observations are of patients")
		}
	}
	subjectID, err := patientParam(c, "subject", subject)
	if err != nil {
		return f, false, err
	}
	switch {
	case patientID != uuid.Nil && subjectID != uuid.Nil && patientID != subjectID:
		return f, false, invalidParam("subject", "patient and subject name different patients")
	case patientID == uuid.Nil && subjectID == uuid.Nil:
		return f, false, invalidParam("patient", "patient (or subject) is required: observations are searched a patient at a time")
	case patientID == uuid.Nil:
		patientID = subjectID
	}
	f.PatientID = patientID
	if v := q.Get("code"); v != "" {
		for _, token := range strings.Split(v, ",") {
			system, code, found := strings.Cut(token, "|")
			if !found {
				system, code = fhir.SystemLOINC, token
			}
			if system != fhir.SystemLOINC || code == "" {
				return f, false, invalidParam("code", "code takes LOINC codes, each alone or as "+fhir.SystemLOINC+"|<code>")
			}
			f.Codes = append(f.Codes, code)
		}
	}
	for _, v := range q["date"] {
		from, to, err := dateBound(v)
		if err != nil {
			return f, false, err
		}
		if !from.IsZero() && from.After(f.From) {
			f.From = from
		}
		if !to.IsZero() && (f.To.IsZero() || to.Before(f.To)) {
			f.To = to
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, true, nil
	}
	return f, false, f.Validate()
}

// dateBound reads one date search value — a prefix (eq when none, ge, gt,
// le, lt) and a FHIR date or dateTime — as the bounds [from, to) it puts on
// the effective time; a zero bound is open. A date without a time zone is
// read in UTC; each value stands for the whole span its precision names
// (2026 is the year, 2026-03-01 the day).
func dateBound(v string) (from, to time.Time, err error) {
	prefix := "eq"
	if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
		prefix, v = v[:2], v[2:]
	}
	start, end, ok := dateSpan(v)
	if !ok {
		return from, to, invalidParam("date", "date must be a prefix (eq, ge, gt, le, lt) and a date: YYYY, YYYY-MM, YYYY-MM-DD or a dateTime with its time zone")
	}
	switch prefix {
	case "eq":
		return start, end, nil
	case "ge":
		return start, time.Time{}, nil
	case "gt":
		return end, time.Time{}, nil
	case "le":
		return time.Time{}, end, nil
	case "lt":
		return time.Time{}, start, nil
	}
	return from, to, invalidParam("date", "date prefix "+prefix+" is not served: use eq, ge, gt, le or lt")
}

// dateSpan is the span a FHIR date or dateTime names, to its precision.
func dateSpan(v string) (start, end time.Time, ok bool) {
	for _, p := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
	} {
		if t, err := time.Parse(p.layout, v); err == nil {
			return t, p.next(t), true
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, t.Add(time.Millisecond), true
	}
	return start, end, false
}

func (s *fhirRoutes) readEncounter(c *gin.Context) {
	id, ok := fhirID(c, "Encounter")
	if !ok {
		return
	}
	r, err := s.encounters.GetEncounter(c.Request.Context(), id)
	if err != nil {
		auditOf(c).about(audit.ActionRead, "Encounter", id.String(), nil)
		s.fhirFail(c, err, nil)
		return
	}
	auditOf(c).about(audit.ActionRead, "Encounter", id.String(), &r.PatientID)
	if outsideLaunch(c, r.PatientID) {
		return
	}
	writeFHIR(c, http.StatusOK, fhir.FromEncounter(r))
}

// encounterFields names the encounter filter's fields as FHIR parameters.
var encounterFields = map[string]string{"patientId": "patient", "status": "status",
	"limit": fhirCount, "cursor": fhirCursor}

func (s *fhirRoutes) searchEncounters(c *gin.Context, q url.Values) {
	f := encounter.Filter{Cursor: q.Get(fhirCursor)}
	var err error
	if f.Limit, err = countParam(q, 50, encounterMaxPage); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if f.PatientID, err = patientParam(c, "patient", q.Get("patient")); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if v := q.Get("status"); v != "" {
		v = strings.TrimPrefix(v, "http://hl7.org/fhir/encounter-status|")
		st, ours := fhir.EncounterStatusOf(v)
		switch {
		case !ours && !slices.Contains(fhir.EncounterStatuses, v):
			s.fhirFail(c, invalidParam("status", "status must be one Encounter.status code: "+strings.Join(fhir.EncounterStatuses, ", ")), nil)
			return
		case !ours:
			// A code no encounter of ours ever has: nothing matches.
			searchSet(c, q, []fhir.Encounter{}, "")
			return
		}
		f.Status = st
	}
	page, err := s.encounters.ListEncounters(c.Request.Context(), f)
	if err != nil {
		s.fhirFail(c, err, encounterFields)
		return
	}
	a := auditOf(c)
	out := make([]fhir.Encounter, 0, len(page.Encounters))
	for _, r := range page.Encounters {
		a.rec.PatientIDs = append(a.rec.PatientIDs, r.PatientID)
		out = append(out, fhir.FromEncounter(r))
	}
	searchSet(c, q, out, page.Next)
}

func (s *fhirRoutes) readAllergy(c *gin.Context) {
	id, ok := fhirID(c, "AllergyIntolerance")
	if !ok {
		return
	}
	al, err := s.allergies.Get(c.Request.Context(), id)
	if err != nil {
		auditOf(c).about(audit.ActionRead, entityAllergy, id.String(), nil)
		s.fhirFail(c, err, nil)
		return
	}
	auditOf(c).about(audit.ActionRead, entityAllergy, id.String(), &al.PatientID)
	if outsideLaunch(c, al.PatientID) {
		return
	}
	c.Header("ETag", fhirETag(al.Version))
	writeFHIR(c, http.StatusOK, fhir.FromAllergy(al))
}

func (s *fhirRoutes) searchAllergies(c *gin.Context, q url.Values) {
	patientID, err := patientParam(c, "patient", q.Get("patient"))
	if err == nil && patientID == uuid.Nil {
		err = invalidParam("patient", "patient is required: allergies are listed a patient at a time")
	}
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	list, err := s.allergies.ListForPatient(c.Request.Context(), patientID, false)
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	auditOf(c).rec.PatientIDs = append(auditOf(c).rec.PatientIDs, patientID)
	out := make([]fhir.AllergyIntolerance, 0, len(list))
	for _, al := range list {
		out = append(out, fhir.FromAllergy(al))
	}
	searchSet(c, q, out, "")
}
