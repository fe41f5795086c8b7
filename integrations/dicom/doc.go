// Package dicom reads the header of a DICOM Part 10 file (PS3.10): the
// file meta information and the data set up to the pixel data, with the
// standard library and golang.org/x/text only. STOW-RS ingestion reads each
// instance with it, and a QIDO-RS index is built from what it returns.
//
// # What it reads
//
// Read streams: the 128-byte preamble and "DICM", the file meta information
// group (0002,xxxx) in explicit VR little endian, bounded by its group
// length, then the data set in the transfer syntax (0002,0010) names:
//
//   - implicit VR little endian (1.2.840.10008.1.2), using a dictionary of
//     the attributes an archive reads; other elements come back as UN;
//   - explicit VR little endian (1.2.840.10008.1.2.1);
//   - deflated explicit VR little endian (1.2.840.10008.1.2.1.99);
//   - explicit VR big endian (1.2.840.10008.1.2.2, retired);
//   - every other standard transfer syntax (JPEG, JPEG-LS, JPEG 2000, RLE,
//     MPEG, HTJ2K …), whose data set is explicit VR little endian and whose
//     pixel data is encapsulated in items. Private transfer syntaxes are
//     refused.
//
// With Options.AllowMissingPreamble it also reads a bare data set (no
// preamble, no "DICM") in implicit or explicit VR little endian.
//
// Sequences are read into their items, whether their lengths and their
// items' lengths are defined or not, nested up to MaxDepth; an
// undefined-length UN is read as the implicit VR sequence it is (CP-246).
//
// # What it keeps
//
// Pixel data is never held in memory. By default Read stops at the
// top-level pixel data (7FE0,0010) and reports its offset and length; with
// SkipPixelData it reads past it (counting an encapsulated value's
// fragments) to the end of the input. Every other value is kept up to
// Options.MaxValueLength (a longer opaque value, OB or OW and the like, is
// skipped; a longer string is refused), and all kept values together up to
// Options.MaxHeaderSize. A length that runs past its item, its sequence or
// the input is refused; Read allocates as bytes arrive, never on a length's
// word. Every refusal is a *FormatError with the offset, the tag and one of
// the Err… reasons.
//
// File has the meta information and the attributes the engine indexes,
// typed (PersonName, Date, TimeOfDay, int), plus DataSet: every top-level
// element with its VR, its raw bytes and its decoded values.
//
// # Character sets
//
// Specific Character Set (0008,0005) is honoured for SH, LO, ST, LT, PN, UC
// and UT, per data set and per item; values are decoded to UTF-8 and split
// on backslash (after decoding, so a two-byte character is never split),
// and PN values into groups and components. Supported:
//
//   - the default repertoire, when (0008,0005) is absent (bytes outside
//     ASCII are read as ISO 8859-1, which is what devices that leave it out
//     mean);
//   - ISO_IR 100, 101, 109, 110, 144, 127, 126, 138, 148, 203 (ISO 8859-1,
//     -2, -3, -4, -5, -6, -7, -8, -9, -15), ISO_IR 166 (TIS 620) and
//     ISO_IR 13 (JIS X 0201);
//   - ISO_IR 192 (UTF-8), GB18030 and GBK;
//   - ISO 2022 code extensions (PS3.5 §6.1.2.5): the single-byte sets above
//     as "ISO 2022 IR nnn", with the two-byte ISO 2022 IR 87 and 159
//     (JIS X 0208 and 0212, Japanese), 149 (KS X 1001, Korean) and 58
//     (GB 2312, Chinese), switched by escape sequences and reset at each
//     delimiter, as the standard's examples are encoded.
//
// Any other term is refused with ErrUnsupportedCharacterSet. Bytes that are
// not valid in the character set decode as U+FFFD.
package dicom
