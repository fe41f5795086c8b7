package api

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// fhirDiagnostics are the diagnostic orders ServiceRequests and
// DiagnosticReports are made of: one order, one report, one id.
type fhirDiagnostics interface {
	Get(ctx context.Context, id uuid.UUID) (diagnostic.Report, error)
	List(ctx context.Context, f diagnostic.ReportFilter) (diagnostic.ReportPage, error)
}

// Code systems of the diagnostic statuses.
const (
	systemRequestStatus      = "http://hl7.org/fhir/request-status"
	systemDiagnosticReportSt = "http://hl7.org/fhir/diagnostic-report-status"
)

// diagnosticMaxPage is the largest report page the store serves.
const diagnosticMaxPage = 200

func (s *fhirRoutes) readServiceRequest(c *gin.Context) {
	if unserved(c, s.diagnostics != nil, "diagnostic orders") {
		return
	}
	readFHIR(s, c, "ServiceRequest", s.diagnostics.Get, func(r diagnostic.Report) (uuid.UUID, int, any) {
		return r.Order.PatientID, r.Version, fhir.FromOrder(r)
	})
}

func (s *fhirRoutes) readDiagnosticReport(c *gin.Context) {
	if unserved(c, s.diagnostics != nil, "diagnostic reports") {
		return
	}
	readFHIR(s, c, "DiagnosticReport", s.diagnostics.Get, func(r diagnostic.Report) (uuid.UUID, int, any) {
		return r.Order.PatientID, r.Version, fhir.FromReport(r)
	})
}

// searchServiceRequests answers GET /fhir/R4/ServiceRequest: diagnostic
// orders newest first, of a patient, in a status (active is registered,
// partial or preliminary; completed any verified report), of a category.
func (s *fhirRoutes) searchServiceRequests(c *gin.Context, q url.Values) {
	statuses, none, err := statusParam(q, systemRequestStatus, fhir.ServiceRequestStatuses, fhir.OrderStatusesOf)
	searchDiagnosticsOf(s, c, q, statuses, none, err, fhir.FromOrder)
}

// searchDiagnosticReports answers GET /fhir/R4/DiagnosticReport: the
// reports of the orders, newest order first.
func (s *fhirRoutes) searchDiagnosticReports(c *gin.Context, q url.Values) {
	statuses, none, err := statusParam(q, systemDiagnosticReportSt, fhir.DiagnosticReportStatuses, oneStatus(fhir.ReportStatusOf))
	searchDiagnosticsOf(s, c, q, statuses, none, err, fhir.FromReport)
}

// searchDiagnosticsOf is a search of the orders in statuses, each answered
// as view makes it.
func searchDiagnosticsOf[R fhir.Resource](s *fhirRoutes, c *gin.Context, q url.Values, statuses []diagnostic.Status,
	none bool, err error, view func(diagnostic.Report) R) {
	if unserved(c, s.diagnostics != nil, "diagnostic orders") {
		return
	}
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	f := diagnostic.ReportFilter{}
	if f.Limit, err = countParam(q, 50, diagnosticMaxPage); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if f.PatientID, err = patientParam(c, "patient", q.Get("patient")); err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	if v := q.Get("category"); v != "" {
		cat, ok := fhir.OrderCategoryOf(v)
		if !ok {
			s.fhirFail(c, invalidParam("category", "category must be laboratory or imaging: "+fhir.SystemSNOMED+
				"|108252007 or |363679005, or "+fhir.SystemDiagnosticService+"|LAB or |RAD"), nil)
			return
		}
		f.Category = cat
	}
	if v := q.Get("code"); v != "" {
		system, code, found := strings.Cut(v, "|")
		if !found {
			code = v
		}
		if code == "" || found && system != "" && system != fhir.SystemLOINC {
			s.fhirFail(c, invalidParam("code", "code takes one ordered test, panel or imaging procedure: a LOINC code, alone or as "+fhir.SystemLOINC+"|<code>"), nil)
			return
		}
		f.Test = code
	}
	if none {
		searchSet(c, q, []R{}, "")
		return
	}
	found, next, err := mergedPage(c.Request.Context(), statuses, f.Limit, q.Get(fhirCursor),
		func(ctx context.Context, st diagnostic.Status, cursor string, limit int) ([]diagnostic.Report, string, error) {
			g := f
			g.Status, g.Cursor, g.Limit = st, cursor, limit
			page, err := s.diagnostics.List(ctx, g)
			return page.Reports, page.Next, err
		},
		func(r diagnostic.Report) (time.Time, uuid.UUID) { return r.Order.CreatedAt, r.Order.ID })
	if err != nil {
		s.fhirFail(c, err, nil)
		return
	}
	a := auditOf(c)
	out := make([]R, 0, len(found))
	for _, r := range found {
		a.disclosed(r.Order.PatientID)
		out = append(out, view(r))
	}
	searchSet(c, q, out, next)
}
