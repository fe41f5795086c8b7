package dicom

// Options tune Read. The zero value reads the header, stops at the pixel
// data, and applies the default limits.
type Options struct {
	// PixelData says what Read does on reaching the top-level pixel data.
	PixelData PixelDataMode
	// MaxValueLength caps the length of any one value Read keeps in
	// memory (DefaultMaxValueLength when zero). A longer string or number
	// value is refused with ErrValueTooLong; a longer opaque value (OB, OW,
	// OF, OD, OL, OV, UN) is skipped and marked Element.Skipped.
	MaxValueLength int64
	// MaxHeaderSize caps the memory all kept elements may take together
	// (DefaultMaxHeaderSize when zero): their values plus a fixed cost per
	// element, item and fragment. Beyond it Read fails with
	// ErrHeaderTooLarge.
	MaxHeaderSize int64
	// AllowMissingPreamble accepts input with no preamble and no "DICM":
	// a bare data set in implicit or explicit VR little endian starting at
	// group 0008 (or a file meta group 0002). Part 10 files always have the
	// preamble, so STOW-RS leaves this off.
	AllowMissingPreamble bool
}

// PixelDataMode says what Read does with the top-level pixel data.
type PixelDataMode uint8

const (
	// StopAtPixelData reads the pixel data element's header and stops:
	// File.PixelData has its offset and, unless encapsulated, its length,
	// and nothing after it is read. The default.
	StopAtPixelData PixelDataMode = iota
	// SkipPixelData reads past the pixel data without keeping it (each
	// fragment of an encapsulated value is counted), then reads whatever
	// follows to the end of the input, so the whole file is checked and
	// File.PixelData has its length.
	SkipPixelData
)

// The default limits.
const (
	DefaultMaxValueLength = 1 << 20
	DefaultMaxHeaderSize  = 16 << 20
	// MaxDepth is how deeply sequences may nest before Read refuses the
	// data set; structured reports nest deepest, a few dozen levels.
	MaxDepth = 64
)

func (o Options) withDefaults() Options {
	if o.MaxValueLength <= 0 {
		o.MaxValueLength = DefaultMaxValueLength
	}
	if o.MaxHeaderSize <= 0 {
		o.MaxHeaderSize = DefaultMaxHeaderSize
	}
	return o
}
