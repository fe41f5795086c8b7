package fhir

// Bundle is a FHIR R4 Bundle; the API answers searches with a searchset.
type Bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	// Total is set only when it is known: a search whose one page holds
	// every match.
	Total *int          `json:"total,omitempty"`
	Link  []BundleLink  `json:"link,omitempty"`
	Entry []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is a link of a Bundle: self, or next to the following page.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one resource of a Bundle.
type BundleEntry struct {
	FullURL  string             `json:"fullUrl,omitempty"`
	Resource any                `json:"resource"`
	Search   *BundleEntrySearch `json:"search,omitempty"`
	// Request and Response say, in a history, what made the version.
	Request  *BundleEntryRequest  `json:"request,omitempty"`
	Response *BundleEntryResponse `json:"response,omitempty"`
}

// BundleEntryRequest is the interaction that made a version of a history.
type BundleEntryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// BundleEntryResponse is the outcome of that interaction.
type BundleEntryResponse struct {
	Status       string `json:"status"`
	Etag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

// BundleEntrySearch says why an entry is in a searchset.
type BundleEntrySearch struct {
	Mode string `json:"mode"`
}

// Resource is what a searchset entry holds: a resource and its id.
type Resource interface {
	// Ref is the resource's relative reference, Type/id.
	Ref() string
}

// Ref is Patient/id.
func (p Patient) Ref() string { return "Patient/" + p.ID }

// Ref is Observation/id.
func (o Observation) Ref() string { return "Observation/" + o.ID }

// Ref is Encounter/id.
func (e Encounter) Ref() string { return "Encounter/" + e.ID }

// Ref is AllergyIntolerance/id.
func (a AllergyIntolerance) Ref() string { return "AllergyIntolerance/" + a.ID }

// SearchSet is the searchset of matches found at base (the FHIR base URL,
// with no trailing slash): self is the search as served, next (when not
// empty) the search of the following page. complete says the matches are
// every match, so the total is known.
func SearchSet[R Resource](base, self, next string, matches []R, complete bool) Bundle {
	b := Bundle{ResourceType: "Bundle", Type: "searchset", Link: []BundleLink{{Relation: "self", URL: self}},
		Entry: make([]BundleEntry, 0, len(matches))}
	if next != "" {
		b.Link = append(b.Link, BundleLink{Relation: "next", URL: next})
	}
	for _, m := range matches {
		b.Entry = append(b.Entry, BundleEntry{FullURL: base + "/" + m.Ref(), Resource: m,
			Search: &BundleEntrySearch{Mode: "match"}})
	}
	if complete {
		n := len(matches)
		b.Total = &n
	}
	return b
}
