package dicom

import "strings"

// The transfer syntaxes whose encoding differs from explicit VR little
// endian with encapsulated pixel data.
const (
	ImplicitVRLittleEndian         = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian         = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian            = "1.2.840.10008.1.2.2" // retired, still read
	JPEGBaseline8Bit               = "1.2.840.10008.1.2.4.50"
)

// standardRoot is the arc under which DICOM defines its transfer syntaxes.
const standardRoot = "1.2.840.10008.1.2."

// TransferSyntax is how a data set is encoded.
type TransferSyntax struct {
	UID string
	// ExplicitVR is false only for implicit VR little endian.
	ExplicitVR bool
	// BigEndian is true only for the retired explicit VR big endian.
	BigEndian bool
	// Deflated is true when the data set after the file meta information
	// is compressed with deflate (RFC 1951).
	Deflated bool
	// Encapsulated is true when the pixel data is compressed (JPEG, JPEG-LS,
	// JPEG 2000, RLE, MPEG …) and so stored as fragments in items.
	Encapsulated bool
}

// LookupTransferSyntax says how a data set in the transfer syntax uid is
// encoded. Every standard transfer syntax other than the four uncompressed
// ones is explicit VR little endian with encapsulated pixel data (PS3.5
// §10), so any UID under 1.2.840.10008.1.2. is known; private ones are
// refused with ErrUnsupportedTransferSyntax.
func LookupTransferSyntax(uid string) (TransferSyntax, error) {
	ts := TransferSyntax{UID: uid, ExplicitVR: true}
	switch uid {
	case ImplicitVRLittleEndian:
		ts.ExplicitVR = false
	case ExplicitVRLittleEndian:
	case DeflatedExplicitVRLittleEndian:
		ts.Deflated = true
	case ExplicitVRBigEndian:
		ts.BigEndian = true
	default:
		if !strings.HasPrefix(uid, standardRoot) || len(uid) == len(standardRoot) {
			return TransferSyntax{}, &FormatError{Err: ErrUnsupportedTransferSyntax, Detail: quoteValue(uid)}
		}
		ts.Encapsulated = true
	}
	return ts, nil
}
