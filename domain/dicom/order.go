package dicom

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

// MaxAccessionLength is the longest Accession Number (0008,0050), an SH
// value (PS3.5 §6.2).
const MaxAccessionLength = 16

// OrderAccession is the Accession Number that names an imaging order
// placed here: the first 16 hexadecimal digits of its id, hyphens left out
// (order 0193c0de-0000-7000-8000-… is 0193c0de00007000). The id itself is
// 36 characters and the attribute holds 16. A UUIDv7's first 64 bits are
// its creation time to the millisecond with a sub-millisecond sequence, so
// two orders share them only when two servers place them in the same
// instant; a lookup that finds both reports them as ambiguous rather than
// choose. An order another system placed is also named by its placer
// order number (diagnostic.Placer), when that fits in 16 characters.
func OrderAccession(id uuid.UUID) string { return hex.EncodeToString(id[:8]) }

// OrderIDRange is the range, inclusive, of the order ids whose
// OrderAccession is accession (in either case); ok is false when accession
// is not 16 hexadecimal digits.
func OrderIDRange(accession string) (from, to uuid.UUID, ok bool) {
	if len(accession) != MaxAccessionLength {
		return uuid.Nil, uuid.Nil, false
	}
	prefix, err := hex.DecodeString(accession)
	if err != nil {
		return uuid.Nil, uuid.Nil, false
	}
	copy(from[:], prefix)
	copy(to[:], prefix)
	for i := len(prefix); i < len(to); i++ {
		to[i] = 0xff
	}
	return from, to, true
}

// SeriesSummary is one series of a stored study, as the index counts it.
type SeriesSummary struct {
	SeriesInstanceUID string
	// Number is the lowest Series Number its instances carry, if any.
	Number    *int
	Modality  string
	Instances int
}

// StudyLink is a stored study linked to the imaging order its Accession
// Number named, by the practitioner the STOW-RS request acted for.
type StudyLink struct {
	StudyInstanceUID string
	OrderID          uuid.UUID
	AccessionNumber  string
	By               uuid.UUID
	At               time.Time
}

// Validate reports every field no index can hold.
func (l StudyLink) Validate() error {
	var v domain.ValidationError
	if !ValidUID(l.StudyInstanceUID) {
		v.Add("StudyInstanceUID", "is not a UID (digits and dots, at most 64 characters)")
	}
	if l.OrderID == uuid.Nil {
		v.Add("orderId", "is missing")
	}
	if a := strings.TrimSpace(l.AccessionNumber); a == "" || len(a) > MaxAccessionLength {
		v.Add("AccessionNumber", "must be 1 to 16 characters")
	}
	if l.By == uuid.Nil {
		v.Add("by", "is missing: a person links a study")
	}
	if l.At.IsZero() {
		v.Add("at", "is missing")
	}
	return v.OrNil()
}

// Why a stored study was not linked to an order, for clients to switch on.
const (
	// NotLinkedNoAccession: the instance carries no Accession Number.
	NotLinkedNoAccession = "NO_ACCESSION_NUMBER"
	// NotLinkedNoOrder: the Accession Number names no imaging order placed
	// here.
	NotLinkedNoOrder = "NO_ORDER"
	// NotLinkedAmbiguous: it names several, none of them alone the
	// instance's patient's.
	NotLinkedAmbiguous = "AMBIGUOUS_ORDER"
	// NotLinkedPatientMismatch: the order is not the patient's the Patient
	// ID (0010,0020) names, or that Patient ID names no registered patient.
	NotLinkedPatientMismatch = "PATIENT_MISMATCH"
	// NotLinkedElsewhere: the study is linked to another order already.
	NotLinkedElsewhere = "STUDY_LINKED_TO_OTHER_ORDER"
	// NotLinkedPersonRequired: linking a study is a person's act, and the
	// request acted for nobody (X-On-Behalf-Of names the radiographer).
	NotLinkedPersonRequired = "PERSON_REQUIRED"
	// NotLinkedScopeRequired: the token may store images but not change a
	// report (system/DiagnosticReport.write).
	NotLinkedScopeRequired = "SCOPE_REQUIRED"
	// NotLinkedRefused: the report's rules refused the study (a verified or
	// cancelled report, a modality the order's procedure is not done with).
	NotLinkedRefused = "LINK_REFUSED"
	// NotLinkedUnavailable: the order's workflow could not be reached;
	// sending the instance again links it.
	NotLinkedUnavailable = "LINK_UNAVAILABLE"
)

// NotLinked is why a stored study was not linked to an order.
type NotLinked struct {
	Code   string
	Reason string
}

func (e *NotLinked) Error() string { return e.Code + ": " + e.Reason }

func notLinked(code, format string, args ...any) *NotLinked {
	return &NotLinked{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// OrderFor picks the imaging order an instance's study is linked to, among
// the orders its Accession Number named (found): the one imaging order; of
// several (two senders gave the same placer number), the one of the
// instance's patient. patient is our patient the instance's Patient ID
// matched, nil when it matched none; the order must be that patient's. A
// refusal is a *NotLinked that names no other patient's order.
func OrderFor(accession string, found []diagnostic.Report, patient *uuid.UUID) (diagnostic.Report, error) {
	if strings.TrimSpace(accession) == "" {
		return diagnostic.Report{}, notLinked(NotLinkedNoAccession, "the instance has no Accession Number (0008,0050); no order was linked")
	}
	if len(accession) > MaxAccessionLength {
		return diagnostic.Report{}, notLinked(NotLinkedNoOrder,
			"no order linked: Accession Number %q is longer than the %d characters the attribute holds", accession, MaxAccessionLength)
	}
	var imaging []diagnostic.Report
	for _, r := range found {
		if r.Order.Imaging() {
			imaging = append(imaging, r)
		}
	}
	if len(imaging) == 0 {
		return diagnostic.Report{}, notLinked(NotLinkedNoOrder,
			"no order linked: Accession Number %s names no imaging order placed here (an order's placer number, or the first 16 hexadecimal digits of its id)", accession)
	}
	if patient == nil {
		return diagnostic.Report{}, notLinked(NotLinkedPatientMismatch,
			"no order linked: Accession Number %s names an imaging order, but the Patient ID (0010,0020) is no registered patient's MRN, so the study cannot be shown to be the order's patient's", accession)
	}
	var theirs []diagnostic.Report
	for _, r := range imaging {
		if r.Order.PatientID == *patient {
			theirs = append(theirs, r)
		}
	}
	switch {
	case len(theirs) == 0:
		return diagnostic.Report{}, notLinked(NotLinkedPatientMismatch,
			"no order linked: Accession Number %s names an imaging order of another patient than the one the Patient ID (0010,0020) names", accession)
	case len(theirs) > 1:
		return diagnostic.Report{}, notLinked(NotLinkedAmbiguous,
			"no order linked: Accession Number %s names %d imaging orders of the patient; link the study by its order (POST /v1/diagnostics/orders/{id}/studies)", accession, len(theirs))
	}
	return theirs[0], nil
}

// StudyFor is the imaging study record (diagnostic.ImagingStudy) of a
// stored study for order r, with record id id: its series of the
// modalities the engine records, available, for the ordered procedure
// performed with one of them. A study with no series of a recorded
// modality, or whose modalities several ordered procedures are performed
// with, is refused with a *NotLinked.
func StudyFor(r diagnostic.Report, id uuid.UUID, studyUID string, series []SeriesSummary) (diagnostic.ImagingStudy, error) {
	st := diagnostic.ImagingStudy{ID: id, PatientID: r.Order.PatientID, ReportID: r.Order.ID, StudyUID: studyUID,
		Status: diagnostic.StudyAvailable, Series: []diagnostic.Series{}}
	var other []string
	for _, se := range series {
		if !diagnostic.ValidModality(se.Modality) {
			if !slices.Contains(other, se.Modality) {
				other = append(other, se.Modality)
			}
			continue
		}
		s := diagnostic.Series{UID: se.SeriesInstanceUID, Modality: se.Modality, Instances: se.Instances}
		if se.Number != nil && *se.Number > 0 {
			s.Number = *se.Number
		}
		st.Series = append(st.Series, s)
		if !slices.Contains(st.Modalities, se.Modality) {
			st.Modalities = append(st.Modalities, se.Modality)
		}
	}
	if len(st.Modalities) == 0 {
		return st, notLinked(NotLinkedRefused, "no order linked: the study holds no series of a modality a report records (%s), only %q",
			strings.Join(diagnostic.Modalities(), ", "), other)
	}
	var procedures []diagnostic.Item
	for _, it := range r.Order.Items {
		if it.Kind == diagnostic.KindImaging && slices.ContainsFunc(it.Modalities, func(m string) bool { return slices.Contains(st.Modalities, m) }) {
			procedures = append(procedures, it)
		}
	}
	switch len(procedures) {
	case 0:
		return st, notLinked(NotLinkedRefused, "no order linked: the order's procedures are performed with none of the study's modalities (%s)",
			strings.Join(st.Modalities, ", "))
	case 1:
		st.ProcedureCode = procedures[0].Code
	default:
		return st, notLinked(NotLinkedAmbiguous, "no order linked: %d of the order's procedures are performed with %s; link the study naming its procedure (POST /v1/diagnostics/orders/{id}/studies)",
			len(procedures), strings.Join(st.Modalities, ", "))
	}
	return st, nil
}
