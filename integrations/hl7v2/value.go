package hl7v2

import "strings"

// piece returns the i-th (1-based) part of s split at sep, or "" when s has
// fewer parts. A zero sep splits nothing.
func piece(s string, sep byte, i int) string {
	if i < 1 {
		return ""
	}
	if sep == 0 {
		if i == 1 {
			return s
		}
		return ""
	}
	for ; i > 1; i-- {
		k := strings.IndexByte(s, sep)
		if k < 0 {
			return ""
		}
		s = s[k+1:]
	}
	if k := strings.IndexByte(s, sep); k >= 0 {
		return s[:k]
	}
	return s
}

// split splits s at sep, returning no parts for an empty s; a zero sep
// splits nothing.
func split(s string, sep byte) []string {
	if s == "" {
		return nil
	}
	if sep == 0 {
		return []string{s}
	}
	return strings.Split(s, string(rune(sep)))
}

// pieces counts the parts of s split at sep: 0 for an empty s.
func pieces(s string, sep byte) int {
	switch {
	case s == "":
		return 0
	case sep == 0:
		return 1
	}
	return strings.Count(s, string(rune(sep))) + 1
}

// Field is one field of a segment with all its repetitions. The zero Field
// is an empty one, which is what asking for a field a segment does not have
// returns. Field, Repetition, Component and SubComponent are small values
// that point into the parsed message; splitting happens when they are asked.
type Field struct {
	raw string
	c   *codec
}

// Raw returns the field as received, still escaped, repetitions and all
// (converted to UTF-8 when the message is in Latin-1).
func (f Field) Raw() string { return f.raw }

// IsEmpty reports whether the field has no value.
func (f Field) IsEmpty() bool { return f.raw == "" }

// IsNull reports whether the field is HL7's explicit null, "" (two double
// quotes), which tells the receiver to delete the value it holds.
func (f Field) IsNull() bool { return f.raw == `""` }

// NumReps returns the number of repetitions, 0 for an empty field.
func (f Field) NumReps() int { return pieces(f.raw, f.c.delims().Repetition) }

// Rep returns the i-th repetition, 1-based. Each call scans the field from
// its start: to visit every repetition, range over Reps.
func (f Field) Rep(i int) Repetition {
	return Repetition{raw: piece(f.raw, f.c.delims().Repetition, i), c: f.c}
}

// Reps returns all repetitions, none for an empty field.
func (f Field) Reps() []Repetition {
	parts := split(f.raw, f.c.delims().Repetition)
	out := make([]Repetition, len(parts))
	for i, p := range parts {
		out[i] = Repetition{raw: p, c: f.c}
	}
	return out
}

// Comp returns the j-th component of the first repetition.
func (f Field) Comp(j int) Component { return f.Rep(1).Comp(j) }

// Text returns the first repetition, decoded.
func (f Field) Text() string { return f.Rep(1).Text() }

// Repetition is one occurrence of a field.
type Repetition struct {
	raw string
	c   *codec
}

// Raw returns the repetition as received, still escaped.
func (r Repetition) Raw() string { return r.raw }

// NumComps returns the number of components, 0 for an empty repetition.
func (r Repetition) NumComps() int { return pieces(r.raw, r.c.delims().Component) }

// Comp returns the j-th component, 1-based. Each call scans the
// repetition from its start: to visit every component, range over Comps.
func (r Repetition) Comp(j int) Component {
	return Component{raw: piece(r.raw, r.c.delims().Component, j), c: r.c}
}

// Comps returns all components, none for an empty repetition.
func (r Repetition) Comps() []Component {
	parts := split(r.raw, r.c.delims().Component)
	out := make([]Component, len(parts))
	for i, p := range parts {
		out[i] = Component{raw: p, c: r.c}
	}
	return out
}

// Text returns the whole repetition decoded. For a composite value the
// component separators stay in it as they are: ask Comp for the parts.
func (r Repetition) Text() string { return r.c.unescape(r.raw) }

// Component is one component of a repetition.
type Component struct {
	raw string
	c   *codec
}

// Raw returns the component as received, still escaped.
func (c Component) Raw() string { return c.raw }

// NumSubs returns the number of sub-components, 0 for an empty component.
func (c Component) NumSubs() int { return pieces(c.raw, c.c.delims().SubComponent) }

// Sub returns the k-th sub-component, 1-based. Each call scans the
// component from its start: to visit every sub-component, range over Subs.
func (c Component) Sub(k int) SubComponent {
	return SubComponent{raw: piece(c.raw, c.c.delims().SubComponent, k), c: c.c}
}

// Subs returns all sub-components, none for an empty component.
func (c Component) Subs() []SubComponent {
	parts := split(c.raw, c.c.delims().SubComponent)
	out := make([]SubComponent, len(parts))
	for i, p := range parts {
		out[i] = SubComponent{raw: p, c: c.c}
	}
	return out
}

// Text returns the whole component decoded; sub-component separators stay
// in it as they are.
func (c Component) Text() string { return c.c.unescape(c.raw) }

// SubComponent is one sub-component of a component.
type SubComponent struct {
	raw string
	c   *codec
}

// Raw returns the sub-component as received, still escaped.
func (s SubComponent) Raw() string { return s.raw }

// Text returns the sub-component decoded.
func (s SubComponent) Text() string { return s.c.unescape(s.raw) }
