package medication

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The reasons a drug cannot be resolved; a *ResolveError carries the candidates.
var (
	ErrUnknownDrug   = errors.New("the knowledge base does not know this drug")
	ErrAmbiguousDrug = errors.New("the name matches more than one drug")
)

// ResolveError says why a code or name could not be resolved, with the
// drugs it might have meant.
type ResolveError struct {
	Query      string
	Reason     error
	Candidates []Candidate
}

func (e *ResolveError) Error() string { return fmt.Sprintf("%q: %v", e.Query, e.Reason) }

// Unwrap makes errors.Is(err, ErrUnknownDrug) and ErrAmbiguousDrug hold.
func (e *ResolveError) Unwrap() error { return e.Reason }

// Candidate is a drug or product a query may have meant.
type Candidate struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Product bool   `json:"product,omitempty"`
	// Matched is the name, synonym or brand the query resembled.
	Matched string `json:"matched"`
}

// Resolution is what an order's drug resolved to.
type Resolution struct {
	// ID is the drug's or product's id.
	ID      string `json:"id"`
	Name    string `json:"name"`
	Product bool   `json:"product,omitempty"`
	// Ingredients are the ids of the drugs the order is checked as.
	Ingredients []string `json:"ingredients"`
}

// maxCandidates bounds the suggestions for an unknown or ambiguous name.
const maxCandidates = 10

// resolved is an order's drug as the checks use it.
type resolved struct {
	product int32 // -1 for a single ingredient
	n       int
	ings    [maxIngredients]int32
}

func (r *resolved) ingredients() []int32 { return r.ings[:r.n] }

// Resolve finds the drug an RxNorm code or a name, synonym or brand names.
// The code wins when the knowledge base knows it. It fails with a
// *ResolveError when the drug is unknown or the name ambiguous.
func (kb *KB) Resolve(code, name string) (Resolution, error) {
	r, err := kb.resolve(code, name, true)
	if err != nil {
		return Resolution{}, err
	}
	return kb.resolution(&r), nil
}

func (kb *KB) resolution(r *resolved) Resolution {
	out := Resolution{Ingredients: make([]string, r.n)}
	for i, d := range r.ingredients() {
		out.Ingredients[i] = kb.drugs[d].ID
	}
	if r.product >= 0 {
		p := &kb.products[r.product]
		out.ID, out.Name, out.Product = p.ID, p.Name, true
	} else {
		d := &kb.drugs[r.ings[0]]
		out.ID, out.Name = d.ID, d.Name
	}
	return out
}

// resolve is Resolve without building the exported view; it does not
// allocate when the drug is found. Candidates for an unknown name are looked
// for only when suggest is set (they cost a scan of every name).
func (kb *KB) resolve(code, name string, suggest bool) (resolved, error) {
	if code != "" {
		if c, ok := kb.codes[strings.TrimSpace(code)]; ok {
			return kb.expand(c), nil
		}
	}
	var buf [foldLen]byte
	key := fold(&buf, name)
	cs := kb.names[string(key)]
	switch {
	case len(cs) == 1:
		return kb.expand(cs[0]), nil
	case len(cs) > 1:
		return resolved{}, &ResolveError{Query: name, Reason: ErrAmbiguousDrug, Candidates: kb.candidatesOf(cs, string(key))}
	}
	q := name
	if q == "" {
		q = code
	}
	re := &ResolveError{Query: q, Reason: ErrUnknownDrug}
	if suggest {
		re.Candidates = kb.suggest(string(key))
	}
	return resolved{}, re
}

// expand turns a drug or product into the ingredients it is checked as.
func (kb *KB) expand(c concept) resolved {
	r := resolved{product: -1}
	if c.kind == conceptProduct {
		r.product = c.idx
		for _, ing := range kb.products[c.idx].Ingredients {
			r.ings[r.n] = kb.drugIdx[ing.Drug]
			r.n++
		}
		return r
	}
	r.ings[0], r.n = c.idx, 1
	return r
}

func (kb *KB) candidate(c concept, matched string) Candidate {
	if c.kind == conceptProduct {
		p := &kb.products[c.idx]
		return Candidate{ID: p.ID, Name: p.Name, Product: true, Matched: matched}
	}
	d := &kb.drugs[c.idx]
	return Candidate{ID: d.ID, Name: d.Name, Matched: matched}
}

func (kb *KB) candidatesOf(cs []concept, matched string) []Candidate {
	out := make([]Candidate, 0, len(cs))
	for _, c := range cs {
		out = append(out, kb.candidate(c, matched))
	}
	return out
}

// suggest lists the drugs whose names begin like the query or are within
// two edits of it, closest first.
func (kb *KB) suggest(q string) []Candidate {
	if len(q) < 3 {
		return nil
	}
	type near struct {
		c    concept
		key  string
		dist int
	}
	var found []near
	for _, k := range kb.keys {
		prefix := strings.HasPrefix(k, q) || (len(q) >= 5 && len(k) >= 5 && k[:4] == q[:4])
		d := editDistance(k, q, 8)
		if !prefix && (len(q) < 5 || d > 2) {
			continue
		}
		for _, c := range kb.names[k] {
			found = append(found, near{c, k, d})
		}
	}
	slices.SortStableFunc(found, func(a, b near) int { return a.dist - b.dist })
	var out []Candidate
	seen := map[concept]bool{}
	for _, n := range found {
		if !seen[n.c] && len(out) < maxCandidates {
			seen[n.c] = true
			out = append(out, kb.candidate(n.c, n.key))
		}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the Levenshtein distance of a and b, or limit once it
// reaches limit.
func editDistance(a, b string, limit int) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
