// Package dicom is the engine's index of the DICOM instances it received:
// what STOW-RS stores, QIDO-RS searches and WADO-RS returns. It holds the
// indexed attributes and where the file lies, never the file's bytes.
package dicom

import (
	"path"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// MaxUIDLength is the longest UID DICOM allows (PS3.5 §9.1).
const MaxUIDLength = 64

// MaxAttributeLength caps each value kept in Instance.Attributes; a longer
// value is left out of them.
const MaxAttributeLength = 256

// uidPattern is a UID: components of digits separated by dots (PS3.5 §9.1).
var uidPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)

// ValidUID reports whether s is a UID.
func ValidUID(s string) bool { return len(s) <= MaxUIDLength && uidPattern.MatchString(s) }

// Instance is one stored SOP instance: its identity, the attributes the
// index searches, and the file.
type Instance struct {
	SOPInstanceUID    string
	SOPClassUID       string
	StudyInstanceUID  string
	SeriesInstanceUID string
	// PatientID is our patient, when the file's Patient ID is a registered
	// patient's MRN; nil when the instance is not linked to one.
	PatientID *uuid.UUID
	// DICOMPatientID and Issuer are the Patient ID (0010,0020) and Issuer
	// of Patient ID (0010,0021) as sent.
	DICOMPatientID string
	Issuer         string
	// PatientName is the Patient's Name in PN form ("Family^Given"), UTF-8.
	PatientName     string
	AccessionNumber string
	Modality        string
	// StudyDate is the Study Date at midnight UTC; zero when absent.
	StudyDate time.Time
	// StudyTime is the Study Time (TM) as sent.
	StudyTime         string
	StudyDescription  string
	SeriesNumber      *int
	SeriesDescription string
	InstanceNumber    *int
	TransferSyntaxUID string
	// Size and SHA256 are the file's length in bytes and digest.
	Size   int64
	SHA256 []byte
	// Path is where the file lies, relative to the storage root.
	Path       string
	ReceivedAt time.Time
	// Attributes are the header's top-level string elements by tag
	// ("00080060"), each at most MaxAttributeLength bytes.
	Attributes map[string]string
}

// Validate reports every field no index can hold, named by DICOM keyword
// (SOPInstanceUID, StudyInstanceUID …) or by the file's own fields (size,
// sha256, path).
func (in Instance) Validate() error {
	var v domain.ValidationError
	uid := func(name, value string, required bool) {
		switch {
		case value == "" && required:
			v.Add(name, "is missing")
		case value != "" && !ValidUID(value):
			v.Add(name, "is not a UID (digits and dots, at most 64 characters)")
		}
	}
	uid("SOPInstanceUID", in.SOPInstanceUID, true)
	uid("SOPClassUID", in.SOPClassUID, false)
	uid("StudyInstanceUID", in.StudyInstanceUID, true)
	uid("SeriesInstanceUID", in.SeriesInstanceUID, true)
	uid("TransferSyntaxUID", in.TransferSyntaxUID, true)
	for name, value := range map[string]string{
		"PatientID": in.DICOMPatientID, "IssuerOfPatientID": in.Issuer, "PatientName": in.PatientName,
		"AccessionNumber": in.AccessionNumber, "Modality": in.Modality, "StudyTime": in.StudyTime,
		"StudyDescription": in.StudyDescription, "SeriesDescription": in.SeriesDescription,
	} {
		if !utf8.ValidString(value) || strings.ContainsRune(value, 0) {
			v.Add(name, "is not UTF-8 text")
		} else if len(value) > 1024 {
			v.Add(name, "is longer than 1024 bytes")
		}
	}
	if in.Size <= 0 {
		v.Add("size", "must be positive")
	}
	if len(in.SHA256) != 32 {
		v.Add("sha256", "must be a SHA-256 digest (32 bytes)")
	}
	if in.Path == "" || path.IsAbs(in.Path) || path.Clean(in.Path) != in.Path || strings.HasPrefix(in.Path, "..") {
		v.Add("path", "must be a clean path relative to the storage root")
	}
	if in.ReceivedAt.IsZero() {
		v.Add("receivedAt", "is missing")
	}
	return v.OrNil()
}

// StudySummary is one study as QIDO-RS lists it: its study-level
// attributes, as its instances carry them, and what it holds.
type StudySummary struct {
	StudyInstanceUID string
	StudyDate        time.Time // zero when no instance names one
	StudyTime        string
	AccessionNumber  string
	StudyDescription string
	DICOMPatientID   string
	PatientName      string
	// PatientID is our patient, when any instance of the study is linked.
	PatientID *uuid.UUID
	// OrderID is the imaging order the study is linked to (StudyLink), if
	// any.
	OrderID *uuid.UUID
	// Modalities are the distinct modalities of its series, sorted.
	Modalities []string
	Series     int
	Instances  int
}
