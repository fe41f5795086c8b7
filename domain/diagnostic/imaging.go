package diagnostic

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// StudyStatus is an imaging study's FHIR R4 ImagingStudy.status, the four
// the engine uses.
type StudyStatus string

// The study statuses: registered when the study is scheduled or started,
// available when images can be read, cancelled when it was never
// performed, entered-in-error when it should not have been recorded.
const (
	StudyRegistered     StudyStatus = "registered"
	StudyAvailable      StudyStatus = "available"
	StudyCancelled      StudyStatus = "cancelled"
	StudyEnteredInError StudyStatus = "entered-in-error"
)

// StudyStatuses lists every study status.
var StudyStatuses = []StudyStatus{StudyRegistered, StudyAvailable, StudyCancelled, StudyEnteredInError}

// Valid reports whether s is a known study status.
func (s StudyStatus) Valid() bool { return slices.Contains(StudyStatuses, s) }

// Series is one series of an imaging study.
type Series struct {
	UID       string  `json:"uid"`
	Number    int     `json:"number,omitempty"`
	Modality  string  `json:"modality"`
	BodySite  *Coding `json:"bodySite,omitempty"`
	Instances int     `json:"instances"`
}

// ImagingStudy is the record of images acquired for an imaging order, as the
// report refers to it (FHIR R4 ImagingStudy).
type ImagingStudy struct {
	ID        uuid.UUID `json:"id"`
	PatientID uuid.UUID `json:"patientId"`
	// ReportID is the report (and order) the study was performed for.
	ReportID uuid.UUID `json:"reportId"`
	// ProcedureCode is the ordered imaging procedure the study performs.
	ProcedureCode string     `json:"procedureCode"`
	StudyUID      string     `json:"studyUid"`
	Modalities    []string   `json:"modalities"`
	BodySite      *Coding    `json:"bodySite,omitempty"`
	Started       *time.Time `json:"started,omitempty"`
	Series        []Series   `json:"series,omitempty"`
	// NumberOfSeries and NumberOfInstances are counted from Series when it
	// is given; otherwise they are as the modality reported them.
	NumberOfSeries    int         `json:"numberOfSeries"`
	NumberOfInstances int         `json:"numberOfInstances"`
	Status            StudyStatus `json:"status"`
}

// The DICOM acquisition modalities the engine records (a subset of DICOM
// PS3.16 CID 29 Acquisition Modality): computed and digital radiography,
// CT, MR, ultrasound, nuclear medicine, PET, mammography, fluoroscopy and
// X-ray angiography.
var modalities = []string{"CR", "DX", "CT", "MR", "US", "NM", "PT", "MG", "RF", "XA"}

// Modalities lists the DICOM modality codes the engine records.
func Modalities() []string { return slices.Clone(modalities) }

// ValidModality reports whether m is one of them.
func ValidModality(m string) bool { return slices.Contains(modalities, m) }

// MaxUIDLen is the longest DICOM UID (PS3.5 section 9.1).
const MaxUIDLen = 64

// CheckUID says why s is not a DICOM UID, or returns nil. DICOM PS3.5
// section 9.1: a UID is numeric components separated by periods, at most 64
// characters, and a component of more than one digit does not start with 0.
// A UID is an ISO object identifier, so its first component is 0, 1 or 2
// (ITU-T X.660).
func CheckUID(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: a UID is required", ErrInvalidArgument)
	case len(s) > MaxUIDLen:
		return fmt.Errorf("%w: UID %q is longer than %d characters", ErrInvalidArgument, s, MaxUIDLen)
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return fmt.Errorf("%w: UID %q has fewer than two components", ErrInvalidArgument, s)
	}
	for i, p := range parts {
		switch {
		case p == "":
			return fmt.Errorf("%w: UID %q has an empty component", ErrInvalidArgument, s)
		case strings.Trim(p, "0123456789") != "":
			return fmt.Errorf("%w: UID %q holds something other than digits and periods", ErrInvalidArgument, s)
		case len(p) > 1 && p[0] == '0':
			return fmt.Errorf("%w: UID %q has a component with a leading zero (%s)", ErrInvalidArgument, s, p)
		case i == 0 && p != "0" && p != "1" && p != "2":
			return fmt.Errorf("%w: UID %q must start with 0, 1 or 2 (an ISO object identifier)", ErrInvalidArgument, s)
		}
	}
	return nil
}

// ValidUID reports whether s is a DICOM UID.
func ValidUID(s string) bool { return CheckUID(s) == nil }

// NewImagingStudy checks a study as the modality or the archive reports it,
// naming every invalid field at once, and counts its series and instances.
// A new study is registered or available; an available study has at least
// one instance.
func NewImagingStudy(s ImagingStudy) (ImagingStudy, error) {
	var v domain.ValidationError
	if s.ID == uuid.Nil {
		v.Add("id", "required")
	}
	if s.PatientID == uuid.Nil {
		v.Add("patientId", "required")
	}
	if s.ReportID == uuid.Nil {
		v.Add("reportId", "required")
	}
	if strings.TrimSpace(s.ProcedureCode) == "" {
		v.Add("procedureCode", "required")
	}
	if err := CheckUID(s.StudyUID); err != nil {
		v.Add("studyUid", strings.TrimPrefix(err.Error(), ErrInvalidArgument.Error()+": "))
	}
	if len(s.Modalities) == 0 {
		v.Add("modalities", "at least one modality is required")
	}
	for i, m := range s.Modalities {
		if !ValidModality(m) {
			v.Add("modalities["+strconv.Itoa(i)+"]", strconv.Quote(m)+" is not one of "+strings.Join(modalities, ", "))
		}
	}
	if s.BodySite != nil && !ValidSCTID(s.BodySite.Code) {
		v.Add("bodySite", "must be a SNOMED CT body structure code")
	}
	checkSeries(s, &v)
	if s.Series != nil {
		s.NumberOfSeries, s.NumberOfInstances = len(s.Series), 0
		for _, se := range s.Series {
			s.NumberOfInstances += se.Instances
		}
	}
	if s.NumberOfSeries < 0 || s.NumberOfInstances < 0 {
		v.Add("numberOfInstances", "counts must not be negative")
	}
	switch s.Status {
	case StudyRegistered:
	case StudyAvailable:
		if s.NumberOfInstances < 1 {
			v.Add("status", "an available study has at least one instance")
		}
	default:
		v.Add("status", "a new study is registered or available")
	}
	if err := v.OrNil(); err != nil {
		return ImagingStudy{}, err
	}
	s.Modalities = slices.Clone(s.Modalities)
	s.Series = slices.Clone(s.Series)
	return s, nil
}

// checkSeries checks each series: a UID of its own, a modality of the
// study, and no negative instance count.
func checkSeries(s ImagingStudy, v *domain.ValidationError) {
	seen := map[string]bool{s.StudyUID: true}
	for i, se := range s.Series {
		field := "series[" + strconv.Itoa(i) + "]"
		switch err := CheckUID(se.UID); {
		case err != nil:
			v.Add(field+".uid", strings.TrimPrefix(err.Error(), ErrInvalidArgument.Error()+": "))
		case seen[se.UID]:
			v.Add(field+".uid", se.UID+" is the UID of the study or of another series")
		}
		seen[se.UID] = true
		if !slices.Contains(s.Modalities, se.Modality) {
			v.Add(field+".modality", strconv.Quote(se.Modality)+" is not one of the study's modalities")
		}
		if se.Instances < 0 || se.Number < 0 {
			v.Add(field+".instances", "must not be negative")
		}
		if se.BodySite != nil && !ValidSCTID(se.BodySite.Code) {
			v.Add(field+".bodySite", "must be a SNOMED CT body structure code")
		}
	}
}

// Update is the study's next state as the modality or archive reports it:
// the same study (id, patient, report, procedure and study UID unchanged)
// with more series, another count or another status. A registered study
// becomes available, cancelled or entered in error; an available one
// entered in error; cancelled and entered-in-error are final.
func (s ImagingStudy) Update(next ImagingStudy) (ImagingStudy, error) {
	switch {
	case next.ID != s.ID || next.PatientID != s.PatientID || next.ReportID != s.ReportID ||
		next.ProcedureCode != s.ProcedureCode || next.StudyUID != s.StudyUID:
		return s, fmt.Errorf("%w: a study keeps its id, patient, report, procedure and study UID", ErrInvalidArgument)
	case s.Status == StudyCancelled || s.Status == StudyEnteredInError:
		return s, fmt.Errorf("%w: the study is %s", ErrInvalidTransition, s.Status)
	case s.Status == StudyAvailable && next.Status != StudyAvailable && next.Status != StudyEnteredInError:
		return s, fmt.Errorf("%w: an available study is only entered in error", ErrInvalidTransition)
	}
	status := next.Status
	if status == StudyCancelled || status == StudyEnteredInError {
		next.Status = StudyRegistered // checked without the instances an available study needs, then closed
	}
	checked, err := NewImagingStudy(next)
	if err != nil {
		return s, err
	}
	checked.Status = status
	return checked, nil
}

// study finds a linked study by id.
func (r Report) study(id uuid.UUID) int {
	return slices.IndexFunc(r.Studies, func(s ImagingStudy) bool { return s.ID == id })
}

// studyAvailable reports whether an available study performs the procedure.
func (r Report) studyAvailable(procedure string) bool {
	return slices.ContainsFunc(r.Studies, func(s ImagingStudy) bool {
		return s.ProcedureCode == procedure && s.Status == StudyAvailable
	})
}

// CanLinkStudy reports why the study may not be linked to the report (or
// replace its linked version), or nil: the report is an unverified imaging
// report, the study is the patient's, made for this report, for an ordered
// procedure and with one of its modalities.
func (r Report) CanLinkStudy(s ImagingStudy) error {
	switch {
	case !r.Order.Imaging():
		return fmt.Errorf("%w: a laboratory report has no imaging studies", ErrInvalidTransition)
	case r.Status.Closed() || r.Status.Verified():
		return fmt.Errorf("%w: studies are linked before verification; the report is %s", ErrInvalidTransition, r.Status)
	case s.PatientID != r.Order.PatientID:
		return fmt.Errorf("%w: study %s is of another patient", ErrInvalidArgument, s.StudyUID)
	case s.ReportID != r.Order.ID:
		return fmt.Errorf("%w: study %s was made for another order", ErrInvalidArgument, s.StudyUID)
	}
	p, ok := r.Order.Procedure(s.ProcedureCode)
	if !ok {
		return fmt.Errorf("%w: %s is not an ordered procedure", ErrInvalidArgument, s.ProcedureCode)
	}
	if !slices.ContainsFunc(s.Modalities, func(m string) bool { return slices.Contains(p.Modalities, m) }) {
		return fmt.Errorf("%w: %s is performed with %s, not %s", ErrInvalidArgument, p.Display,
			strings.Join(p.Modalities, " or "), strings.Join(s.Modalities, ", "))
	}
	if i := r.study(s.ID); i >= 0 {
		_, err := r.Studies[i].Update(s)
		return wrapValidation(err)
	}
	if len(r.Studies) >= MaxStudies {
		return fmt.Errorf("%w: the report has %d studies", ErrInvalidTransition, MaxStudies)
	}
	_, err := NewImagingStudy(s)
	return wrapValidation(err)
}

// wrapValidation makes a validation error an ErrInvalidArgument refusal too.
func wrapValidation(err error) error {
	var v *domain.ValidationError
	if errors.As(err, &v) {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return err
}

// LinkStudy links a study to the report, or replaces the linked study with
// its newer state. An available study results its procedure.
func (r Report) LinkStudy(s ImagingStudy, at time.Time) (Report, error) {
	if err := r.CanLinkStudy(s); err != nil {
		return r, err
	}
	next := r.clone()
	var st ImagingStudy
	if i := r.study(s.ID); i >= 0 {
		st, _ = r.Studies[i].Update(s)
		next.Studies[i] = st
	} else {
		st, _ = NewImagingStudy(s)
		next.Studies = append(next.Studies, st)
	}
	note := fmt.Sprintf("%s study %s %s (%d series, %d instances)", st.ProcedureCode, st.StudyUID, st.Status, st.NumberOfSeries, st.NumberOfInstances)
	return next.settle(at).add(EventStudyLinked, at, uuid.Nil, note), nil
}
