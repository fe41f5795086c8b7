package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/dicom"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	part10 "github.com/zarish-sphere/zarish/integrations/dicom"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// DICOMStore is the index of the DICOM instances received: what STOW-RS
// stores, QIDO-RS searches and WADO-RS finds the files by.
type DICOMStore interface {
	// SaveInstance stores in once per SOP Instance UID: the same bytes again
	// answer stored false, other bytes domain.ErrConflict. rec, when not
	// nil, is stored in the same transaction.
	SaveInstance(ctx context.Context, rec *audit.Record, in dicom.Instance) (stored bool, err error)
	SearchStudies(ctx context.Context, f dicom.Filter) ([]dicom.StudySummary, error)
	Instance(ctx context.Context, sopInstanceUID string) (dicom.Instance, error)
	// OrdersByAccession is every diagnostic order an Accession Number may
	// name: by placer order number, or as dicom.OrderAccession of its id.
	OrdersByAccession(ctx context.Context, accession string) ([]diagnostic.Report, error)
	// StudySeries lists the series of a stored study.
	StudySeries(ctx context.Context, studyUID string) ([]dicom.SeriesSummary, error)
	// StudyLink is the order a study is linked to, or domain.ErrNotFound.
	StudyLink(ctx context.Context, studyUID string) (dicom.StudyLink, error)
	// LinkStudy claims a study for an order once, running do (the
	// workflow's Update) inside the claim: a study claimed already answers
	// its link and linked false without running do; a failing do leaves no
	// claim.
	LinkStudy(ctx context.Context, link dicom.StudyLink, do func(context.Context) error) (stored dicom.StudyLink, linked bool, err error)
}

// patientsByMRN finds a registered patient by MRN, or domain.ErrNotFound.
type patientsByMRN interface {
	GetByMRN(ctx context.Context, mrn string) (patient.Patient, error)
}

// DICOMLimits bound what one STOW-RS request may send.
type DICOMLimits struct {
	// MaxInstanceBytes caps one instance (DefaultMaxDICOMInstanceBytes
	// when zero); a larger one ends the request with 413.
	MaxInstanceBytes int64
	// MaxParts caps the instances of one request (DefaultMaxDICOMParts
	// when zero).
	MaxParts int
	// UploadTimeout is how long a STOW-RS body may take to arrive, in place
	// of the server's ReadTimeout (DefaultDICOMUploadTimeout when zero).
	UploadTimeout time.Duration
}

// The default STOW-RS limits.
const (
	DefaultMaxDICOMInstanceBytes = 2 << 30
	DefaultMaxDICOMParts         = 1000
	DefaultDICOMUploadTimeout    = 30 * time.Minute
)

func (l DICOMLimits) withDefaults() DICOMLimits {
	if l.MaxInstanceBytes <= 0 {
		l.MaxInstanceBytes = DefaultMaxDICOMInstanceBytes
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxDICOMParts
	}
	if l.UploadTimeout <= 0 {
		l.UploadTimeout = DefaultDICOMUploadTimeout
	}
	return l
}

const (
	dicomStudiesPath = "/v1/integration/dicom/studies"
	mediaDICOM       = "application/dicom"
	mediaMultipart   = "multipart/related"
	// dicomIncoming is the folder of the storage root instances are
	// received into before they are named by their digest.
	dicomIncoming = ".incoming"
)

// dicomRoutes serve DICOMweb under /v1/integration/dicom: STOW-RS stores
// instances under dir, QIDO-RS searches their studies and WADO-RS returns
// one. auditLog stores a retrieval's record before its file streams.
// temporal drives the diagnostic workflows STOW-RS links studies to their
// imaging orders through; without it no study is linked, and STOW-RS says
// so for each instance.
type dicomRoutes struct {
	*edge
	store    DICOMStore
	patients patientsByMRN
	auditLog AuditLog
	dir      string
	limits   DICOMLimits
	temporal client.Client
}

func (s *dicomRoutes) routes() []Route {
	const scopeR, scopeW = "system/ImagingStudy.read", "system/ImagingStudy.write"
	return []Route{
		{http.MethodPost, dicomStudiesPath, scopeW, entityImagingStudy, s.stow},
		{http.MethodGet, dicomStudiesPath, scopeR, entityImagingStudy, s.searchStudies},
		{http.MethodGet, dicomStudiesPath + "/:study/series/:series/instances/:instance", scopeR, entityImagingStudy, s.retrieve},
	}
}

// What STOW-RS answered for one instance.
const (
	dicomStored        = "stored"
	dicomAlreadyStored = "already-stored"
	dicomRefused       = "refused"
)

// Why STOW-RS refused an instance, for clients to switch on.
const (
	RefusedNotDICOMMedia          = "NOT_APPLICATION_DICOM"
	RefusedNotDICOM               = "NOT_DICOM"
	RefusedTruncated              = "TRUNCATED"
	RefusedMalformed              = "MALFORMED"
	RefusedTransferSyntax         = "UNSUPPORTED_TRANSFER_SYNTAX"
	RefusedCharacterSet           = "UNSUPPORTED_CHARACTER_SET"
	RefusedValueTooLong           = "VALUE_TOO_LONG"
	RefusedHeaderTooLarge         = "HEADER_TOO_LARGE"
	RefusedInvalidAttribute       = "INVALID_ATTRIBUTE"
	RefusedSOPInstanceUIDMismatch = "SOP_INSTANCE_UID_MISMATCH"
	RefusedStoredDifferently      = "STORED_WITH_OTHER_CONTENT"
)

// formatRefusals are the reader's refusals by reason.
var formatRefusals = []struct {
	err  error
	code string
}{
	{part10.ErrNotDICOM, RefusedNotDICOM},
	{part10.ErrTruncated, RefusedTruncated},
	{part10.ErrMalformed, RefusedMalformed},
	{part10.ErrUnsupportedTransferSyntax, RefusedTransferSyntax},
	{part10.ErrUnsupportedCharacterSet, RefusedCharacterSet},
	{part10.ErrValueTooLong, RefusedValueTooLong},
	{part10.ErrHeaderTooLarge, RefusedHeaderTooLarge},
}

// DICOMInstanceResult is what STOW-RS did with one part of the request.
type DICOMInstanceResult struct {
	// Part is the part's place in the request, from 1.
	Part              int    `json:"part"`
	SOPInstanceUID    string `json:"sopInstanceUid,omitempty"`
	SOPClassUID       string `json:"sopClassUid,omitempty"`
	StudyInstanceUID  string `json:"studyInstanceUid,omitempty"`
	SeriesInstanceUID string `json:"seriesInstanceUid,omitempty"`
	// Status is stored, already-stored or refused.
	Status string `json:"status"`
	// Code and Reason say why a part was refused; Offset and Tag where in
	// the file the reader stopped.
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	Offset *int64 `json:"offset,omitempty"`
	Tag    string `json:"tag,omitempty"`
	// PatientID is our patient, when the file's Patient ID is a registered
	// patient's MRN.
	PatientID *uuid.UUID `json:"patientId,omitempty"`
	// URL retrieves the stored instance (WADO-RS).
	URL string `json:"url,omitempty"`
	// Order says what became of the instance's Accession Number: the
	// imaging order its study is linked to, or why none is (also one of
	// Warnings). Absent from a refused part.
	Order    *DICOMOrderLink `json:"order,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
}

// What STOW-RS did about the order a stored instance's study is for.
const (
	// dicomOrderLinked: this request linked the study to the order.
	dicomOrderLinked = "linked"
	// dicomOrderAlreadyLinked: the study was linked to the order before.
	dicomOrderAlreadyLinked = "already-linked"
	// dicomOrderNotLinked: no order was linked; Code and Reason say why.
	dicomOrderNotLinked = "not-linked"
)

// DICOMOrderLink is the imaging order a stored instance's study was linked
// to by its Accession Number (0008,0050), or why it was not.
type DICOMOrderLink struct {
	AccessionNumber string `json:"accessionNumber,omitempty"`
	// Status is linked, already-linked or not-linked.
	Status string `json:"status"`
	// OrderID is the order (and report) the study is linked to;
	// ImagingStudyID the study's record on it. Both absent when not linked.
	OrderID        *uuid.UUID `json:"orderId,omitempty"`
	ImagingStudyID *uuid.UUID `json:"imagingStudyId,omitempty"`
	// Code (one of the dicom.NotLinked* codes) and Reason say why no order
	// was linked.
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// DICOMStoreResult is the STOW-RS answer: every part of the request, in
// order.
type DICOMStoreResult struct {
	Instances []DICOMInstanceResult `json:"instances"`
}

// warnPatientNotMatched: the instance is stored unlinked.
const warnPatientNotMatched = "patient not matched: no registered patient has this Patient ID (0010,0020) as MRN; the instance is stored unlinked"

// received is one part read into the incoming folder.
type received struct {
	result DICOMInstanceResult
	// tmp is the file the part was written to; "" once placed or removed.
	tmp string
	in  dicom.Instance
}

// configured reports whether the server stores DICOM, having answered 503
// when it does not.
func (s *dicomRoutes) configured(c *gin.Context) bool {
	if s.store == nil || s.dir == "" {
		abort(c, http.StatusServiceUnavailable, CodeUnavailable, "DICOM storage is not configured on this server.")
		return false
	}
	return true
}

// stow is STOW-RS (PS3.18 §10.5): a multipart/related body of
// application/dicom parts, or one application/dicom body. Every part is
// read into the incoming folder first (never into memory), its digest and
// size counted as it arrives and its header read on the way; only when the
// whole body has been read are the instances named by their digest and
// indexed, so a malformed body stores nothing.
func (s *dicomRoutes) stow(c *gin.Context) {
	if !s.configured(c) {
		return
	}
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || (mt != mediaDICOM && mt != mediaMultipart) {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
			`Send multipart/related; type="application/dicom" (or one application/dicom instance).`)
		return
	}
	if t, ok := params["type"]; mt == mediaMultipart && ok && !strings.EqualFold(t, mediaDICOM) {
		abort(c, http.StatusUnsupportedMediaType, CodeUnsupportedMedia,
			`Only DICOM Part 10 instances are stored: the type must be "application/dicom".`)
		return
	}
	incoming := filepath.Join(s.dir, dicomIncoming)
	if err := os.MkdirAll(incoming, 0o750); err != nil {
		s.fail(c, fmt.Errorf("stow: incoming folder: %w", err))
		return
	}
	limits := s.limits.withDefaults()
	s.allowUpload(c, limits.UploadTimeout)

	var parts []*received
	defer func() {
		for _, p := range parts {
			if p.tmp != "" {
				_ = os.Remove(p.tmp)
			}
		}
	}()
	if mt == mediaDICOM {
		p, err := s.receive(c.Request.Body, mediaDICOM, 1, incoming, limits.MaxInstanceBytes)
		if p != nil {
			parts = append(parts, p)
		}
		if err != nil {
			s.bodyFailed(c, err, limits)
			return
		}
	} else {
		boundary := params["boundary"]
		if boundary == "" {
			abort(c, http.StatusBadRequest, CodeValidationFailed, "The multipart body names no boundary.",
				domain.FieldError{Field: "Content-Type", Message: "must carry a boundary parameter"})
			return
		}
		mr := multipart.NewReader(c.Request.Body, boundary)
		for n := 1; ; n++ {
			part, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				s.bodyFailed(c, fmt.Errorf("part %d: %w: %w", n, errMalformedMultipart, err), limits)
				return
			}
			if n > limits.MaxParts {
				abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
					fmt.Sprintf("The request holds more than %d instances; send them in several requests. Nothing was stored.", limits.MaxParts))
				return
			}
			p, err := s.receive(part, partType(part.Header), n, incoming, limits.MaxInstanceBytes)
			if p != nil {
				parts = append(parts, p)
			}
			if err != nil {
				s.bodyFailed(c, err, limits)
				return
			}
		}
	}
	if len(parts) == 0 {
		abort(c, http.StatusBadRequest, CodeValidationFailed, "The body holds no instance.",
			domain.FieldError{Field: "(body)", Message: "must hold at least one application/dicom part"})
		return
	}
	s.index(c, parts)
}

var (
	errMalformedMultipart = errors.New("malformed multipart body")
	errInstanceTooLarge   = errors.New("instance too large")
	errBodyRead           = errors.New("body not read")
)

// bodyError is the failure to read part n of the body: a part over the
// cap, a multipart body that ends inside a part, or the connection failing.
func bodyError(n int, err error) error {
	switch {
	case errors.Is(err, errInstanceTooLarge):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("part %d: %w: it ends inside the part", n, errMalformedMultipart)
	}
	return fmt.Errorf("part %d: %w: %w", n, errBodyRead, err)
}

// tooLargeError is a part larger than the instance cap.
type tooLargeError struct {
	part  int
	limit int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("part %d: larger than %d bytes", e.part, e.limit)
}

func (e *tooLargeError) Unwrap() error { return errInstanceTooLarge }

// bodyFailed answers a body that could not be read to its end; nothing of
// it is stored.
func (s *dicomRoutes) bodyFailed(c *gin.Context, err error, limits DICOMLimits) {
	var (
		tooLarge *tooLargeError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		abort(c, http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
			fmt.Sprintf("Part %d is larger than the %d bytes one instance may be. Nothing was stored.", tooLarge.part, limits.MaxInstanceBytes))
	case errors.As(err, &netErr) && netErr.Timeout():
		c.Header("Connection", "close")
		abort(c, http.StatusRequestTimeout, CodeRequestTimeout, "The body did not arrive in time. Nothing was stored.")
	case errors.Is(err, errMalformedMultipart):
		abort(c, http.StatusBadRequest, CodeValidationFailed, "The multipart body is malformed. Nothing was stored.",
			domain.FieldError{Field: "(body)", Message: "is not a multipart/related body with the boundary its Content-Type names"})
	case errors.Is(err, errBodyRead):
		abort(c, http.StatusBadRequest, CodeValidationFailed, "The body could not be read to its end. Nothing was stored.",
			domain.FieldError{Field: "(body)", Message: "ended before it was read"})
	default:
		s.fail(c, err)
	}
}

// partType is a part's media type; a part that names none is taken to be
// what the request's type says, application/dicom.
func partType(h textproto.MIMEHeader) string {
	ct := h.Get("Content-Type")
	if ct == "" {
		return mediaDICOM
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// cappedReader counts what it reads and fails once more than limit bytes
// arrive.
type cappedReader struct {
	r     io.Reader
	n     int64
	limit int64
	part  int
}

func (r *cappedReader) Read(p []byte) (int, error) {
	if int64(len(p)) > r.limit-r.n+1 {
		p = p[:r.limit-r.n+1]
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n > r.limit {
		return n, &tooLargeError{part: r.part, limit: r.limit}
	}
	return n, err
}

// receive writes one part into the incoming folder, counting its size and
// SHA-256 and reading its header as the bytes arrive. A part that is not
// DICOM, or whose header is refused, comes back refused with the reason;
// the error is for a body that cannot be read on (a part too large, the
// connection failing), which ends the request.
func (s *dicomRoutes) receive(r io.Reader, mediaType string, n int, incoming string, limit int64) (*received, error) {
	p := &received{result: DICOMInstanceResult{Part: n}}
	if mediaType != mediaDICOM {
		// Read past it here, within the cap, rather than by the next part.
		if _, err := io.Copy(io.Discard, &cappedReader{r: r, limit: limit, part: n}); err != nil {
			return p, bodyError(n, err)
		}
		p.refuse(RefusedNotDICOMMedia, fmt.Sprintf("the part is %s, not application/dicom", mediaType))
		return p, nil
	}
	f, err := os.CreateTemp(incoming, "stow-*.dcm")
	if err != nil {
		return nil, fmt.Errorf("stow: incoming file: %w", err)
	}
	p.tmp = f.Name()
	sum := sha256.New()
	capped := &cappedReader{r: r, limit: limit, part: n}
	tee := io.TeeReader(capped, io.MultiWriter(f, sum))
	// SkipPixelData reads the whole file, so one truncated in its pixel
	// data is refused too; the reader keeps no pixel bytes.
	file, readErr := part10.Read(tee, part10.Options{PixelData: part10.SkipPixelData})
	var copyErr error
	if readErr == nil || isFormatError(readErr) {
		// The rest of the part (nothing, when the reader went to its end)
		// counts towards its size and digest.
		_, copyErr = io.Copy(io.Discard, tee)
	}
	if err := f.Close(); err != nil {
		return p, fmt.Errorf("stow: incoming file: %w", err)
	}
	switch {
	case readErr != nil && !isFormatError(readErr):
		return p, bodyError(n, readErr)
	case copyErr != nil:
		return p, bodyError(n, copyErr)
	case readErr != nil:
		p.refuseFormat(readErr)
		return p, nil
	}
	p.describe(file, capped.n, sum, s.now().UTC())
	return p, nil
}

// isFormatError reports whether err is the reader's refusal of the bytes.
func isFormatError(err error) bool {
	var fe *part10.FormatError
	return errors.As(err, &fe)
}

func (p *received) refuse(code, reason string) {
	p.result.Status, p.result.Code, p.result.Reason = dicomRefused, code, reason
}

// refuseFormat refuses the part with the reader's reason, offset and tag.
func (p *received) refuseFormat(err error) {
	var fe *part10.FormatError
	if !errors.As(err, &fe) {
		p.refuse(RefusedMalformed, err.Error())
		return
	}
	code := RefusedMalformed
	for _, r := range formatRefusals {
		if errors.Is(fe.Err, r.err) {
			code = r.code
			break
		}
	}
	p.refuse(code, fe.Error())
	offset := fe.Offset
	p.result.Offset = &offset
	if fe.Tag != 0 {
		p.result.Tag = fe.Tag.String()
	}
}

// describe is the instance the header read names, checked as the index
// holds it.
func (p *received) describe(f *part10.File, size int64, sum hash.Hash, now time.Time) {
	digest := sum.Sum(nil)
	name := hex.EncodeToString(digest)
	in := dicom.Instance{
		SOPInstanceUID:    f.SOPInstanceUID,
		SOPClassUID:       f.SOPClassUID,
		StudyInstanceUID:  f.StudyInstanceUID,
		SeriesInstanceUID: f.SeriesInstanceUID,
		DICOMPatientID:    f.PatientID,
		Issuer:            f.IssuerOfPatientID,
		PatientName:       f.PatientName.String(),
		AccessionNumber:   f.AccessionNumber,
		Modality:          f.Modality,
		StudyDescription:  f.StudyDescription,
		SeriesDescription: f.SeriesDescription,
		TransferSyntaxUID: f.TransferSyntax.UID,
		Size:              size,
		SHA256:            digest,
		Path:              name[:2] + "/" + name + ".dcm",
		ReceivedAt:        now,
		Attributes:        map[string]string{},
	}
	if in.SOPClassUID == "" {
		in.SOPClassUID = f.Meta.MediaStorageSOPClassUID
	}
	if !f.StudyDate.IsZero() {
		in.StudyDate = time.Date(f.StudyDate.Year, f.StudyDate.Month, f.StudyDate.Day, 0, 0, 0, 0, time.UTC)
	}
	if e, ok := f.Element(part10.TagStudyTime); ok {
		in.StudyTime = e.FirstString()
	}
	if _, ok := f.Element(part10.TagSeriesNumber); ok && f.SeriesNumber != 0 {
		in.SeriesNumber = &f.SeriesNumber
	}
	if _, ok := f.Element(part10.TagInstanceNumber); ok && f.InstanceNumber != 0 {
		in.InstanceNumber = &f.InstanceNumber
	}
	for _, e := range f.DataSet {
		if e.VR.IsString() && e.Raw != nil && len(e.Raw) <= dicom.MaxAttributeLength {
			in.Attributes[fmt.Sprintf("%08X", uint32(e.Tag))] = strings.Join(e.Strings(), `\`)
		}
	}
	p.in = in
	p.result.SOPInstanceUID, p.result.SOPClassUID = in.SOPInstanceUID, in.SOPClassUID
	p.result.StudyInstanceUID, p.result.SeriesInstanceUID = in.StudyInstanceUID, in.SeriesInstanceUID
	for _, problem := range f.Problems {
		p.result.Warnings = append(p.result.Warnings, fmt.Sprintf("%s could not be read as %s and is not indexed", problem.Tag, problem.VR))
	}
	if meta := f.Meta.MediaStorageSOPInstanceUID; meta != "" && in.SOPInstanceUID != "" && meta != in.SOPInstanceUID {
		p.refuse(RefusedSOPInstanceUIDMismatch, "the file meta information's Media Storage SOP Instance UID (0002,0003) is not the SOP Instance UID (0008,0018)")
		return
	}
	var verr *domain.ValidationError
	if err := in.Validate(); errors.As(err, &verr) {
		reasons := make([]string, len(verr.Fields))
		for i, f := range verr.Fields {
			reasons[i] = f.Field + " " + f.Message
		}
		p.refuse(RefusedInvalidAttribute, strings.Join(reasons, "; "))
	}
}

// index names each instance read by its digest under the storage root and
// stores it, links it to our patient when its Patient ID is an MRN, and
// answers every part.
func (s *dicomRoutes) index(c *gin.Context, parts []*received) {
	ctx := c.Request.Context()
	a := auditOf(c)
	// One instance goes with the request's audit record in its own
	// transaction. Several are stored each in its own, and the request's
	// one record is written after them; if it cannot be, the answer is
	// withheld, and a retry is safe: stored instances answer already-stored.
	var single *received
	if len(parts) == 1 && parts[0].result.Status == "" {
		single = parts[0]
	}
	var (
		patients []uuid.UUID
		studies  = map[string]bool{}
	)
	for _, p := range parts {
		if p.result.Status != "" {
			continue
		}
		if err := s.link(ctx, p); err != nil {
			s.fail(c, err)
			return
		}
		placed, err := s.place(p)
		if err != nil {
			s.fail(c, err)
			return
		}
		var rec *audit.Record
		if p == single {
			rec = a.forWrite(c, audit.ActionCreate, http.StatusOK)
		}
		stored, err := s.store.SaveInstance(ctx, rec, p.in)
		switch {
		case errors.Is(err, domain.ErrConflict):
			if placed {
				// No row names this file: another instance under the UID has
				// other bytes, so another digest and another path.
				_ = os.Remove(filepath.Join(s.dir, filepath.FromSlash(p.in.Path)))
			}
			p.refuse(RefusedStoredDifferently, "an instance with this SOP Instance UID is stored already with other content; it was not replaced")
			continue
		case err != nil:
			s.fail(c, err)
			return
		}
		if rec != nil {
			a.stored()
		}
		p.result.Status = dicomStored
		if !stored {
			p.result.Status = dicomAlreadyStored
		}
		p.result.URL = dicomStudiesPath + "/" + p.in.StudyInstanceUID + "/series/" + p.in.SeriesInstanceUID + "/instances/" + p.in.SOPInstanceUID
		studies[p.in.StudyInstanceUID] = true
		if p.in.PatientID != nil {
			patients = append(patients, *p.in.PatientID)
		}
	}
	s.linkOrders(c, parts)
	if single == nil || !a.recorded {
		study := ""
		if len(studies) == 1 {
			for uid := range studies {
				study = uid
			}
		}
		a.about(audit.ActionCreate, entityImagingStudy, study, nil)
		a.disclosed(patients...)
	}
	out := DICOMStoreResult{Instances: make([]DICOMInstanceResult, len(parts))}
	refused := 0
	for i, p := range parts {
		out.Instances[i] = p.result
		if p.result.Status == dicomRefused {
			refused++
		}
	}
	status := http.StatusOK
	switch refused {
	case 0:
	case len(parts):
		status = http.StatusConflict
	default:
		status = http.StatusAccepted
	}
	c.JSON(status, out)
}

// link sets the instance's patient: the registered patient whose MRN its
// Patient ID is, if any.
func (s *dicomRoutes) link(ctx context.Context, p *received) error {
	id := p.in.DICOMPatientID
	if id != "" && patient.ValidateMRN(id) == nil {
		found, err := s.patients.GetByMRN(ctx, id)
		switch {
		case err == nil:
			p.in.PatientID = &found.ID
			p.result.PatientID = &found.ID
			return nil
		case !errors.Is(err, domain.ErrNotFound):
			return fmt.Errorf("stow: patient by MRN: %w", err)
		}
	}
	p.result.Warnings = append(p.result.Warnings, warnPatientNotMatched)
	return nil
}

// linkKey is what decides the order of a stored instance's study: the
// study, the Accession Number and our patient.
type linkKey struct {
	study, accession string
	patient          uuid.UUID
}

// linkOrders links the study of each instance stored (or stored already)
// to the imaging order its Accession Number (0008,0050) names, once per
// study, and says on each instance what became of it: linked, linked
// before, or not linked and why (also as a warning). The instances stay
// stored whatever the answer, and the request's status does not change:
// a study not linked is linked by sending its instances again, or by POST
// /v1/diagnostics/orders/{id}/studies.
func (s *dicomRoutes) linkOrders(c *gin.Context, parts []*received) {
	done := map[linkKey]DICOMOrderLink{}
	for _, p := range parts {
		if p.result.Status != dicomStored && p.result.Status != dicomAlreadyStored {
			continue
		}
		k := linkKey{study: p.in.StudyInstanceUID, accession: strings.TrimSpace(p.in.AccessionNumber)}
		if p.in.PatientID != nil {
			k.patient = *p.in.PatientID
		}
		link, ok := done[k]
		if !ok {
			link = s.linkOrder(c, p.in)
			done[k] = link
		}
		p.result.Order = &link
		if link.Status == dicomOrderNotLinked {
			p.result.Warnings = append(p.result.Warnings, link.Reason)
		}
	}
}

// scopeLinkStudy is what POST /v1/diagnostics/orders/{id}/studies needs,
// and so what STOW-RS needs to link a study to its order.
const scopeLinkStudy = "system/DiagnosticReport.write"

// linkOrder links the study of a stored instance to the imaging order its
// Accession Number names, through the diagnostic workflow's link-study
// Update as POST /v1/diagnostics/orders/{id}/studies does: the order is the
// one dicom.OrderFor picks — by its placer order number, or as
// dicom.OrderAccession of its id — and must be of the patient the
// instance's Patient ID matched; the study is recorded available with its
// series as the index holds them (dicom.StudyFor), for the ordered
// procedure performed with their modality. Linking is a person's act: the
// request must act for the radiographer (a machine client sends
// X-On-Behalf-Of: Practitioner/<id>) and hold system/DiagnosticReport.write.
// A study already linked is not linked again.
func (s *dicomRoutes) linkOrder(c *gin.Context, in dicom.Instance) DICOMOrderLink {
	ctx := c.Request.Context()
	accession := strings.TrimSpace(in.AccessionNumber)
	out := DICOMOrderLink{AccessionNumber: accession}
	notLinked := func(err error) DICOMOrderLink {
		var nl *dicom.NotLinked
		if !errors.As(err, &nl) {
			s.log.WarnContext(ctx, "stow: study not linked to its order", "requestId", requestID(c),
				"study", in.StudyInstanceUID, "error", err)
			nl = &dicom.NotLinked{Code: dicom.NotLinkedUnavailable,
				Reason: "no order linked: the order could not be looked up or reached now; send the instance again to link it"}
		}
		out.Status, out.Code, out.Reason = dicomOrderNotLinked, nl.Code, nl.Reason
		out.OrderID, out.ImagingStudyID = nil, nil
		return out
	}
	var found []diagnostic.Report
	if accession != "" {
		var err error
		if found, err = s.store.OrdersByAccession(ctx, accession); err != nil {
			return notLinked(err)
		}
	}
	r, err := dicom.OrderFor(accession, found, in.PatientID)
	if err != nil {
		return notLinked(err)
	}
	orderID := r.Order.ID
	studyID := StudyID(orderID, in.StudyInstanceUID)
	out.OrderID, out.ImagingStudyID = &orderID, &studyID
	elsewhere := func() DICOMOrderLink {
		return notLinked(&dicom.NotLinked{Code: dicom.NotLinkedElsewhere,
			Reason: "no order linked: the study is linked to another order already; Accession Number " + accession + " names a second one"})
	}
	prior, err := s.store.StudyLink(ctx, in.StudyInstanceUID)
	switch {
	case err == nil && prior.OrderID == orderID:
		out.Status = dicomOrderAlreadyLinked
		return out
	case err == nil:
		return elsewhere()
	case !errors.Is(err, domain.ErrNotFound):
		return notLinked(err)
	}
	if slices.ContainsFunc(r.Studies, func(st diagnostic.ImagingStudy) bool { return st.ID == studyID }) {
		// Linked by hand (POST …/studies) before any instance arrived.
		out.Status = dicomOrderAlreadyLinked
		return out
	}
	if s.temporal == nil {
		return notLinked(&dicom.NotLinked{Code: dicom.NotLinkedUnavailable,
			Reason: "no order linked: this server links no studies to orders (it has no workflow client)"})
	}
	if p, _ := principal(c); !p.Allows(scopeLinkStudy) {
		return notLinked(&dicom.NotLinked{Code: dicom.NotLinkedScopeRequired,
			Reason: "no order linked: Accession Number " + accession + " names order " + orderID.String() +
				", and linking a study to it needs the scope " + scopeLinkStudy})
	}
	who, ok := actingPractitioner(c)
	if !ok {
		return notLinked(&dicom.NotLinked{Code: dicom.NotLinkedPersonRequired,
			Reason: "no order linked: Accession Number " + accession + " names order " + orderID.String() +
				", and linking a study is a person's act: send " + headerOnBehalfOf + ": Practitioner/<id> naming the radiographer (scope " +
				access.ScopeActOnBehalf + "), or store the study as the signed-in practitioner"})
	}
	series, err := s.store.StudySeries(ctx, in.StudyInstanceUID)
	if err != nil {
		return notLinked(err)
	}
	study, err := dicom.StudyFor(r, studyID, in.StudyInstanceUID, series)
	if err != nil {
		return notLinked(err)
	}
	if err := r.CanLinkStudy(study); err != nil {
		return notLinked(&dicom.NotLinked{Code: dicom.NotLinkedRefused, Reason: "no order linked: " + err.Error()})
	}
	rec, err := s.linkRecord(c, r.Order, in.StudyInstanceUID)
	if err != nil {
		return notLinked(err)
	}
	req := &diagnosticflow.LinkStudyRequest{Study: study}
	req.SetActor(who)
	link := dicom.StudyLink{StudyInstanceUID: in.StudyInstanceUID, OrderID: orderID, AccessionNumber: accession, By: who, At: s.now().UTC()}
	stored, linked, err := s.store.LinkStudy(ctx, link, func(ctx context.Context) error {
		_, err := diagnosticflow.Step(ctx, s.temporal, orderID, process.WithAudit(req, rec))
		return err
	})
	var missing *serviceerror.NotFound
	switch {
	case err == nil:
	case slices.Contains([]string{diagnosticflow.RefusedInvalidTransition, diagnosticflow.RefusedInvalidArgument,
		diagnosticflow.RefusedNotRecorded}, process.ErrorType(err)):
		return notLinked(&dicom.NotLinked{Code: dicom.NotLinkedRefused, Reason: "no order linked: " + refusalMessage(err)})
	case errors.As(err, &missing):
		return notLinked(&dicom.NotLinked{Code: dicom.NotLinkedRefused, Reason: "no order linked: the order's report has ended (cancelled or withdrawn)"})
	default:
		return notLinked(err)
	}
	switch {
	case linked:
		out.Status = dicomOrderLinked
	case stored.OrderID == orderID:
		// Another request linked it while this one waited.
		out.Status = dicomOrderAlreadyLinked
	default:
		return elsewhere()
	}
	return out
}

// linkRecord is the audit record of a study's link to order o, which the
// link-study Update stores with the report's change, as it stores the one
// of POST …/studies: the update of the report, by the request's actor. The
// request's own record (the instances' creation) stays as it is. Nil when
// the request is not audited.
func (s *dicomRoutes) linkRecord(c *gin.Context, o diagnostic.Order, studyUID string) (*audit.Record, error) {
	a := auditOf(c)
	if a.rec.ID == uuid.Nil {
		return nil, nil
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	rec := a.rec
	patientID := o.PatientID
	rec.ID, rec.Time, rec.Actor = id, s.now().UTC(), actorOf(c)
	rec.Action, rec.EntityType, rec.EntityID = audit.ActionUpdate, entityDiagnosticReport, o.ID.String()
	rec.PatientID, rec.PatientIDs = &patientID, nil
	rec.Status, rec.Outcome = http.StatusOK, audit.OutcomeSuccess
	rec.Description = "imaging study " + studyUID + " linked to the order by STOW-RS"
	return &rec, nil
}

// place moves the received file to its path under the storage root, named
// by its digest, and reports whether it put it there: a file already at
// the path holds the same bytes, and stays.
func (s *dicomRoutes) place(p *received) (bool, error) {
	final := filepath.Join(s.dir, filepath.FromSlash(p.in.Path))
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return false, fmt.Errorf("stow: instance folder: %w", err)
	}
	if _, err := os.Stat(final); err == nil {
		err := os.Remove(p.tmp)
		p.tmp = ""
		if err != nil {
			return false, fmt.Errorf("stow: remove the copy received: %w", err)
		}
		return false, nil
	}
	if err := os.Rename(p.tmp, final); err != nil {
		return false, fmt.Errorf("stow: store the instance file: %w", err)
	}
	p.tmp = ""
	return true, nil
}

// allowUpload lets the request's body take up to d to arrive, in place of
// the server's ReadTimeout, which bounds ordinary requests.
func (s *dicomRoutes) allowUpload(c *gin.Context, d time.Duration) {
	var w http.ResponseWriter = c.Writer
	if bw, ok := w.(*bufferedWriter); ok {
		w = bw.ResponseWriter
	}
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(d)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.WarnContext(c.Request.Context(), "upload read deadline not extended", "requestId", requestID(c), "error", err)
	}
}

// dicomStudyParams are the QIDO-RS study search's query parameters.
var dicomStudyParams = []string{"PatientID", "StudyDate", "ModalitiesInStudy", "AccessionNumber", "StudyInstanceUID", "limit", "offset"}

// DICOMStudyView is one study as QIDO-RS lists it.
type DICOMStudyView struct {
	StudyInstanceUID string `json:"studyInstanceUid"`
	// StudyDate is YYYY-MM-DD.
	StudyDate        string `json:"studyDate,omitempty"`
	StudyTime        string `json:"studyTime,omitempty"`
	AccessionNumber  string `json:"accessionNumber,omitempty"`
	StudyDescription string `json:"studyDescription,omitempty"`
	// DICOMPatientID is the Patient ID (0010,0020) as sent; PatientID our
	// patient, when the study is linked to one.
	DICOMPatientID    string     `json:"dicomPatientId,omitempty"`
	PatientName       string     `json:"patientName,omitempty"`
	PatientID         *uuid.UUID `json:"patientId,omitempty"`
	ModalitiesInStudy []string   `json:"modalitiesInStudy"`
	NumberOfSeries    int        `json:"numberOfSeries"`
	NumberOfInstances int        `json:"numberOfInstances"`
	// OrderID is the imaging order STOW-RS linked the study to (GET
	// /v1/diagnostics/orders/{orderId}), and ImagingStudyID the study's
	// record on its report; both absent for a study linked to none.
	OrderID        *uuid.UUID `json:"orderId,omitempty"`
	ImagingStudyID *uuid.UUID `json:"imagingStudyId,omitempty"`
}

// DICOMStudyPage is one page of a study search; NextOffset is the offset of
// the next page, null on the last.
type DICOMStudyPage struct {
	Data       []DICOMStudyView `json:"data"`
	NextOffset *int             `json:"nextOffset"`
}

// searchStudies is QIDO-RS's study search (PS3.18 §10.6), answered in the
// API's own JSON.
func (s *dicomRoutes) searchStudies(c *gin.Context) {
	if !s.configured(c) {
		return
	}
	verr := &domain.ValidationError{}
	onlyParams(c, verr, dicomStudyParams...)
	f := dicom.Filter{
		PatientID:        c.Query("PatientID"),
		AccessionNumber:  c.Query("AccessionNumber"),
		StudyInstanceUID: c.Query("StudyInstanceUID"),
		Limit:            limitParam(c, verr, dicom.DefaultLimit, dicom.MaxLimit),
	}
	if v := c.Query("ModalitiesInStudy"); v != "" {
		f.ModalitiesInStudy = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\\' })
	}
	if v := c.Query("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > dicom.MaxOffset {
			verr.Add("offset", "must be a whole number from 0 to "+strconv.Itoa(dicom.MaxOffset))
		} else {
			f.Offset = n
		}
	}
	dates, err := dicom.ParseDateRange(c.Query("StudyDate"))
	var derr *domain.ValidationError
	if errors.As(err, &derr) {
		verr.Fields = append(verr.Fields, derr.Fields...)
	}
	f.StudyDate = dates
	if err := f.Check(); err != nil && len(verr.Fields) == 0 {
		s.fail(c, err)
		return
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, entityImagingStudy, "", nil)
	studies, err := s.store.SearchStudies(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	page := DICOMStudyPage{Data: make([]DICOMStudyView, len(studies))}
	for i, st := range studies {
		v := DICOMStudyView{
			StudyInstanceUID: st.StudyInstanceUID, StudyTime: st.StudyTime, AccessionNumber: st.AccessionNumber,
			StudyDescription: st.StudyDescription, DICOMPatientID: st.DICOMPatientID, PatientName: st.PatientName,
			PatientID: st.PatientID, ModalitiesInStudy: st.Modalities, NumberOfSeries: st.Series, NumberOfInstances: st.Instances,
		}
		if !st.StudyDate.IsZero() {
			v.StudyDate = st.StudyDate.Format(time.DateOnly)
		}
		if v.ModalitiesInStudy == nil {
			v.ModalitiesInStudy = []string{}
		}
		if st.OrderID != nil {
			studyID := StudyID(*st.OrderID, st.StudyInstanceUID)
			v.OrderID, v.ImagingStudyID = st.OrderID, &studyID
		}
		if st.PatientID != nil {
			a.disclosed(*st.PatientID)
		}
		page.Data[i] = v
	}
	if len(studies) == f.PageSize() {
		next := f.Offset + len(studies)
		page.NextOffset = &next
	}
	c.JSON(http.StatusOK, page)
}

// retrieve is WADO-RS's instance retrieval (PS3.18 §10.4): the stored file
// as it was received, application/dicom, or in one multipart/related part
// when Accept asks for that. An instance of another series or study than
// the path names is not found.
func (s *dicomRoutes) retrieve(c *gin.Context) {
	if !s.configured(c) {
		return
	}
	study, series, sop := c.Param("study"), c.Param("series"), c.Param("instance")
	verr := &domain.ValidationError{}
	for _, p := range []struct{ name, value string }{{"study", study}, {"series", series}, {"instance", sop}} {
		if !dicom.ValidUID(p.value) {
			verr.Add(p.name, "is not a UID (digits and dots, at most 64 characters)")
		}
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityImagingStudy, study, nil)
	in, err := s.store.Instance(c.Request.Context(), sop)
	if err == nil && (in.StudyInstanceUID != study || in.SeriesInstanceUID != series) {
		err = fmt.Errorf("instance %s is not of series %s of study %s: %w", sop, series, study, domain.ErrNotFound)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.PatientID = in.PatientID
	// The file streams past the audit middleware's check of a confined
	// token's answer, so the check is made here, before it does.
	if launch, ok := launchPatient(c); ok && (in.PatientID == nil || *in.PatientID != launch) {
		refusePatientContext(c, "", "This token reaches only the patient it was launched for.")
		return
	}
	f, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(in.Path)))
	if err != nil {
		s.fail(c, fmt.Errorf("wado: instance %s file: %w", sop, err))
		return
	}
	defer f.Close()
	multi := acceptsMultipart(c.GetHeader("Accept"))
	if !beginStream(c, s.auditLog, s.log) {
		return
	}
	var body io.Writer = c.Writer
	var mw *multipart.Writer
	if multi {
		mw = multipart.NewWriter(c.Writer)
		c.Header("Content-Type", fmt.Sprintf(`%s; type="%s"; boundary=%s`, mediaMultipart, mediaDICOM, mw.Boundary()))
	} else {
		c.Header("Content-Type", mediaDICOM)
		c.Header("Content-Length", strconv.FormatInt(in.Size, 10))
	}
	c.Header("ETag", `"`+hex.EncodeToString(in.SHA256)+`"`)
	c.Status(http.StatusOK)
	if mw != nil {
		part, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {mediaDICOM}, "Content-Length": {strconv.FormatInt(in.Size, 10)}})
		if err != nil {
			s.log.ErrorContext(c.Request.Context(), "wado: part not begun", "requestId", requestID(c), "error", err)
			return
		}
		body = part
	}
	if _, err := io.Copy(body, f); err != nil {
		// The status is sent; the client sees the body cut short.
		s.log.WarnContext(c.Request.Context(), "wado: instance not sent whole", "requestId", requestID(c), "error", err)
		return
	}
	if mw != nil {
		_ = mw.Close()
	}
}

// acceptsMultipart reports whether Accept asks for multipart/related
// before (or without) application/dicom.
func acceptsMultipart(accept string) bool {
	for _, r := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(r))
		if err != nil {
			continue
		}
		switch mt {
		case mediaMultipart:
			return true
		case mediaDICOM, "*/*", "application/*":
			return false
		}
	}
	return false
}
