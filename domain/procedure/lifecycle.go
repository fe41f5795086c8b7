package procedure

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Times the process keeps to.
const (
	// NoShowGrace is how long after the slot's start a booked patient who
	// has not checked in becomes a no-show.
	NoShowGrace = 30 * time.Minute
	// CheckInLead is how long before the slot's start a patient may check in.
	CheckInLead = 24 * time.Hour
	// MaxReminders bounds the reminders of one procedure, and
	// MaxReminderLead how long before the start one may be sent.
	MaxReminders    = 5
	MaxReminderLead = 30 * 24 * time.Hour
)

// defaultReminders are sent when NewProcedure is given none: a day and two
// hours before the start.
func defaultReminders() []time.Duration { return []time.Duration{24 * time.Hour, 2 * time.Hour} }

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool {
	return o == OutcomeSuccessful || o == OutcomePartiallySuccessful || o == OutcomeUnsuccessful
}

// NewProcedure is a procedure as requested: the request checked (see
// CheckRequest) and its priority elective when empty, the default
// checklist, and the reminders sent before the start, longest first (a day
// and two hours before when reminders is nil; none when it is empty). Its
// first timeline entry is the request's, at its CreatedAt. A refusal wraps
// ErrInvalidArgument and a *domain.ValidationError naming every field.
func NewProcedure(req Request, reminders []time.Duration) (Procedure, error) {
	var v domain.ValidationError
	checkRequest(req, &v)
	if reminders == nil {
		reminders = defaultReminders()
	}
	leads := checkReminders(reminders, &v)
	if err := v.OrNil(); err != nil {
		return Procedure{}, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	req.Procedure.Display, _ = cleanText(req.Procedure.Display, MaxDisplayLen, true)
	req.Notes, _ = cleanText(req.Notes, MaxNotesLen, false)
	if req.Priority == "" {
		req.Priority = PriorityElective
	}
	req.Requirements = slices.Clone(req.Requirements)
	p := Procedure{Request: req, Status: StatusRequested, Reminders: leads, Checklist: DefaultChecklist(), Timeline: []Entry{}}
	note := fmt.Sprintf("%s %s (%s), %s, between %s", req.Priority, req.Procedure.Display, req.Procedure.Code,
		durationText(req.Duration), periodText(req.Window))
	return p.add(EventRequested, req.CreatedAt, req.RequesterID, note), nil
}

// checkReminders returns the reminder leads longest first, naming every
// invalid one.
func checkReminders(rs []time.Duration, v *domain.ValidationError) []time.Duration {
	if len(rs) > MaxReminders {
		v.Add("reminders", "at most "+strconv.Itoa(MaxReminders))
		return nil
	}
	for i, d := range rs {
		field := "reminders[" + strconv.Itoa(i) + "]"
		switch {
		case d < time.Minute || d > MaxReminderLead:
			v.Add(field, "must be from a minute to 30 days before the start")
		case slices.Contains(rs[:i], d):
			v.Add(field, "is given twice")
		}
	}
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b time.Duration) int { return cmp.Compare(b, a) })
	return out
}

// Last is the newest timeline entry.
func (p Procedure) Last() Entry {
	if len(p.Timeline) == 0 {
		return Entry{}
	}
	return p.Timeline[len(p.Timeline)-1]
}

// clone copies p so a change never aliases the slices (or the pointed-to
// values) of the version before.
func (p Procedure) clone() Procedure {
	p.Request.Requirements = slices.Clone(p.Request.Requirements)
	p.Slot = cloneSlot(p.Slot)
	p.HoldExpiresAt = cloneTime(p.HoldExpiresAt)
	p.Reminders = slices.Clone(p.Reminders)
	p.Checklist = slices.Clone(p.Checklist)
	for i := range p.Checklist {
		p.Checklist[i].DoneAt = cloneTime(p.Checklist[i].DoneAt)
	}
	p.CheckedInAt = cloneTime(p.CheckedInAt)
	p.StartedAt = cloneTime(p.StartedAt)
	if p.Completion != nil {
		c := *p.Completion
		c.Complications = slices.Clone(c.Complications)
		c.Team = slices.Clone(c.Team)
		p.Completion = &c
	}
	if p.Search != nil {
		o := cloneSearch(*p.Search)
		p.Search = &o
	}
	p.Timeline = slices.Clone(p.Timeline)
	return p
}

func cloneSlot(s *Slot) *Slot {
	if s == nil {
		return nil
	}
	c := *s
	c.Resources = make([][]uuid.UUID, len(s.Resources))
	for i, ids := range s.Resources {
		c.Resources[i] = slices.Clone(ids)
	}
	return &c
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// add appends a timeline entry for a change at, with the status the change
// left.
func (p Procedure) add(kind EventKind, at time.Time, by uuid.UUID, note string) Procedure {
	p.Version++
	p.UpdatedAt = at
	p.Timeline = append(p.Timeline, Entry{Seq: len(p.Timeline) + 1, Kind: kind, At: at, By: by, Status: p.Status, Note: note})
	return p
}

// refuse is a refusal of a change the procedure's status (or the time)
// forbids; invalid one of a wrong argument.
func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidTransition, fmt.Sprintf(format, args...))
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

func requireBy(by uuid.UUID) error {
	if by == uuid.Nil {
		return invalid("by is required")
	}
	return nil
}

// checkSlot reports why slot cannot be held or booked for the request at,
// or nil: it lasts the request's duration, lies in the window, has not
// started, and names the resources of every requirement in order, Needed()
// of them each, none twice.
func (p Procedure) checkSlot(slot Slot, at time.Time) error {
	r := p.Request
	switch {
	case slot.From.IsZero() || !slot.To.After(slot.From):
		return invalid("the slot must end after it starts")
	case slot.To.Sub(slot.From) != r.Duration:
		return invalid("the slot lasts %s; the procedure takes %s", durationText(slot.To.Sub(slot.From)), durationText(r.Duration))
	case slot.From.Before(r.Window.From) || slot.To.After(r.Window.To):
		return invalid("the slot %s is outside the window %s", periodText(slot.Period), periodText(r.Window))
	case slot.From.Before(at):
		return invalid("the slot %s has started", periodText(slot.Period))
	case len(slot.Resources) != len(r.Requirements):
		return invalid("the slot names resources for %d requirement(s); the request has %d", len(slot.Resources), len(r.Requirements))
	}
	seen := map[uuid.UUID]bool{}
	for i, ids := range slot.Resources {
		if len(ids) != r.Requirements[i].Needed() {
			return invalid("requirements[%d] takes %d resource(s); the slot gives %d", i, r.Requirements[i].Needed(), len(ids))
		}
		for _, id := range ids {
			switch {
			case id == uuid.Nil:
				return invalid("requirements[%d]: a resource id is empty", i)
			case seen[id]:
				return invalid("resource %s is taken twice", id)
			}
			seen[id] = true
		}
	}
	return nil
}

func sameSlot(a, b Slot) bool {
	return a.From.Equal(b.From) && a.To.Equal(b.To) &&
		slices.EqualFunc(a.Resources, b.Resources, func(x, y []uuid.UUID) bool { return slices.Equal(x, y) })
}

// skipped counts the reminders for a slot starting at from that are already
// past at: they are never sent.
func (p Procedure) skipped(from, at time.Time) int {
	n := 0
	for _, d := range p.leads() {
		if from.Add(-d).Before(at) {
			n++
		}
	}
	return n
}

// leads are the reminders longest first.
func (p Procedure) leads() []time.Duration {
	out := slices.Clone(p.Reminders)
	slices.SortFunc(out, func(a, b time.Duration) int { return cmp.Compare(b, a) })
	return out
}

// Hold holds slot for the procedure until expires: a requested or
// unscheduled procedure becomes held. The workflow holds the allocations
// first; the store refuses any overlap.
func (p Procedure) Hold(slot Slot, expires, at time.Time) (Procedure, error) {
	if p.Status != StatusRequested && p.Status != StatusUnscheduled {
		return p, refuse("only a requested or unscheduled procedure is held; this one is %s", p.Status)
	}
	if err := p.checkSlot(slot, at); err != nil {
		return p, err
	}
	if !expires.After(at) {
		return p, invalid("the hold must expire after %s", stamp(at))
	}
	next := p.clone()
	next.Status = StatusHeld
	next.Slot = cloneSlot(&slot)
	next.HoldExpiresAt = &expires
	next.Search = nil
	return next.add(EventHeld, at, uuid.Nil, fmt.Sprintf("held for %s until %s", periodText(slot.Period), stamp(expires))), nil
}

// NoSlotFound records that no slot was free in the window, why saying what
// was missing: see SearchFailed.
func (p Procedure) NoSlotFound(why string, at time.Time) (Procedure, error) {
	return p.SearchFailed(SearchOutcome{Reason: why, At: at}, at)
}

// SearchFailed records what a search that found no slot said (see
// NoSlot.Outcome): a requested procedure becomes unscheduled, an
// unscheduled one stays so, and Search keeps the outcome until a slot is
// held. The reason is the process's own text: cut to MaxNoteLen, never
// refused.
func (p Procedure) SearchFailed(o SearchOutcome, at time.Time) (Procedure, error) {
	if p.Status != StatusRequested && p.Status != StatusUnscheduled {
		return p, refuse("only a requested or unscheduled procedure looks for a slot; this one is %s", p.Status)
	}
	o = cloneSearch(o)
	o.Reason = cut(o.Reason, MaxNoteLen)
	if o.At.IsZero() {
		o.At = at
	}
	note := "no slot free in the window " + periodText(p.Request.Window)
	if o.Reason != "" {
		note += ": " + o.Reason
	}
	next := p.clone()
	next.Status = StatusUnscheduled
	next.Search = &o
	return next.add(EventNoSlot, at, uuid.Nil, cut(note, MaxNoteLen)), nil
}

// cut trims s to valid text of at most limit characters, ending in an
// ellipsis when it was longer.
func cut(s string, limit int) string {
	s = strings.TrimSpace(strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD"))
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-1]) + "…"
}

func cloneSearch(o SearchOutcome) SearchOutcome {
	o.Blocking = slices.Clone(o.Blocking)
	for i := range o.Blocking {
		o.Blocking[i].ResourceIDs = slices.Clone(o.Blocking[i].ResourceIDs)
	}
	o.Alternatives = slices.Clone(o.Alternatives)
	for i := range o.Alternatives {
		o.Alternatives[i] = *cloneSlot(&o.Alternatives[i])
	}
	return o
}

// CanBook reports why the hold may not be booked at, or nil: only a held
// procedure, before its hold expires. by is uuid.Nil when the process
// books on its own.
func (p Procedure) CanBook(by uuid.UUID, at time.Time) error {
	switch {
	case p.Status != StatusHeld || p.Slot == nil:
		return refuse("only a held procedure is booked; this one is %s", p.Status)
	case p.HoldExpiresAt != nil && !at.Before(*p.HoldExpiresAt):
		return refuse("the hold expired at %s", stamp(*p.HoldExpiresAt))
	}
	return nil
}

// Book confirms the held slot. Reminders already past are skipped.
func (p Procedure) Book(by uuid.UUID, at time.Time) (Procedure, error) {
	if err := p.CanBook(by, at); err != nil {
		return p, err
	}
	next := p.clone()
	next.Status = StatusBooked
	next.HoldExpiresAt = nil
	next.Reminded = next.skipped(next.Slot.From, at)
	return next.add(EventBooked, at, by, "booked for "+periodText(next.Slot.Period)), nil
}

// Expire releases a hold that lapsed unbooked: the procedure is
// unscheduled and holds no slot.
func (p Procedure) Expire(at time.Time) (Procedure, error) {
	switch {
	case p.Status != StatusHeld:
		return p, refuse("only a held procedure expires; this one is %s", p.Status)
	case p.HoldExpiresAt != nil && at.Before(*p.HoldExpiresAt):
		return p, refuse("the hold runs until %s", stamp(*p.HoldExpiresAt))
	}
	next := p.clone()
	note := "the hold expired unbooked"
	if p.Slot != nil {
		note = "the hold on " + periodText(p.Slot.Period) + " expired unbooked"
	}
	next.Status = StatusUnscheduled
	next.Slot, next.HoldExpiresAt = nil, nil
	return next.add(EventHoldExpired, at, uuid.Nil, note), nil
}

// CanReschedule reports why the booking may not move to slot, or nil: only
// a booked procedure, to another valid slot, for a reason.
func (p Procedure) CanReschedule(slot Slot, by uuid.UUID, reason string, at time.Time) error {
	if p.Status != StatusBooked {
		return refuse("only a booked procedure is rescheduled; this one is %s", p.Status)
	}
	if err := requireBy(by); err != nil {
		return err
	}
	if _, err := refuseText("reason", reason, MaxReasonLen, true); err != nil {
		return err
	}
	if err := p.checkSlot(slot, at); err != nil {
		return err
	}
	if p.Slot != nil && sameSlot(*p.Slot, slot) {
		return invalid("the procedure is already booked for %s", periodText(slot.Period))
	}
	return nil
}

// Reschedule moves the booking to slot: Reschedules counts it, and the
// reminders start again for the new slot (those already past skipped).
func (p Procedure) Reschedule(slot Slot, by uuid.UUID, reason string, at time.Time) (Procedure, error) {
	if err := p.CanReschedule(slot, by, reason, at); err != nil {
		return p, err
	}
	reason, _ = cleanText(reason, MaxReasonLen, true)
	next := p.clone()
	from := "rescheduled"
	if p.Slot != nil {
		from += " from " + periodText(p.Slot.Period)
	}
	next.Released = cloneSlot(p.Slot)
	next.Slot = cloneSlot(&slot)
	next.Reschedules++
	next.Reminded = next.skipped(slot.From, at)
	return next.add(EventRescheduled, at, by, from+" to "+periodText(slot.Period)+": "+reason), nil
}

// Bump gives the procedure's held or booked slot up to the emergency
// procedure emergencyID: it is unscheduled, waiting for another slot, and
// Bumped counts it. An emergency is never bumped. by is uuid.Nil when the
// process bumps on its own.
func (p Procedure) Bump(by, emergencyID uuid.UUID, at time.Time) (Procedure, error) {
	switch {
	case p.Status != StatusHeld && p.Status != StatusBooked:
		return p, refuse("only a held or booked procedure is bumped; this one is %s", p.Status)
	case p.Request.Priority == PriorityEmergency:
		return p, refuse("an emergency procedure is never bumped")
	case emergencyID == uuid.Nil || emergencyID == p.Request.ID:
		return p, invalid("the emergency procedure's id is required")
	}
	next := p.clone()
	note := "bumped by emergency procedure " + emergencyID.String()
	if p.Slot != nil {
		note = "bumped from " + periodText(p.Slot.Period) + " by emergency procedure " + emergencyID.String()
	}
	next.Status = StatusUnscheduled
	next.Released = cloneSlot(p.Slot)
	next.Slot, next.HoldExpiresAt = nil, nil
	next.Reminded = 0
	next.Bumped++
	return next.add(EventBumped, at, by, note), nil
}

// NextReminder is when the next reminder is due: the slot's start less the
// next unsent lead, longest first; false unless booked with one left.
func (p Procedure) NextReminder() (time.Time, bool) {
	leads := p.leads()
	if p.Status != StatusBooked || p.Slot == nil || p.Reminded < 0 || p.Reminded >= len(leads) {
		return time.Time{}, false
	}
	return p.Slot.From.Add(-leads[p.Reminded]), true
}

// Remind records the next reminder as sent: only for a booked procedure,
// once it is due.
func (p Procedure) Remind(at time.Time) (Procedure, error) {
	due, ok := p.NextReminder()
	switch {
	case p.Status != StatusBooked:
		return p, refuse("only a booked procedure is reminded of; this one is %s", p.Status)
	case !ok:
		return p, refuse("no reminder is left to send")
	case at.Before(due):
		return p, refuse("the next reminder is due at %s", stamp(due))
	}
	lead := p.leads()[p.Reminded]
	next := p.clone()
	next.Reminded++
	return next.add(EventReminded, at, uuid.Nil, fmt.Sprintf("reminder sent %s before the start at %s", durationText(lead), stamp(p.Slot.From))), nil
}

// CanCheck reports why the checklist item code may not be checked, or nil:
// a known item, not yet done, of an open procedure; a sign-out item only
// once the procedure has started. Like every CanX it takes X's arguments,
// at included, so an Update validator passes what the update carries.
func (p Procedure) CanCheck(code string, by uuid.UUID, note string, at time.Time) error {
	if p.Status.Closed() {
		return refuse("the procedure is %s", p.Status)
	}
	it, ok := p.Item(code)
	switch {
	case !ok:
		return invalid("%q is not an item of the checklist", code)
	case it.DoneAt != nil:
		return refuse("%s was checked at %s", code, stamp(*it.DoneAt))
	case it.Phase == PhaseSignOut && p.Status != StatusInProgress:
		return refuse("%s is a sign-out item, checked once the procedure has started; it is %s", code, p.Status)
	}
	if err := requireBy(by); err != nil {
		return err
	}
	_, err := refuseText("note", note, MaxNoteLen, false)
	return err
}

// Check marks the checklist item code done by by, with an optional note.
// The status does not change.
func (p Procedure) Check(code string, by uuid.UUID, note string, at time.Time) (Procedure, error) {
	if err := p.CanCheck(code, by, note, at); err != nil {
		return p, err
	}
	note, _ = cleanText(note, MaxNoteLen, false)
	next := p.clone()
	i := slices.IndexFunc(next.Checklist, func(it ChecklistItem) bool { return it.Code == code })
	it := &next.Checklist[i]
	it.DoneAt, it.DoneBy, it.Note = &at, by, note
	entry := "checked " + code + ": " + it.Text
	if note != "" {
		entry += " (" + note + ")"
	}
	return next.add(EventChecked, at, by, entry), nil
}

// CanCheckIn reports why the patient may not check in at, or nil: only a
// booked procedure, no earlier than CheckInLead before its start.
func (p Procedure) CanCheckIn(by uuid.UUID, at time.Time) error {
	if p.Status != StatusBooked || p.Slot == nil {
		return refuse("only a booked procedure is checked in; this one is %s", p.Status)
	}
	if earliest := p.Slot.From.Add(-CheckInLead); at.Before(earliest) {
		return refuse("check-in opens at %s, 24 hours before the start", stamp(earliest))
	}
	return requireBy(by)
}

// CheckIn records the patient's arrival.
func (p Procedure) CheckIn(by uuid.UUID, at time.Time) (Procedure, error) {
	if err := p.CanCheckIn(by, at); err != nil {
		return p, err
	}
	next := p.clone()
	next.Status = StatusCheckedIn
	next.CheckedInAt = &at
	return next.add(EventCheckedIn, at, by, "checked in for "+periodText(p.Slot.Period)), nil
}

// checklistIncomplete is the refusal naming the undone items of phases.
func (p Procedure) checklistIncomplete(phases ...Phase) error {
	undone := p.Undone(phases...)
	if len(undone) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w: %s not done", ErrInvalidTransition, ErrChecklistIncomplete, strings.Join(undone, ", "))
}

// CanStart reports why the procedure may not start at, or nil: only once
// checked in, and with every pre-procedure, sign-in and time-out item done
// (ErrChecklistIncomplete names the others).
func (p Procedure) CanStart(by uuid.UUID, at time.Time) error {
	if p.Status != StatusCheckedIn {
		return refuse("only a checked-in procedure starts; this one is %s", p.Status)
	}
	if err := requireBy(by); err != nil {
		return err
	}
	if p.CheckedInAt != nil && at.Before(*p.CheckedInAt) {
		return invalid("the procedure cannot start before the check-in at %s", stamp(*p.CheckedInAt))
	}
	return p.checklistIncomplete(PhasePreProcedure, PhaseSignIn, PhaseTimeOut)
}

// Start records the start of the procedure.
func (p Procedure) Start(by uuid.UUID, at time.Time) (Procedure, error) {
	if err := p.CanStart(by, at); err != nil {
		return p, err
	}
	next := p.clone()
	next.Status = StatusInProgress
	next.StartedAt = &at
	note := "started"
	if p.Slot != nil {
		note += ", planned for " + stamp(p.Slot.From)
		switch late := at.Sub(p.Slot.From).Truncate(time.Minute); {
		case late > 0:
			note += " (" + durationText(late) + " late)"
		case late < 0:
			note += " (" + durationText(-late) + " early)"
		}
	}
	return next.add(EventStarted, at, by, note), nil
}

// completion checks c at, returning it as recorded: its start the
// procedure's when zero, its notes trimmed, its lists copied.
func (p Procedure) completion(c Completion, at time.Time) (Completion, error) {
	var v domain.ValidationError
	if c.By == uuid.Nil {
		v.Add("by", "required")
	}
	if !c.Outcome.Valid() {
		v.Add("outcome", "must be one of successful, partially-successful, unsuccessful")
	}
	if c.StartedAt.IsZero() && p.StartedAt != nil {
		c.StartedAt = *p.StartedAt
	}
	switch {
	case c.StartedAt.IsZero():
		v.Add("startedAt", "required")
	case p.CheckedInAt != nil && c.StartedAt.Before(*p.CheckedInAt):
		v.Add("startedAt", "must not be before the check-in at "+stamp(*p.CheckedInAt))
	}
	switch {
	case c.EndedAt.IsZero():
		v.Add("endedAt", "required")
	case !c.StartedAt.IsZero() && !c.EndedAt.After(c.StartedAt):
		v.Add("endedAt", "must be after startedAt")
	case c.EndedAt.After(at):
		v.Add("endedAt", "must not be in the future")
	}
	switch {
	case len(c.Team) == 0:
		v.Add("team", "at least one practitioner is required")
	case len(c.Team) > MaxTeam:
		v.Add("team", "at most "+strconv.Itoa(MaxTeam))
	}
	for i, id := range c.Team {
		switch {
		case id == uuid.Nil:
			v.Add("team["+strconv.Itoa(i)+"]", "must be a practitioner id")
		case slices.Contains(c.Team[:i], id):
			v.Add("team["+strconv.Itoa(i)+"]", "is given twice")
		}
	}
	if len(c.Complications) > MaxComplications {
		v.Add("complications", "at most "+strconv.Itoa(MaxComplications))
	}
	for i, x := range c.Complications {
		field := "complications[" + strconv.Itoa(i) + "]"
		if x.System != SystemSNOMED {
			v.Add(field+".system", "complications are SNOMED CT ("+SystemSNOMED+")")
		}
		if !ValidSCTID(x.Code) {
			v.Add(field+".code", strconv.Quote(x.Code)+" is not a SNOMED CT concept id")
		}
		if _, why := cleanText(x.Display, MaxDisplayLen, false); why != "" {
			v.Add(field+".display", why)
		}
	}
	notes, why := cleanText(c.Notes, MaxNotesLen, false)
	if why != "" {
		v.Add("notes", why)
	}
	if err := v.OrNil(); err != nil {
		return Completion{}, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	c.Notes = notes
	c.Team = slices.Clone(c.Team)
	c.Complications = slices.Clone(c.Complications)
	for i := range c.Complications {
		c.Complications[i].Display, _ = cleanText(c.Complications[i].Display, MaxDisplayLen, false)
	}
	return c, nil
}

// CanComplete reports why the procedure may not be completed as c says,
// or nil: only in progress, with a valid outcome, times and team, coded
// complications, and every sign-out item done (ErrChecklistIncomplete
// names the others). A refusal of c's fields wraps a
// *domain.ValidationError naming each.
func (p Procedure) CanComplete(c Completion, at time.Time) error {
	if p.Status != StatusInProgress {
		return refuse("only a procedure in progress is completed; this one is %s", p.Status)
	}
	if _, err := p.completion(c, at); err != nil {
		return err
	}
	return p.checklistIncomplete(PhaseSignOut)
}

// Complete records how the procedure ended.
func (p Procedure) Complete(c Completion, at time.Time) (Procedure, error) {
	if err := p.CanComplete(c, at); err != nil {
		return p, err
	}
	c, _ = p.completion(c, at)
	next := p.clone()
	next.Status = StatusCompleted
	next.Completion = &c
	note := fmt.Sprintf("completed, %s, after %s", c.Outcome, durationText(c.EndedAt.Sub(c.StartedAt).Truncate(time.Minute)))
	switch n := len(c.Complications); n {
	case 0:
		note += ", no complications"
	case 1:
		note += ", 1 complication"
	default:
		note += ", " + strconv.Itoa(n) + " complications"
	}
	return next.add(EventCompleted, at, c.By, note), nil
}

// CanCancel reports why the procedure may not be cancelled, or nil: any
// procedure not yet closed (in progress included: an abandoned case may be
// cancelled or completed as unsuccessful), for a reason.
func (p Procedure) CanCancel(by uuid.UUID, reason string, at time.Time) error {
	if p.Status.Closed() {
		return refuse("the procedure is already %s", p.Status)
	}
	if err := requireBy(by); err != nil {
		return err
	}
	_, err := refuseText("reason", reason, MaxReasonLen, true)
	return err
}

// Cancel withdraws the procedure. A held or booked slot is kept on the
// procedure as the record of what it had; its allocations are released
// (a closed procedure holds none).
func (p Procedure) Cancel(by uuid.UUID, reason string, at time.Time) (Procedure, error) {
	if err := p.CanCancel(by, reason, at); err != nil {
		return p, err
	}
	reason, _ = cleanText(reason, MaxReasonLen, true)
	next := p.clone()
	note := "cancelled while " + string(p.Status)
	if p.Slot != nil {
		note += " for " + periodText(p.Slot.Period)
	}
	next.Status = StatusCancelled
	next.HoldExpiresAt = nil
	return next.add(EventCancelled, at, by, note+": "+reason), nil
}

// NoShowAt is when a booked patient who has not checked in becomes a
// no-show: NoShowGrace after the slot's start; false unless booked.
func (p Procedure) NoShowAt() (time.Time, bool) {
	if p.Status != StatusBooked || p.Slot == nil {
		return time.Time{}, false
	}
	return p.Slot.From.Add(NoShowGrace), true
}

// NoShow records that the patient never checked in.
func (p Procedure) NoShow(at time.Time) (Procedure, error) {
	due, ok := p.NoShowAt()
	switch {
	case !ok:
		return p, refuse("only a booked procedure, not checked in, becomes a no-show; this one is %s", p.Status)
	case at.Before(due):
		return p, refuse("the patient has until %s to check in", stamp(due))
	}
	next := p.clone()
	next.Status = StatusNoShow
	return next.add(EventNoShow, at, uuid.Nil, fmt.Sprintf("the patient had not checked in %s after the start at %s",
		durationText(NoShowGrace), stamp(p.Slot.From))), nil
}

// stamp writes an instant as an operator reads it: "2026-12-08 09:00 UTC".
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// periodText writes a period as an operator reads it: "2026-12-08
// 09:00–10:30 UTC", or with both dates when it spans midnight.
func periodText(p Period) string {
	from, to := p.From.UTC(), p.To.UTC()
	if from.Format(time.DateOnly) == to.Format(time.DateOnly) {
		return from.Format("2006-01-02 15:04") + "–" + to.Format("15:04") + " UTC"
	}
	return from.Format("2006-01-02 15:04") + "–" + to.Format("2006-01-02 15:04") + " UTC"
}

// durationText writes a duration in hours and minutes: "45 min", "2 h",
// "1 h 30 min"; anything finer than a minute as Go writes it.
func durationText(d time.Duration) string {
	switch {
	case d%time.Minute != 0:
		return d.String()
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	}
	return strconv.Itoa(int(d/time.Hour)) + " h " + strconv.Itoa(int(d%time.Hour/time.Minute)) + " min"
}
