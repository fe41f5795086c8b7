package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// The ?units= values: a quantity as it was sent (the default), or in its
// code's canonical unit. Either way the canonical value is in `canonical`.
const (
	unitsAsSent    = "asSent"
	unitsCanonical = "canonical"
)

// defaultTrendWindow is the window of a trend that names neither end.
const defaultTrendWindow = 24 * time.Hour

// unitsParam reads ?units=; a value other than asSent or canonical is
// answered 400.
func unitsParam(c *gin.Context) (string, bool) {
	switch u := c.Query("units"); u {
	case "", unitsAsSent:
		return unitsAsSent, true
	case unitsCanonical:
		return u, true
	}
	fieldError(c, "units", "must be asSent or canonical")
	return "", false
}

// inUnits is o as the caller asked to see it: with units=canonical each
// quantity's value and unit are the canonical ones.
func inUnits(o observation.Observation, units string) observation.Observation {
	if units != unitsCanonical {
		return o
	}
	if o.Value != nil && o.Value.Quantity != nil {
		v, q := *o.Value, *o.Value.Quantity
		q.Value, q.Unit = q.Canonical.Value, q.Canonical.Unit
		v.Quantity = &q
		o.Value = &v
	}
	if len(o.Components) > 0 {
		o.Components = slices.Clone(o.Components)
		for i := range o.Components {
			q := &o.Components[i].Value
			q.Value, q.Unit = q.Canonical.Value, q.Canonical.Unit
		}
	}
	return o
}

// listObservations serves GET /v1/observations: a patient's current
// observations, newest effective time first, a page at a time.
func (s *observationRoutes) listObservations(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "code", "category", "from", "to", "status", "limit", "cursor", "units")
	units, ok := unitsParam(c)
	if !ok {
		return
	}
	f := observation.Filter{
		PatientID: requiredPatient(c, verr),
		Codes:     codeList(c.Query("code")),
		Category:  observation.Category(c.Query("category")),
		From:      queryTime(c, verr, "from"),
		To:        queryTime(c, verr, "to"),
		Status:    observation.Status(c.Query("status")),
		Cursor:    c.Query("cursor"),
		Limit:     limitParam(c, verr, observation.DefaultPageSize, observation.MaxPageSize),
	}
	if err := mergeValidation(verr, renamed(f.Validate(), map[string]string{"codes": "code"}, "codes[", "code[")); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entityObservation, "", &f.PatientID)
	page, err := s.store.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range page.Observations {
		auditOf(c).disclosed(page.Observations[i].PatientID)
		page.Observations[i] = inUnits(page.Observations[i], units)
	}
	c.JSON(http.StatusOK, pageBody(page.Observations, page.Next))
}

// latestObservations serves GET /v1/observations/latest: the patient's
// newest observation of each code asked for, in that order; codes without
// one are left out. For a component code (8480-6) it may be a panel holding
// it.
func (s *observationRoutes) latestObservations(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "codes", "units")
	units, ok := unitsParam(c)
	if !ok {
		return
	}
	patientID := requiredPatient(c, verr)
	codes := codeList(c.Query("codes"))
	if err := mergeValidation(verr, observation.CheckCodes(codes)); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityObservation, "", &patientID)
	latest, err := s.store.Latest(c.Request.Context(), patientID, codes)
	if err != nil {
		s.fail(c, err)
		return
	}
	for i := range latest {
		latest[i] = inUnits(latest[i], units)
	}
	c.JSON(http.StatusOK, gin.H{"data": latest})
}

// TrendView is a trend as the API answers it: the bucket as an ISO 8601
// duration, and the results in the window that met a delta rule.
type TrendView struct {
	observation.Trend
	Bucket     string          `json:"bucket,omitempty"`
	DeltaFlags []TrendDeltaHit `json:"deltaFlags"`
}

// TrendDeltaHit is a result of the trend's code that met delta rules.
type TrendDeltaHit struct {
	ObservationID uuid.UUID               `json:"observationId"`
	Time          time.Time               `json:"time"`
	Flags         []observation.DeltaFlag `json:"flags"`
}

// trend serves GET /v1/observations/trends: a patient's results of one code
// over [from, to) — every point, or with ?bucket= (an ISO 8601 duration of
// fixed length: PT15M, PT1H, P1D, P1W) each bucket's count, min, max and mean
// — the least-squares slope per hour, and the delta-flagged results. to
// defaults to now and from to 24 hours before to.
func (s *observationRoutes) trend(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "code", "from", "to", "bucket")
	patientID := requiredPatient(c, verr)
	code := c.Query("code")
	if code == "" {
		verr.Add("code", "is required")
	}
	from, to := queryTime(c, verr, "from"), queryTime(c, verr, "to")
	if to.IsZero() && !hasParam(verr, "to") {
		to = s.now()
	}
	if from.IsZero() && !hasParam(verr, "from") && !to.IsZero() {
		from = to.Add(-defaultTrendWindow)
	}
	bucket := bucketParam(c, verr)
	if code != "" {
		_ = mergeValidation(verr, observation.CheckTrend(code, from, to, bucket))
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityObservation, "", &patientID)
	t, err := s.store.Trend(c.Request.Context(), patientID, code, from, to, bucket)
	if err != nil {
		s.fail(c, err)
		return
	}
	flagged, err := s.store.DeltaFlagged(c.Request.Context(), patientID, code, from, to)
	if err != nil {
		s.fail(c, err)
		return
	}
	view := TrendView{Trend: t, Bucket: isoDuration(bucket), DeltaFlags: []TrendDeltaHit{}}
	for _, o := range flagged {
		hit := TrendDeltaHit{ObservationID: o.ID, Time: o.EffectiveAt}
		for _, f := range o.DeltaFlags {
			if f.Previous.Code == code {
				hit.Flags = append(hit.Flags, f)
			}
		}
		view.DeltaFlags = append(view.DeltaFlags, hit)
	}
	c.JSON(http.StatusOK, view)
}

// CatalogueEntry is one code of GET /v1/observations/codes: the catalogue's
// definition, with the delta rule's window as an ISO 8601 duration.
type CatalogueEntry struct {
	observation.Definition
	Delta *CatalogueDelta `json:"delta,omitempty"`
}

// CatalogueDelta is a code's implausible-change limit.
type CatalogueDelta struct {
	Window   string  `json:"window"`
	Absolute float64 `json:"absolute,omitempty"`
	Percent  float64 `json:"percent,omitempty"`
	Source   string  `json:"source"`
}

// loincNotice is the notice the LOINC licence asks to go with its content
// (domain/observation/LOINC-NOTICE.md).
const loincNotice = "This material contains content from LOINC (http://loinc.org). LOINC is copyright © Regenstrief Institute, Inc. " +
	"and the Logical Observation Identifiers Names and Codes (LOINC) Committee and is available at no cost under the license at " +
	"http://loinc.org/license. LOINC® is a registered United States trademark of Regenstrief Institute, Inc. The answer \"C\" " +
	"(new confusion) to 67775-7 is not LOINC content: it is the ACVPU addition of the Royal College of Physicians' NEWS2 (2017)."

// catalogue serves GET /v1/observations/codes: every code the engine
// accepts (or those of ?category=), with its units, ranges, critical limits
// and their sources.
func (s *observationRoutes) catalogue(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "category")
	category := observation.Category(c.Query("category"))
	if category != "" && category != observation.CategoryVitalSigns && category != observation.CategoryLaboratory {
		verr.Add("category", "must be vital-signs or laboratory")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityCatalogue, "", nil)
	entries := []CatalogueEntry{}
	for _, d := range observation.Catalogue() {
		if category != "" && d.Category != category {
			continue
		}
		e := CatalogueEntry{Definition: d}
		if l := d.Delta; l != nil {
			e.Delta = &CatalogueDelta{Window: isoDuration(l.Window), Absolute: l.Absolute, Percent: l.Percent, Source: l.Source}
		}
		entries = append(entries, e)
	}
	c.JSON(http.StatusOK, gin.H{"data": entries, "notice": loincNotice})
}

// requiredPatient reads ?patientId=, which is required.
func requiredPatient(c *gin.Context, verr *domain.ValidationError) uuid.UUID {
	if c.Query("patientId") == "" {
		verr.Add("patientId", "is required")
		return uuid.Nil
	}
	if id := optionalUUID(c, "patientId", verr); id != nil {
		return *id
	}
	return uuid.Nil
}

// codeList splits a comma-separated list of codes; empty is none.
func codeList(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	codes := strings.Split(v, ",")
	for i := range codes {
		codes[i] = strings.TrimSpace(codes[i])
	}
	return codes
}

// queryTime reads an RFC 3339 time parameter; absent is the zero time.
func queryTime(c *gin.Context, verr *domain.ValidationError, name string) time.Time {
	v := c.Query(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		verr.Add(name, "must be an RFC 3339 time such as 2026-11-25T09:00:00Z")
		return time.Time{}
	}
	return t
}

// hasParam reports whether verr already names field.
func hasParam(verr *domain.ValidationError, field string) bool {
	return slices.ContainsFunc(verr.Fields, func(f domain.FieldError) bool { return f.Field == field })
}

// bucketParam reads ?bucket=, an ISO 8601 duration of fixed length: weeks,
// days (24 hours, buckets counted in UTC from the window's start), hours,
// minutes, seconds. Absent is no bucket.
func bucketParam(c *gin.Context, verr *domain.ValidationError) time.Duration {
	v := c.Query("bucket")
	if v == "" {
		return 0
	}
	d, err := careplan.ParseDuration(v)
	switch {
	case err != nil:
		verr.Add("bucket", "must be an ISO 8601 duration such as PT15M, PT1H or P1D")
		return 0
	case d.Years != 0 || d.Months != 0:
		verr.Add("bucket", "must have a fixed length: use weeks, days, hours or minutes, not years or months")
		return 0
	}
	return time.Duration(d.Days)*24*time.Hour + d.Clock
}

// isoDuration writes d as an ISO 8601 duration: P1D for whole days, else
// PT…H…M…S; "" for none.
func isoDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	day := 24 * time.Hour
	if d%day == 0 {
		return "P" + strconv.FormatInt(int64(d/day), 10) + "D"
	}
	out := "P"
	if days := d / day; days > 0 {
		out += strconv.FormatInt(int64(days), 10) + "D"
		d -= days * day
	}
	out += "T"
	if h := d / time.Hour; h > 0 {
		out += strconv.FormatInt(int64(h), 10) + "H"
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		out += strconv.FormatInt(int64(m), 10) + "M"
		d -= m * time.Minute
	}
	if d > 0 {
		out += strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
	}
	return out
}

// renamed is err with the domain's field names turned into the API's:
// fields named in names exactly, and those beginning with from given the
// prefix to instead.
func renamed(err error, names map[string]string, from, to string) error {
	verr, ok := err.(*domain.ValidationError)
	if !ok || verr == nil {
		return err
	}
	out := &domain.ValidationError{}
	for _, f := range verr.Fields {
		name := f.Field
		if n, ok := names[name]; ok {
			name = n
		} else if rest, ok := strings.CutPrefix(name, from); ok && from != "" {
			name = to + rest
		}
		out.Add(name, f.Message)
	}
	return out
}
