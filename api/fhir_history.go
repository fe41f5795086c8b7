package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// The history of a resource, where every version of it is stored: an
// observation keeps each version as its own row (an amendment, a
// correction or a withdrawal adds one), so Observation serves vread and
// history-instance. The other types keep only their current version (their
// timelines say what happened, not what each version held), so they serve
// neither.

// observationVersions reads an observation and every version of it,
// audited as a read of the observation and its patient and kept to a
// token's launch patient; false when it has answered.
func (s *fhirRoutes) observationVersions(c *gin.Context) ([]observation.Observation, bool) {
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
	return versions, true
}

// observationHistory answers GET /fhir/R4/Observation/{id}/_history: a
// history Bundle of every version, newest first.
func (s *fhirRoutes) observationHistory(c *gin.Context) {
	if len(c.Request.URL.Query()) > 0 {
		writeOutcome(c, http.StatusBadRequest, fhirIssue(fhir.IssueNotSupported, "_history takes no parameters here: it lists every version"))
		return
	}
	versions, ok := s.observationVersions(c)
	if !ok {
		return
	}
	base := fhirBaseURL(c)
	n := len(versions)
	b := fhir.Bundle{ResourceType: "Bundle", Type: "history", Total: &n,
		Link: []fhir.BundleLink{{Relation: "self", URL: base + "/Observation/" + versions[0].ID.String() + "/_history"}}}
	for i := n - 1; i >= 0; i-- {
		o := fhir.FromObservation(versions[i])
		req, status := &fhir.BundleEntryRequest{Method: http.MethodPut, URL: o.Ref()}, "200 OK"
		if i == 0 {
			req, status = &fhir.BundleEntryRequest{Method: http.MethodPost, URL: "Observation"}, "201 Created"
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + "/" + o.Ref(), Resource: o, Request: req,
			Response: &fhir.BundleEntryResponse{Status: status, Etag: fhirETag(versions[i].Version), LastModified: o.Meta.LastUpdated}})
	}
	writeFHIR(c, http.StatusOK, b)
}

// observationVersion answers GET /fhir/R4/Observation/{id}/_history/{vid}:
// the version vid.
func (s *fhirRoutes) observationVersion(c *gin.Context) {
	vid, err := strconv.Atoi(c.Param("vid"))
	versions, ok := s.observationVersions(c)
	if !ok {
		return
	}
	for _, v := range versions {
		if err == nil && v.Version == vid {
			c.Header("ETag", fhirETag(v.Version))
			writeFHIR(c, http.StatusOK, fhir.FromObservation(v))
			return
		}
	}
	writeOutcome(c, http.StatusNotFound, fhirIssue(fhir.IssueNotFound, "Observation "+c.Param("id")+" has no version "+c.Param("vid")+"."))
}
