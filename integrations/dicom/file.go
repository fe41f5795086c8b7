package dicom

import "errors"

// File is what Read found in a DICOM file: its file meta information, the
// top-level data set, where the pixel data is, and the attributes a
// clinical archive indexes, typed.
//
// A typed field is zero when its attribute is absent, empty, or could not
// be read as its type; the last case is listed in Problems. Element tells
// absent from empty.
type File struct {
	Meta Meta
	// TransferSyntax is how the data set was read: the one Meta names, or,
	// for a bare data set, the one Read recognised.
	TransferSyntax TransferSyntax
	// DataSet is every top-level element read, in order. Sequences hold
	// their items; pixel data is there without its value.
	DataSet DataSet
	// PixelData is nil unless Read reached a top-level pixel data element.
	PixelData *PixelData

	SpecificCharacterSet   []string
	PatientID              string
	IssuerOfPatientID      string
	PatientName            PersonName
	PatientBirthDate       Date
	PatientSex             string
	StudyInstanceUID       string
	StudyID                string
	StudyDate              Date
	StudyTime              TimeOfDay
	AccessionNumber        string
	StudyDescription       string
	ReferringPhysicianName PersonName
	ModalitiesInStudy      []string
	Modality               string
	SeriesInstanceUID      string
	SeriesNumber           int
	SeriesDescription      string
	BodyPartExamined       string
	SOPClassUID            string
	SOPInstanceUID         string
	InstanceNumber         int
	NumberOfFrames         int
	Rows                   int
	Columns                int

	// Problems are the attributes above whose values could not be read as
	// their types.
	Problems []*ValueError
}

// Element finds a top-level element of the data set.
func (f *File) Element(t Tag) (*Element, bool) { return f.DataSet.Element(t) }

// Meta is the file meta information group (0002,xxxx).
type Meta struct {
	MediaStorageSOPClassUID      string
	MediaStorageSOPInstanceUID   string
	TransferSyntaxUID            string
	ImplementationClassUID       string
	ImplementationVersionName    string
	SourceApplicationEntityTitle string
	// Elements are all the group's elements, (0002,0000) included.
	Elements DataSet
	// End is the offset of the first byte after the group: where the data
	// set starts.
	End int64
}

// PixelData says where the top-level pixel data is.
type PixelData struct {
	// Tag is (7FE0,0010), or the float (7FE0,0008) or double float
	// (7FE0,0009) pixel data.
	Tag Tag
	VR  VR
	// Offset is the byte offset of the value's first byte.
	Offset int64
	// Length is the value's length in bytes. For an encapsulated value it
	// counts every item and the final delimiter, and is known only once
	// read past (Options.PixelData SkipPixelData); until then it is -1.
	Length int64
	// Encapsulated is true when the value is a sequence of fragments.
	Encapsulated bool
	// Fragments are the items of an encapsulated value read past: the
	// Basic Offset Table first, then the fragments.
	Fragments []Fragment
	// Complete is true when Read went past the whole value.
	Complete bool
}

// fill sets the typed fields from the top-level data set.
func (f *File) fill() {
	str := func(t Tag) string {
		if e, ok := f.DataSet.Element(t); ok {
			return e.FirstString()
		}
		return ""
	}
	name := func(t Tag) PersonName {
		if e, ok := f.DataSet.Element(t); ok {
			if names := e.PersonNames(); len(names) > 0 {
				return names[0]
			}
		}
		return PersonName{}
	}
	date := func(t Tag) Date {
		e, ok := f.DataSet.Element(t)
		if !ok {
			return Date{}
		}
		v := e.FirstString()
		d, err := ParseDate(v)
		if err != nil {
			f.Problems = append(f.Problems, &ValueError{Tag: t, VR: e.VR, Value: v, Err: err})
		}
		return d
	}
	integer := func(t Tag) int {
		e, ok := f.DataSet.Element(t)
		if !ok {
			return 0
		}
		ints, err := e.Ints()
		if err != nil {
			var ve *ValueError
			if errors.As(err, &ve) {
				f.Problems = append(f.Problems, ve)
			}
			return 0
		}
		if len(ints) == 0 || ints[0] < -1<<31 || ints[0] > 1<<31-1 {
			return 0
		}
		return int(ints[0])
	}

	if e, ok := f.DataSet.Element(TagSpecificCharacterSet); ok {
		f.SpecificCharacterSet = e.Strings()
	}
	f.PatientID = str(TagPatientID)
	f.IssuerOfPatientID = str(TagIssuerOfPatientID)
	f.PatientName = name(TagPatientName)
	f.PatientBirthDate = date(TagPatientBirthDate)
	f.PatientSex = str(TagPatientSex)
	f.StudyInstanceUID = str(TagStudyInstanceUID)
	f.StudyID = str(TagStudyID)
	f.StudyDate = date(TagStudyDate)
	if e, ok := f.DataSet.Element(TagStudyTime); ok {
		v := e.FirstString()
		t, err := ParseTime(v)
		if err != nil {
			f.Problems = append(f.Problems, &ValueError{Tag: TagStudyTime, VR: e.VR, Value: v, Err: err})
		}
		f.StudyTime = t
	}
	f.AccessionNumber = str(TagAccessionNumber)
	f.StudyDescription = str(TagStudyDescription)
	f.ReferringPhysicianName = name(TagReferringPhysicianName)
	if e, ok := f.DataSet.Element(TagModalitiesInStudy); ok {
		f.ModalitiesInStudy = e.Strings()
	}
	f.Modality = str(TagModality)
	f.SeriesInstanceUID = str(TagSeriesInstanceUID)
	f.SeriesNumber = integer(TagSeriesNumber)
	f.SeriesDescription = str(TagSeriesDescription)
	f.BodyPartExamined = str(TagBodyPartExamined)
	f.SOPClassUID = str(TagSOPClassUID)
	f.SOPInstanceUID = str(TagSOPInstanceUID)
	f.InstanceNumber = integer(TagInstanceNumber)
	f.NumberOfFrames = integer(TagNumberOfFrames)
	f.Rows = integer(TagRows)
	f.Columns = integer(TagColumns)
}

// fill sets the typed fields from the group's elements.
func (m *Meta) fill() {
	str := func(t Tag) string {
		if e, ok := m.Elements.Element(t); ok {
			return e.FirstString()
		}
		return ""
	}
	m.MediaStorageSOPClassUID = str(TagMediaStorageSOPClassUID)
	m.MediaStorageSOPInstanceUID = str(TagMediaStorageSOPInstanceUID)
	m.TransferSyntaxUID = str(TagTransferSyntaxUID)
	m.ImplementationClassUID = str(TagImplementationClassUID)
	m.ImplementationVersionName = str(TagImplementationVersionName)
	m.SourceApplicationEntityTitle = str(TagSourceApplicationEntityTitle)
}
