package bundle

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// fastEntry reads the parts of an entry the reader needs — fullUrl,
// resource (and its resourceType), request.method and request.url — from
// raw, which the decoder has found to be valid JSON, in one pass and
// without decoding anything else. It reports false for any entry but the
// plain, complete shape (a name escaped, or named twice, or in other case;
// a value of another type or missing; text that is not valid UTF-8): the
// general path then reads it, and names what is wrong, exactly as before.
// A bundle's entries are almost all plain, and most resources are only
// skipped, so this spares the decoding of every byte three more times.
func fastEntry(raw []byte) (e rawEntry, resourceType string, ok bool) {
	var (
		seen            [3]bool // fullUrl, resource, request
		method, url     string
		haveRequestKeys [2]bool
	)
	at := skipSpace(raw, 0)
	if at == len(raw) || raw[at] != '{' {
		return rawEntry{}, "", false
	}
	_, ok = members(raw, at, func(key string, v int) (int, bool) {
		switch key {
		case "fullUrl":
			end := valueEnd(raw, v)
			if seen[0] {
				return end, false
			}
			seen[0] = true
			s, ok := plainString(raw, v, end)
			e.FullURL = s
			return end, ok
		case "resource":
			if seen[1] || raw[v] != '{' {
				return v, false
			}
			seen[1] = true
			found := false
			end, ok := members(raw, v, func(key string, v int) (int, bool) {
				end := valueEnd(raw, v)
				switch {
				case key == "resourceType":
					if found {
						return end, false
					}
					found = true
					s, ok := plainString(raw, v, end)
					resourceType = s
					return end, ok && s != ""
				case strings.EqualFold(key, "resourceType"):
					return end, false
				}
				return end, true
			})
			e.Resource = raw[v:end]
			return end, ok && found
		case "request":
			if seen[2] || raw[v] != '{' {
				return v, false
			}
			seen[2] = true
			end, ok := members(raw, v, func(key string, v int) (int, bool) {
				end := valueEnd(raw, v)
				var (
					dst *string
					i   int
				)
				switch {
				case key == "method":
					dst, i = &method, 0
				case key == "url":
					dst, i = &url, 1
				case strings.EqualFold(key, "method"), strings.EqualFold(key, "url"):
					return end, false
				default:
					return end, true
				}
				if haveRequestKeys[i] {
					return end, false
				}
				haveRequestKeys[i] = true
				s, ok := plainString(raw, v, end)
				*dst = s
				return end, ok && s != ""
			})
			return end, ok && haveRequestKeys[0] && haveRequestKeys[1]
		}
		return valueEnd(raw, v), !strings.EqualFold(key, "fullUrl") && !strings.EqualFold(key, "resource") && !strings.EqualFold(key, "request")
	})
	if !ok || !seen[1] || !seen[2] {
		return rawEntry{}, "", false
	}
	e.Request = &struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}{method, url}
	return e, resourceType, true
}

// members calls fn with each member of the object at raw[at] — its name,
// and where its value starts — until fn returns false; fn returns where
// the value ends. members returns where the object ends, and false when fn
// did, or a name holds an escape (a name read as it is written could be
// another's).
func members(raw []byte, at int, fn func(key string, v int) (int, bool)) (int, bool) {
	i := skipSpace(raw, at+1)
	if i < len(raw) && raw[i] == '}' {
		return i + 1, true
	}
	for i < len(raw) {
		end, escaped := stringEnd(raw, i)
		if escaped {
			return i, false
		}
		key := raw[i+1 : end-1]
		i = skipSpace(raw, end)
		i = skipSpace(raw, i+1) // ':'
		vend, ok := fn(string(key), i)
		if !ok {
			return i, false
		}
		i = skipSpace(raw, vend)
		if i < len(raw) && raw[i] == '}' {
			return i + 1, true
		}
		i = skipSpace(raw, i+1) // ','
	}
	return i, false
}

// plainString is the string value at raw[v:end], when it is one with
// neither escapes nor bytes that are not UTF-8 (encoding/json would turn
// those into U+FFFD).
func plainString(raw []byte, v, end int) (string, bool) {
	if raw[v] != '"' {
		return "", false
	}
	s := raw[v+1 : end-1]
	for _, c := range s {
		if c == '\\' {
			var out string
			return out, json.Unmarshal(raw[v:end], &out) == nil && utf8.ValidString(out) && !strings.ContainsRune(out, utf8.RuneError)
		}
	}
	return string(s), utf8.Valid(s)
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd is the index after the string starting at raw[i], and whether
// it holds an escape.
func stringEnd(raw []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(raw); {
		q := bytes.IndexByte(raw[j:], '"')
		if q < 0 {
			return len(raw), escaped
		}
		q += j
		k := q
		for k > j && raw[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q + 1, escaped || bytes.IndexByte(raw[j:q], '\\') >= 0
		}
		escaped, j = true, q+1
	}
	return len(raw), escaped
}

// valueEnd is the index after the value starting at raw[i].
func valueEnd(raw []byte, i int) int {
	switch raw[i] {
	case '"':
		end, _ := stringEnd(raw, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				end, _ := stringEnd(raw, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(raw)
	}
	for j := i; j < len(raw); j++ {
		switch raw[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
	}
	return len(raw)
}
