package patient

import (
	"errors"
	"fmt"
	"strconv"
)

// A medical record number (MRN) is a sequence number, written in decimal and
// left-padded with zeros to at least six digits, followed by one check digit
// computed with Damm's algorithm. The check digit catches every single-digit
// error and every transposition of two adjacent digits, the two mistakes
// people make most when copying or typing a number.
//
// Reference: H. Michael Damm, "Total anti-symmetrische Quasigruppen",
// doctoral dissertation, Philipps-Universität Marburg, 2004.

const (
	minMRNLength = 7
	maxMRNLength = 15
	// minSequenceDigits pads short sequence numbers so every MRN has at least
	// minMRNLength digits. Leading zeros do not change a Damm check digit.
	minSequenceDigits = minMRNLength - 1
)

// MaxMRNSequence is the largest sequence number FormatMRN accepts: its 14
// digits plus the check digit fill the 15-digit maximum MRN length.
const MaxMRNSequence int64 = 99_999_999_999_999

var (
	// ErrMRNFormat means the MRN is not 7 to 15 digits 0-9.
	ErrMRNFormat = errors.New("MRN must be 7 to 15 digits")
	// ErrMRNCheckDigit means the MRN is well formed but its last digit does not
	// match the rest, which almost always means it was mistyped.
	ErrMRNCheckDigit = errors.New("MRN check digit is wrong")

	errCheckDigitInput = errors.New("check digit input must be one or more digits 0-9")
)

// dammTable is the standard weakly totally anti-symmetric quasigroup of order
// 10 from Damm's dissertation (the one published with the algorithm): every
// row and column is a permutation of 0-9, the diagonal is all zeros, and
// (c*x)*y == (c*y)*x only when x == y. Row is the interim digit, column the
// next input digit.
var dammTable = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// dammInterim runs digits through the quasigroup and returns the final
// interim digit; ok is false if digits holds anything but 0-9.
func dammInterim(digits string) (interim byte, ok bool) {
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		interim = dammTable[interim][c-'0']
	}
	return interim, true
}

// CheckDigit returns the Damm check digit of digits as an ASCII character
// ('0'-'9'). digits must be one or more characters 0-9.
func CheckDigit(digits string) (byte, error) {
	if digits == "" {
		return 0, errCheckDigitInput
	}
	interim, ok := dammInterim(digits)
	if !ok {
		return 0, errCheckDigitInput
	}
	// Because the diagonal is zero, appending the interim digit brings the
	// interim back to 0, which is what ValidateMRN checks for.
	return '0' + interim, nil
}

// FormatMRN turns a sequence number into an MRN: the number in decimal,
// zero-padded to six digits, then its check digit; FormatMRN(572) is "0005724".
// seq must be between 1 and MaxMRNSequence; stores call it with a value from
// their own sequence, so a value outside that range is a programming error and
// FormatMRN panics.
func FormatMRN(seq int64) string {
	if seq < 1 || seq > MaxMRNSequence {
		panic(fmt.Sprintf("patient.FormatMRN: sequence %d outside 1..%d", seq, MaxMRNSequence))
	}
	digits := strconv.FormatInt(seq, 10)
	for len(digits) < minSequenceDigits {
		digits = "0" + digits
	}
	check, _ := CheckDigit(digits) // digits is non-empty and all 0-9
	return digits + string(check)
}

// ValidateMRN returns nil for a well-formed MRN, ErrMRNFormat when s is not
// 7 to 15 digits 0-9, and ErrMRNCheckDigit when the check digit does not match.
func ValidateMRN(s string) error {
	if len(s) < minMRNLength || len(s) > maxMRNLength {
		return ErrMRNFormat
	}
	interim, ok := dammInterim(s)
	if !ok {
		return ErrMRNFormat
	}
	if interim != 0 {
		return ErrMRNCheckDigit
	}
	return nil
}

// mrnMessage turns a ValidateMRN error into a message for the person who
// typed the MRN.
func mrnMessage(err error) string {
	if errors.Is(err, ErrMRNCheckDigit) {
		return "check digit is wrong — the MRN was probably mistyped"
	}
	return "must be 7 to 15 digits"
}
