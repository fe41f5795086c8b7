package dicom

import "strings"

// PersonName is a PN value: up to three component groups, each naming the
// person in one way (PS3.5 §6.2.1).
type PersonName struct {
	Alphabetic  NameComponents // single-byte characters, e.g. romanised
	Ideographic NameComponents // e.g. kanji or hanja
	Phonetic    NameComponents // e.g. hiragana or hangul
}

// NameComponents are the five components of one component group.
type NameComponents struct {
	Family, Given, Middle, Prefix, Suffix string
}

// ParsePersonName splits a decoded PN value into groups (on "=") and
// components (on "^"), trimming the spaces around each component.
func ParsePersonName(s string) PersonName {
	groups := strings.SplitN(s, "=", 3)
	var p PersonName
	for i, g := range groups {
		c := parseNameComponents(g)
		switch i {
		case 0:
			p.Alphabetic = c
		case 1:
			p.Ideographic = c
		case 2:
			p.Phonetic = c
		}
	}
	return p
}

func parseNameComponents(g string) NameComponents {
	parts := strings.SplitN(g, "^", 5)
	var out [5]string
	for i, part := range parts {
		out[i] = strings.TrimSpace(part)
	}
	return NameComponents{Family: out[0], Given: out[1], Middle: out[2], Prefix: out[3], Suffix: out[4]}
}

// IsZero reports whether the name is empty.
func (p PersonName) IsZero() bool {
	return p.Alphabetic.IsZero() && p.Ideographic.IsZero() && p.Phonetic.IsZero()
}

// String encodes the name back into PN form, without trailing empty
// components or groups: "Rahman^Ayesha".
func (p PersonName) String() string {
	groups := []string{p.Alphabetic.String(), p.Ideographic.String(), p.Phonetic.String()}
	for len(groups) > 0 && groups[len(groups)-1] == "" {
		groups = groups[:len(groups)-1]
	}
	return strings.Join(groups, "=")
}

// IsZero reports whether every component is empty.
func (c NameComponents) IsZero() bool { return c == NameComponents{} }

// String encodes the group in PN form: "Family^Given^Middle^Prefix^Suffix",
// without trailing empty components.
func (c NameComponents) String() string {
	parts := []string{c.Family, c.Given, c.Middle, c.Prefix, c.Suffix}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "^")
}
