package dicom

import "fmt"

// Tag identifies a data element: its group number in the high 16 bits and its
// element number in the low 16 bits, so (0010,0020) is Tag(0x00100020).
type Tag uint32

// NewTag builds the tag (group,element).
func NewTag(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Group is the tag's group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element is the tag's element number within its group.
func (t Tag) Element() uint16 { return uint16(t) }

// IsPrivate reports whether the tag belongs to a private group (an odd group
// number other than 0001, 0003, 0005 and 0007, which are reserved).
func (t Tag) IsPrivate() bool { return t.Group()%2 == 1 && t.Group() > 0x0007 }

// String writes the tag the way the standard does: "(0010,0020)".
func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

// The tags this package reads into File, and the structural ones it reads by.
const (
	TagFileMetaInformationGroupLength Tag = 0x00020000
	TagFileMetaInformationVersion     Tag = 0x00020001
	TagMediaStorageSOPClassUID        Tag = 0x00020002
	TagMediaStorageSOPInstanceUID     Tag = 0x00020003
	TagTransferSyntaxUID              Tag = 0x00020010
	TagImplementationClassUID         Tag = 0x00020012
	TagImplementationVersionName      Tag = 0x00020013
	TagSourceApplicationEntityTitle   Tag = 0x00020016

	TagSpecificCharacterSet   Tag = 0x00080005
	TagSOPClassUID            Tag = 0x00080016
	TagSOPInstanceUID         Tag = 0x00080018
	TagStudyDate              Tag = 0x00080020
	TagStudyTime              Tag = 0x00080030
	TagAccessionNumber        Tag = 0x00080050
	TagModality               Tag = 0x00080060
	TagModalitiesInStudy      Tag = 0x00080061
	TagReferringPhysicianName Tag = 0x00080090
	TagStudyDescription       Tag = 0x00081030
	TagSeriesDescription      Tag = 0x0008103E

	TagPatientName       Tag = 0x00100010
	TagPatientID         Tag = 0x00100020
	TagIssuerOfPatientID Tag = 0x00100021
	TagPatientBirthDate  Tag = 0x00100030
	TagPatientSex        Tag = 0x00100040

	TagBodyPartExamined Tag = 0x00180015

	TagStudyInstanceUID  Tag = 0x0020000D
	TagSeriesInstanceUID Tag = 0x0020000E
	TagStudyID           Tag = 0x00200010
	TagSeriesNumber      Tag = 0x00200011
	TagInstanceNumber    Tag = 0x00200013

	TagNumberOfFrames Tag = 0x00280008
	TagRows           Tag = 0x00280010
	TagColumns        Tag = 0x00280011

	TagFloatPixelData       Tag = 0x7FE00008
	TagDoubleFloatPixelData Tag = 0x7FE00009
	TagPixelData            Tag = 0x7FE00010

	TagItem                     Tag = 0xFFFEE000
	TagItemDelimitationItem     Tag = 0xFFFEE00D
	TagSequenceDelimitationItem Tag = 0xFFFEE0DD
)

// isPixelData reports whether t is one of the three pixel data elements,
// whose values this package never keeps.
func isPixelData(t Tag) bool {
	return t == TagPixelData || t == TagFloatPixelData || t == TagDoubleFloatPixelData
}
