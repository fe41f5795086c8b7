package api

import (
	"context"
	"errors"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
)

// BundleImporter imports a FHIR transaction or batch Bundle.
type BundleImporter interface {
	// Import writes the bundle read from r; rec, when not nil, is the
	// request's audit record, stored with the import when Result.Audited.
	Import(ctx context.Context, r *bundle.Reader, by observation.Performer, rec *audit.Record) (bundle.Result, error)
}

const (
	mediaFHIRJSON  = "application/fhir+json"
	entityBundle   = "Bundle"
	fhirImportPath = "/fhir/R4"
)

// fhirImportRoutes serve POST /fhir/R4: a transaction or batch Bundle whose
// Patients are registered and whose catalogued Observations are recorded.
type fhirImportRoutes struct {
	*edge
	importer BundleImporter
}

func (s *fhirImportRoutes) routes() []Route {
	return []Route{
		{http.MethodPost, fhirImportPath, "system/Patient.write", entityBundle, s.importBundle},
	}
}

// importBundle streams the body through the bundle reader into the
// importer and answers the response Bundle; a malformed bundle or a refused
// transaction is a 400 OperationOutcome, and nothing is written. The
// request's audit record, naming the patients the import touched, commits
// with the import.
func (s *fhirImportRoutes) importBundle(c *gin.Context) {
	if s.importer == nil {
		abort(c, http.StatusServiceUnavailable, CodeUnavailable, "This server imports no FHIR bundles.")
		return
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || (mt != mediaFHIRJSON && mt != "application/json") {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Send the Bundle as "+mediaFHIRJSON+".")
		return
	}
	// An import has no practitioner at hand: its observations are
	// written by the importing client.
	p, _ := principal(c)
	by := observation.Performer{ClientID: p.ClientID}
	r, err := bundle.NewReader(c.Request.Body)
	if err != nil {
		s.bundleFailure(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entityBundle, "", nil)
	res, err := s.importer.Import(c.Request.Context(), r, by, a.forWrite(c, audit.ActionCreate, http.StatusOK))
	if err != nil {
		s.bundleFailure(c, err)
		return
	}
	if res.Audited {
		a.stored()
	} else {
		a.disclosed(res.Patients...)
	}
	c.Header("Content-Type", mediaFHIRJSON)
	c.JSON(http.StatusOK, res.Bundle())
}

// bundleFailure answers a reader's refusal or a refused transaction with
// an OperationOutcome; any other error as every route does.
func (s *fhirImportRoutes) bundleFailure(c *gin.Context, err error) {
	var (
		bad     *bundle.Error
		refused *bundle.RefusedError
	)
	switch {
	case errors.As(err, &bad):
		status := http.StatusBadRequest
		if errors.Is(err, bundle.ErrEntryTooLarge) || errors.Is(err, bundle.ErrTooManyEntries) {
			status = http.StatusRequestEntityTooLarge
		}
		c.Header("Content-Type", mediaFHIRJSON)
		c.AbortWithStatusJSON(status, bad.Outcome())
	case errors.As(err, &refused):
		c.Header("Content-Type", mediaFHIRJSON)
		c.AbortWithStatusJSON(http.StatusBadRequest, refused.Outcome())
	default:
		s.fail(c, err)
	}
}
