package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// The history of a resource, where every version of it is stored: an
// observation keeps each version as its own row (an amendment, a
// correction or a withdrawal adds one), and a patient or an allergy keeps
// each version beside its current row (every update through /v1 adds one),
// so Observation, Patient and AllergyIntolerance serve vread and
// history-instance. The other types keep only their current version (their
// timelines say what happened, not what each version held), so they serve
// neither.

// fhirVersion is one stored version of a resource as FHIR serves it.
type fhirVersion struct {
	resource fhir.Resource
	version  int
	// lastUpdated is the resource's meta.lastUpdated, modified the time it
	// says: when the version was made.
	lastUpdated string
	modified    time.Time
}

// fhirVersions reads every version of the resource of the request's id,
// oldest first, audited and kept to a token's launch patient; false when
// it has answered.
type fhirVersions func(c *gin.Context) ([]fhirVersion, bool)

// observationVersions reads an observation and every version of it,
// audited as a read of the observation and its patient and kept to a
// token's launch patient; false when it has answered.
func (s *fhirRoutes) observationVersions(c *gin.Context) ([]fhirVersion, bool) {
	id, ok := fhirID(c, "Observation")
	if !ok {
		return nil, false
	}
	_, versions, err := s.observations.Get(c.Request.Context(), id)
	if err != nil {
		auditOf(c).about(audit.ActionRead, entityObservation, id.String(), nil)
		s.fhirFail(c, err, nil)
		return nil, false
	}
	patient := versions[len(versions)-1].PatientID
	auditOf(c).about(audit.ActionRead, entityObservation, id.String(), &patient)
	if outsideLaunch(c, patient) {
		return nil, false
	}
	out := make([]fhirVersion, len(versions))
	for i, v := range versions {
		o := fhir.FromObservation(v)
		out[i] = fhirVersion{o, v.Version, o.Meta.LastUpdated, v.RecordedAt}
	}
	return out, true
}

// patientVersions reads every version of a patient, audited as a read of
// the patient (a refusal too) and kept to a token's launch patient; false
// when it has answered.
func (s *fhirRoutes) patientVersions(c *gin.Context) ([]fhirVersion, bool) {
	id, ok := fhirID(c, "Patient")
	if !ok {
		return nil, false
	}
	auditOf(c).about(audit.ActionRead, "Patient", id.String(), &id)
	if outsideLaunch(c, id) {
		return nil, false
	}
	versions, err := s.patients.Versions(c.Request.Context(), id)
	if err != nil {
		s.fhirFail(c, err, nil)
		return nil, false
	}
	out := make([]fhirVersion, len(versions))
	for i, v := range versions {
		p := fhir.FromPatient(v)
		out[i] = fhirVersion{p, v.Version, p.Meta.LastUpdated, v.UpdatedAt}
	}
	return out, true
}

// allergyVersions reads every version of an allergy, audited as a read of
// the allergy and its patient and kept to a token's launch patient; false
// when it has answered.
func (s *fhirRoutes) allergyVersions(c *gin.Context) ([]fhirVersion, bool) {
	id, ok := fhirID(c, entityAllergy)
	if !ok {
		return nil, false
	}
	versions, err := s.allergies.Versions(c.Request.Context(), id)
	if err != nil {
		auditOf(c).about(audit.ActionRead, entityAllergy, id.String(), nil)
		s.fhirFail(c, err, nil)
		return nil, false
	}
	patient := versions[len(versions)-1].PatientID
	auditOf(c).about(audit.ActionRead, entityAllergy, id.String(), &patient)
	if outsideLaunch(c, patient) {
		return nil, false
	}
	out := make([]fhirVersion, len(versions))
	for i, v := range versions {
		a := fhir.FromAllergy(v)
		out[i] = fhirVersion{a, v.Version, a.Meta.LastUpdated, v.UpdatedAt}
	}
	return out, true
}

// observationHistory answers GET /fhir/R4/Observation/{id}/_history.
func (s *fhirRoutes) observationHistory(c *gin.Context) {
	fhirHistory(c, "Observation", s.observationVersions)
}

// observationVersion answers GET /fhir/R4/Observation/{id}/_history/{vid}.
func (s *fhirRoutes) observationVersion(c *gin.Context) {
	fhirVRead(c, "Observation", s.observationVersions)
}

// patientHistory answers GET /fhir/R4/Patient/{id}/_history.
func (s *fhirRoutes) patientHistory(c *gin.Context) {
	fhirHistory(c, "Patient", s.patientVersions)
}

// patientVersion answers GET /fhir/R4/Patient/{id}/_history/{vid}.
func (s *fhirRoutes) patientVersion(c *gin.Context) {
	fhirVRead(c, "Patient", s.patientVersions)
}

// allergyHistory answers GET /fhir/R4/AllergyIntolerance/{id}/_history.
func (s *fhirRoutes) allergyHistory(c *gin.Context) {
	fhirHistory(c, entityAllergy, s.allergyVersions)
}

// allergyVersion answers GET /fhir/R4/AllergyIntolerance/{id}/_history/{vid}.
func (s *fhirRoutes) allergyVersion(c *gin.Context) {
	fhirVRead(c, entityAllergy, s.allergyVersions)
}

// fhirHistory answers GET /fhir/R4/<typ>/{id}/_history: a history Bundle
// of every version, newest first, version 1 as the create that made it and
// each later one as an update.
func fhirHistory(c *gin.Context, typ string, read fhirVersions) {
	if len(c.Request.URL.Query()) > 0 {
		writeOutcome(c, http.StatusBadRequest, fhirIssue(fhir.IssueNotSupported, "_history takes no parameters here: it lists every version"))
		return
	}
	versions, ok := read(c)
	if !ok {
		return
	}
	base := fhirBaseURL(c)
	n := len(versions)
	b := fhir.Bundle{ResourceType: "Bundle", Type: "history", Total: &n,
		Link: []fhir.BundleLink{{Relation: "self", URL: base + "/" + versions[0].resource.Ref() + "/_history"}}}
	for i := n - 1; i >= 0; i-- {
		v := versions[i]
		ref := v.resource.Ref()
		req, status := &fhir.BundleEntryRequest{Method: http.MethodPut, URL: ref}, "200 OK"
		if i == 0 {
			req, status = &fhir.BundleEntryRequest{Method: http.MethodPost, URL: typ}, "201 Created"
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + "/" + ref, Resource: v.resource, Request: req,
			Response: &fhir.BundleEntryResponse{Status: status, Etag: fhirETag(v.version), LastModified: v.lastUpdated}})
	}
	writeFHIR(c, http.StatusOK, b)
}

// fhirVRead answers GET /fhir/R4/<typ>/{id}/_history/{vid}: the version
// vid, with its ETag and Last-Modified; a version there is not (or a vid
// that is no number) is a 404.
func fhirVRead(c *gin.Context, typ string, read fhirVersions) {
	vid, err := strconv.Atoi(c.Param("vid"))
	versions, ok := read(c)
	if !ok {
		return
	}
	for _, v := range versions {
		if err == nil && v.version == vid {
			c.Header("ETag", fhirETag(v.version))
			if !v.modified.IsZero() {
				c.Header("Last-Modified", v.modified.UTC().Format(http.TimeFormat))
			}
			writeFHIR(c, http.StatusOK, v.resource)
			return
		}
	}
	writeOutcome(c, http.StatusNotFound, fhirIssue(fhir.IssueNotFound, typ+" "+c.Param("id")+" has no version "+c.Param("vid")+"."))
}
