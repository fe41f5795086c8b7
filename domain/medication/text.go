package medication

// foldLen is the longest text folded without allocating; longer texts are
// folded on the heap.
const foldLen = 96

// fold writes s into buf in the form names are indexed by: ASCII lower case,
// spaces trimmed and collapsed, µ and μ as u, ² as 2. It returns the folded
// bytes, which alias buf unless s is too long for it.
func fold(buf *[foldLen]byte, s string) []byte {
	out := buf[:0]
	if len(s) > foldLen {
		out = make([]byte, 0, len(s))
	}
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0xC2 && i+1 < len(s) && s[i+1] == 0xB5, c == 0xCE && i+1 < len(s) && s[i+1] == 0xBC:
			c = 'u'
			i++
		case c == 0xC2 && i+1 < len(s) && s[i+1] == 0xB2:
			c = '2'
			i++
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, c)
	}
	return out
}

// foldString is fold for texts the caller keeps, such as index keys.
func foldString(s string) string {
	var buf [foldLen]byte
	return string(fold(&buf, s))
}

// hasPrefix and hasSuffix are strings.HasPrefix and HasSuffix on bytes.
func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }
func hasSuffix(b []byte, p string) bool { return len(b) >= len(p) && string(b[len(b)-len(p):]) == p }

// number parses a non-negative decimal at the start of b, returning its
// value and length; 0, 0 when b does not start with a digit.
func number(b []byte) (float64, int) {
	v, n, frac, scale := 0.0, 0, false, 1.0
	for n < len(b) {
		c := b[n]
		switch {
		case c >= '0' && c <= '9':
			if frac {
				scale /= 10
				v += float64(c-'0') * scale
			} else {
				v = v*10 + float64(c-'0')
			}
		case c == '.' && !frac:
			frac = true
		default:
			return v, n
		}
		n++
	}
	return v, n
}
