package diagnostic

// ValidSCTID reports whether s is a well-formed SNOMED CT concept id, as the
// SNOMED CT Technical Implementation Guide defines it (section "SCTID
// data type"): 6 to 18 digits without a leading zero, whose last digit is a
// Verhoeff check digit and whose two digits before it, the partition
// identifier, are 00 (a concept in the international short format) or 10 (a
// concept in an extension's long format, which carries a seven-digit
// namespace before the partition, so at least 11 digits). It does not say
// the concept exists.
func ValidSCTID(s string) bool {
	n := len(s)
	if n < 6 || n > 18 || s[0] == '0' {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	switch s[n-3 : n-1] {
	case "00":
	case "10":
		if n < 11 {
			return false
		}
	default:
		return false
	}
	return verhoeff(s)
}

// The Verhoeff scheme's tables: multiplication in the dihedral group D5
// and the permutation applied to each position.
var (
	verhoeffD = [10][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]uint8{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// verhoeff reports whether the digits of s, check digit last, pass the
// Verhoeff check.
func verhoeff(s string) bool {
	c := uint8(0)
	for i := 0; i < len(s); i++ {
		c = verhoeffD[c][verhoeffP[i%8][s[len(s)-1-i]-'0']]
	}
	return c == 0
}
