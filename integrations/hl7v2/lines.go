package hl7v2

import "strings"

// fieldSeparator returns the character after the first segment ID of s, 0
// if s does not begin (past blank lines) with a header segment.
func fieldSeparator(s string) byte {
	s = strings.TrimLeft(s, "\r\n \t")
	if len(s) < 4 || !isHeaderID(s[:3]) {
		return 0
	}
	return s[3]
}

// trimBOM drops a UTF-8 byte order mark, which some senders put first.
func trimBOM(s string) string { return strings.TrimPrefix(s, "\uFEFF") }

// splitLines splits s into segment lines. A carriage return ends a
// segment, as the standard says; so does a line feed, as files and many
// senders write them, except in a message that uses carriage returns, where
// a line feed that is not followed (past blank lines) by a segment ID and
// the field separator sep is data inside a field: senders put raw line feeds
// in report text. Lines that are empty or hold only spaces and tabs are
// dropped.
func splitLines(s string, sep byte) []string {
	crs, lfs := strings.Count(s, "\r"), strings.Count(s, "\n")
	lines := make([]string, 0, crs+lfs+1)
	// nextCR and nextLF are the next terminators at or after start, found
	// with IndexByte and advanced only when passed, so s is scanned once.
	nextCR, nextLF := indexAt(s, 0, '\r'), indexAt(s, 0, '\n')
	start := 0
	for start <= len(s) {
		i := min(nextCR, nextLF)
		if i == len(s) {
			appendLine(&lines, s[start:])
			break
		}
		if i == nextLF {
			nextLF = indexAt(s, i+1, '\n')
			if crs > 0 && i > start && !segmentFollows(s[i+1:], sep) {
				continue // a line feed inside a field
			}
		} else {
			nextCR = indexAt(s, i+1, '\r')
		}
		appendLine(&lines, s[start:i])
		start = i + 1
	}
	return lines
}

// indexAt returns the index of the first c in s at or after from, or len(s).
func indexAt(s string, from int, c byte) int {
	if from >= len(s) {
		return len(s)
	}
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return len(s)
}

// appendLine appends line unless it is empty or only spaces and tabs.
func appendLine(lines *[]string, line string) {
	for i := 0; i < len(line); i++ {
		if line[i] != ' ' && line[i] != '\t' {
			*lines = append(*lines, line)
			return
		}
	}
}

// segmentFollows reports whether s, past blank lines, is empty or begins
// with a segment ID followed by sep or a line end.
func segmentFollows(s string, sep byte) bool {
	s = strings.TrimLeft(s, "\r\n \t")
	if len(s) < 3 || !isSegmentID(s[:3]) {
		return s == ""
	}
	return len(s) == 3 || s[3] == sep || s[3] == '\r' || s[3] == '\n'
}

// isHeaderID reports whether id is that of a segment that declares the
// delimiters: MSH, or the batch headers FHS and BHS.
func isHeaderID(id string) bool { return id == "MSH" || id == "FHS" || id == "BHS" }

// isSegmentID reports whether id is three characters, a capital letter then
// capital letters or digits.
func isSegmentID(id string) bool {
	if len(id) != 3 || id[0] < 'A' || id[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if c := id[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isSegmentStart reports whether line begins with a segment ID followed by
// the field separator or nothing.
func isSegmentStart(line string, sep byte) bool {
	return len(line) >= 3 && isSegmentID(line[:3]) && (len(line) == 3 || line[3] == sep)
}
