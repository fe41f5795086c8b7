package diagnostic

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// Addendum is text added to a verified report.
type Addendum struct {
	Text string    `json:"text"`
	By   uuid.UUID `json:"by"`
	At   time.Time `json:"at"`
}

// StudyRef names an imaging study a report version refers to.
type StudyRef struct {
	ID       uuid.UUID   `json:"id"`
	StudyUID string      `json:"studyUid"`
	Status   StudyStatus `json:"status"`
}

// Content is what a version of the report says.
type Content struct {
	Results    []Result   `json:"results"`
	Conclusion string     `json:"conclusion,omitempty"`
	Codes      []Coding   `json:"codes,omitempty"`
	Addenda    []Addendum `json:"addenda,omitempty"`
	Studies    []StudyRef `json:"studies,omitempty"`
}

// content is the report's content as it stands.
func (r Report) content() Content {
	c := Content{Results: slices.Clone(r.Results), Conclusion: r.Conclusion, Codes: slices.Clone(r.Codes), Addenda: slices.Clone(r.Addenda)}
	for _, s := range r.Studies {
		c.Studies = append(c.Studies, StudyRef{ID: s.ID, StudyUID: s.StudyUID, Status: s.Status})
	}
	return c
}

// The fields a Change names.
const (
	FieldResult     = "result"
	FieldConclusion = "conclusion"
	FieldCode       = "code"
	FieldAddendum   = "addendum"
	FieldStatus     = "status"
)

// Change is one difference between a version and the one before it: for a
// result, its code and its previous and new values ("" when added or
// removed).
type Change struct {
	Field    string `json:"field"`
	Code     string `json:"code,omitempty"`
	Previous string `json:"previous,omitempty"`
	New      string `json:"new,omitempty"`
}

// Version is the report as verified, or as a change after verification
// left it, with what that change did. Versions are never changed.
type Version struct {
	Number  int       `json:"number"` // 1 is the verified report
	Status  Status    `json:"status"`
	At      time.Time `json:"at"`
	By      uuid.UUID `json:"by"`
	Reason  string    `json:"reason,omitempty"`
	Content Content   `json:"content"`
	Changes []Change  `json:"changes,omitempty"`
}

// VersionNumber returns a version of the report; false for one it does not have.
func (r Report) VersionNumber(n int) (Version, bool) {
	if n < 1 || n > len(r.Versions) {
		return Version{}, false
	}
	return r.Versions[n-1], true
}

// Latest is the newest version; false before verification.
func (r Report) Latest() (Version, bool) { return r.VersionNumber(len(r.Versions)) }

// Diff computes what changed from one content to the next: results by
// code (added, removed, or a value or flag changed), the conclusion, coded
// conclusions added or removed, and addenda added.
func Diff(prev, next Content) []Change {
	var out []Change
	for _, n := range next.Results {
		i := slices.IndexFunc(prev.Results, func(p Result) bool { return p.Code == n.Code })
		switch {
		case i < 0:
			out = append(out, Change{Field: FieldResult, Code: n.Code, New: resultText(n)})
		case resultText(prev.Results[i]) != resultText(n):
			out = append(out, Change{Field: FieldResult, Code: n.Code, Previous: resultText(prev.Results[i]), New: resultText(n)})
		}
	}
	for _, p := range prev.Results {
		if !slices.ContainsFunc(next.Results, func(n Result) bool { return n.Code == p.Code }) {
			out = append(out, Change{Field: FieldResult, Code: p.Code, Previous: resultText(p)})
		}
	}
	if prev.Conclusion != next.Conclusion {
		out = append(out, Change{Field: FieldConclusion, Previous: prev.Conclusion, New: next.Conclusion})
	}
	for _, c := range next.Codes {
		if !slices.ContainsFunc(prev.Codes, func(p Coding) bool { return p.Code == c.Code }) {
			out = append(out, Change{Field: FieldCode, Code: c.Code, New: codingText(c)})
		}
	}
	for _, c := range prev.Codes {
		if !slices.ContainsFunc(next.Codes, func(n Coding) bool { return n.Code == c.Code }) {
			out = append(out, Change{Field: FieldCode, Code: c.Code, Previous: codingText(c)})
		}
	}
	for _, a := range next.Addenda[min(len(prev.Addenda), len(next.Addenda)):] {
		out = append(out, Change{Field: FieldAddendum, New: a.Text})
	}
	return out
}

// codingText is a coded conclusion as a change shows it: its display, or
// its code when it has none.
func codingText(c Coding) string {
	if c.Display != "" {
		return c.Display
	}
	return c.Code
}

// resultText is a result's value with its flag, as a change shows it.
func resultText(r Result) string {
	s := r.Text()
	if r.Flag != "" && r.Flag != observation.FlagNormal {
		s += " (" + string(r.Flag) + ")"
	}
	return s
}

// valueText writes an observation value as a reader sees it.
func valueText(v observation.Value) string {
	switch {
	case v.Quantity != nil:
		s := strconv.FormatFloat(v.Quantity.Value, 'f', -1, 64)
		if v.Quantity.Unit != "" {
			s += " " + v.Quantity.Unit
		}
		return s
	case v.Coding != nil:
		if v.Coding.Display != "" {
			return v.Coding.Display
		}
		return v.Coding.Code
	case v.Boolean != nil:
		return strconv.FormatBool(*v.Boolean)
	}
	return v.Text
}

// canChange reports why the verified report may not change, or nil.
func (r Report) canChange(by uuid.UUID, reason string) error {
	if err := requireReason(by, reason); err != nil {
		return err
	}
	switch {
	case !r.Status.Verified():
		return fmt.Errorf("%w: only a verified report is amended or corrected; this one is %s", ErrInvalidTransition, r.Status)
	case len(r.Versions) >= MaxVersions:
		return fmt.Errorf("%w: the report has %d versions; enter it in error and order again", ErrInvalidTransition, MaxVersions)
	}
	return nil
}

// Amendment changes a verified report's text: an addendum, a new conclusion,
// or the coded conclusions as they should stand. Conclusion and Codes nil
// keep what the report says; a pointer to an empty list removes every code
// (and survives a JSON round trip, as an empty slice would not).
type Amendment struct {
	By         uuid.UUID `json:"by"`
	Reason     string    `json:"reason"`
	Addendum   string    `json:"addendum,omitempty"`
	Conclusion *string   `json:"conclusion,omitempty"`
	Codes      *[]Coding `json:"codes,omitempty"`
}

// amended returns the content the amendment leaves and whether it only adds
// (an addendum or new codes, nothing changed or removed).
func (r Report) amended(a Amendment, at time.Time) (Content, bool, error) {
	c := r.content()
	var v domain.ValidationError
	addendum, why := text(a.Addendum, MaxAddendumLen, false)
	if why != "" {
		v.Add("addendum", why)
	}
	if addendum != "" {
		c.Addenda = append(c.Addenda, Addendum{Text: addendum, By: a.By, At: at})
	}
	if a.Conclusion != nil {
		conclusion, why := text(*a.Conclusion, MaxConclusionLen, r.Order.Imaging())
		if why != "" {
			v.Add("conclusion", why)
		}
		c.Conclusion = conclusion
	}
	if a.Codes != nil {
		codes, err := conclusionCodes(*a.Codes)
		if err != nil {
			v.Add("codes", strings.TrimPrefix(err.Error(), ErrInvalidArgument.Error()+": "))
		}
		c.Codes = codes
	}
	if err := v.OrNil(); err != nil {
		return Content{}, false, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	changes := Diff(r.content(), c)
	if len(changes) == 0 {
		return Content{}, false, fmt.Errorf("%w: the amendment changes nothing", ErrInvalidArgument)
	}
	adds := !slices.ContainsFunc(changes, func(ch Change) bool { return ch.Previous != "" })
	return c, adds, nil
}

// CanAmend reports why the amendment may not be made, or nil.
func (r Report) CanAmend(a Amendment) error {
	if err := r.canChange(a.By, a.Reason); err != nil {
		return err
	}
	_, _, err := r.amended(a, time.Time{})
	return err
}

// Amend makes a new version with the amendment: appended when it only adds
// (an addendum, new coded conclusions), amended when it changes or removes
// what the report said.
func (r Report) Amend(a Amendment, at time.Time) (Report, error) {
	if err := r.canChange(a.By, a.Reason); err != nil {
		return r, err
	}
	c, adds, err := r.amended(a, at)
	if err != nil {
		return r, err
	}
	status, kind := StatusAmended, EventAmended
	if adds {
		status, kind = StatusAppended, EventAppended
	}
	return r.changed(c, status, kind, a.By, a.Reason, at), nil
}

// Correction replaces results of a verified report: each observation is a
// newer version of a result's observation, or another observation of a
// result's code; an observation entered in error removes its result.
type Correction struct {
	By         uuid.UUID                 `json:"by"`
	Reason     string                    `json:"reason"`
	Results    []observation.Observation `json:"results"`
	Conclusion *string                   `json:"conclusion,omitempty"`
}

// replacement is a result a correction replaced: the observation it was,
// and what took its place (nil when withdrawn).
type replacement struct {
	old uuid.UUID
	res *Result
}

// corrected returns the content the correction leaves.
func (r Report) corrected(c Correction, at time.Time) (Content, []replacement, error) {
	content := r.content()
	var v domain.ValidationError
	if len(c.Results) == 0 {
		v.Add("results", "at least one corrected result is required")
	}
	var fresh []replacement
	for i, o := range c.Results {
		field := "results[" + strconv.Itoa(i) + "]"
		j := slices.IndexFunc(content.Results, func(res Result) bool { return res.Code == o.Code })
		switch {
		case o.PatientID != r.Order.PatientID:
			v.Add(field, "observation "+o.ID.String()+" is of another patient")
		case j < 0:
			v.Add(field, "LOINC "+o.Code+" is not a result of this report")
		case content.Results[j].ObservationID == o.ID && o.Version <= content.Results[j].ObservationVersion:
			v.Add(field, fmt.Sprintf("observation %s version %d is not newer than the report's (version %d)", o.ID, o.Version, content.Results[j].ObservationVersion))
		case o.Status == observation.StatusEnteredInError:
			fresh = append(fresh, replacement{old: content.Results[j].ObservationID})
			content.Results = slices.Delete(content.Results, j, j+1)
		case o.Value == nil:
			v.Add(field, "observation "+o.ID.String()+" has no value")
		default:
			res := resultOf(o, at)
			if resultText(res) == resultText(content.Results[j]) {
				v.Add(field, "LOINC "+o.Code+" is unchanged ("+res.Text()+"); amend the report to change its text")
				continue
			}
			fresh = append(fresh, replacement{old: content.Results[j].ObservationID, res: &res})
			content.Results[j] = res
		}
	}
	if c.Conclusion != nil {
		conclusion, why := text(*c.Conclusion, MaxConclusionLen, r.Order.Imaging())
		if why != "" {
			v.Add("conclusion", why)
		}
		content.Conclusion = conclusion
	}
	if err := v.OrNil(); err != nil {
		return Content{}, nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return content, fresh, nil
}

// CanCorrect reports why the correction may not be made, or nil.
func (r Report) CanCorrect(c Correction) error {
	if err := r.canChange(c.By, c.Reason); err != nil {
		return err
	}
	_, _, err := r.corrected(c, time.Time{})
	return err
}

// Correct makes a corrected version: the changed results (their previous and
// new values in the version's changes) and, optionally, a new conclusion.
// A corrected value that is critical is telephoned like any other.
func (r Report) Correct(c Correction, at time.Time) (Report, error) {
	if err := r.canChange(c.By, c.Reason); err != nil {
		return r, err
	}
	content, fresh, err := r.corrected(c, at)
	if err != nil {
		return r, err
	}
	next := r.changed(content, StatusCorrected, EventCorrected, c.By, c.Reason, at)
	for _, f := range fresh {
		next = next.followResult(f.old, f.res, at)
	}
	return next, nil
}

// changed makes the new version content leaves.
func (r Report) changed(c Content, status Status, kind EventKind, by uuid.UUID, reason string, at time.Time) Report {
	next := r.clone()
	reason, _ = text(reason, MaxReasonLen, true)
	changes := Diff(r.content(), c)
	next.Results, next.Conclusion, next.Codes, next.Addenda = c.Results, c.Conclusion, c.Codes, c.Addenda
	next.Status = status
	next.Versions = append(next.Versions, Version{Number: len(r.Versions) + 1, Status: status, At: at, By: by, Reason: reason,
		Content: c, Changes: changes})
	return next.add(kind, at, by, fmt.Sprintf("version %d: %s (%d change(s))", len(next.Versions), reason, len(changes)))
}
