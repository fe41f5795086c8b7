package bundle

// maxJSONDepth is how deeply values may nest, as encoding/json allows.
const maxJSONDepth = 10000

// validJSON reports whether raw is one JSON value, surrounded by nothing
// but white space, as json.Valid does (strings are not checked for UTF-8,
// as json.Valid does not check them) — several times faster, by a direct
// walk rather than a state machine called per byte.
func validJSON(raw []byte) bool {
	i, ok := skipValue(raw, skipSpace(raw, 0), 0)
	return ok && skipSpace(raw, i) == len(raw)
}

// skipValue checks the value at raw[i] and returns the index after it.
func skipValue(raw []byte, i, depth int) (int, bool) {
	if i >= len(raw) || depth > maxJSONDepth {
		return i, false
	}
	switch c := raw[i]; {
	case c == '{':
		i = skipSpace(raw, i+1)
		if i < len(raw) && raw[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(raw) || raw[i] != '"' {
				return i, false
			}
			var ok bool
			if i, ok = skipString(raw, i); !ok {
				return i, false
			}
			i = skipSpace(raw, i)
			if i >= len(raw) || raw[i] != ':' {
				return i, false
			}
			if i, ok = skipValue(raw, skipSpace(raw, i+1), depth+1); !ok {
				return i, false
			}
			i = skipSpace(raw, i)
			if i >= len(raw) {
				return i, false
			}
			switch raw[i] {
			case '}':
				return i + 1, true
			case ',':
				i = skipSpace(raw, i+1)
			default:
				return i, false
			}
		}
	case c == '[':
		i = skipSpace(raw, i+1)
		if i < len(raw) && raw[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = skipValue(raw, i, depth+1); !ok {
				return i, false
			}
			i = skipSpace(raw, i)
			if i >= len(raw) {
				return i, false
			}
			switch raw[i] {
			case ']':
				return i + 1, true
			case ',':
				i = skipSpace(raw, i+1)
			default:
				return i, false
			}
		}
	case c == '"':
		return skipString(raw, i)
	case c == 't':
		return literalAt(raw, i, "true")
	case c == 'f':
		return literalAt(raw, i, "false")
	case c == 'n':
		return literalAt(raw, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(raw, i)
	}
	return i, false
}

// skipString checks the string at raw[i] (its escapes, and no control
// characters) and returns the index after it.
func skipString(raw []byte, i int) (int, bool) {
	for i++; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(raw) {
				return i, false
			}
			switch raw[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(raw) {
					return i, false
				}
				for _, h := range raw[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

// skipNumber checks the number at raw[i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(raw []byte, i int) (int, bool) {
	digits := func(i int) (int, bool) {
		start := i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		return i, i > start
	}
	if raw[i] == '-' {
		i++
	}
	if i >= len(raw) {
		return i, false
	}
	if raw[i] == '0' {
		i++
	} else {
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	if i < len(raw) && raw[i] == '.' {
		var ok bool
		if i, ok = digits(i + 1); !ok {
			return i, false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		var ok bool
		if i, ok = digits(i); !ok {
			return i, false
		}
	}
	return i, true
}

func literalAt(raw []byte, i int, lit string) (int, bool) {
	if len(raw)-i < len(lit) || string(raw[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}
