package messaging

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/fedele-crm/fedele/core"
)

// Policy is a tenant's delivery policy, applied at the moment of sending.
type Policy struct {
	// Caps bound how many messages one contact gets per rolling window, on
	// one channel or across all ("*").
	Caps []Cap `json:"caps,omitempty" maxItems:"20"`
	// QuietHours are, per channel, the recipient-local hours in which
	// nothing is sent; a message due then waits for their end.
	QuietHours map[string]QuietHours `json:"quiet_hours,omitempty" doc:"By channel (email, sms, push, post, phone, or * for all without their own)."`
	Version    int64                 `json:"version" readOnly:"true"`
	UpdatedAt  time.Time             `json:"updated_at,omitzero" readOnly:"true"`
}

// Cap is "at most Max messages per Window" for one contact.
type Cap struct {
	Channel string `json:"channel" doc:"A channel, or * for every channel together." enum:"email,sms,push,post,phone,*"` // CapChannels
	Max     int    `json:"max" minimum:"1" maximum:"100"`
	// Window is a Go duration ("24h", "168h"), at most 90 days.
	Window string `json:"window" doc:"The rolling window, a duration such as 24h or 168h (at most 2160h, 90 days)." maxLength:"32"`
	// Reserved are the cap's last slots only a high-priority message may
	// take: a normal one counts against Max−Reserved.
	Reserved int `json:"reserved,omitempty" minimum:"0" maximum:"99" doc:"The last slots of the window, kept for high-priority messages."`

	window time.Duration
}

// QuietHours is a recipient-local span of the day, such as 21:00–08:00
// (across midnight when End is before Start).
type QuietHours struct {
	Start string `json:"start" doc:"HH:MM, recipient-local." pattern:"^([01][0-9]|2[0-3]):[0-5][0-9]$"`
	End   string `json:"end" doc:"HH:MM, recipient-local; before start for a span across midnight." pattern:"^([01][0-9]|2[0-3]):[0-5][0-9]$"`

	start, end int // minutes after midnight
}

// CapChannels are what a cap counts: one channel, or all of them.
var CapChannels = []string{"email", "sms", "push", "post", "phone", AllChannels}

// MaxCapWindow bounds a cap's window: the send log keeps no more.
const MaxCapWindow = 90 * 24 * time.Hour

// Normalize validates a policy, naming every field at fault.
func (p *Policy) Normalize() error {
	var pr core.Problems
	if len(p.Caps) > 20 {
		pr.Add("caps", "at most 20 caps")
	}
	for i := range p.Caps {
		c := &p.Caps[i]
		path := fmt.Sprintf("caps[%d]", i)
		if c.Channel != AllChannels && !slices.Contains(Channels, Channel(c.Channel)) {
			pr = append(pr, core.FieldError{Path: path + ".channel", Message: "must be a channel or *", Value: c.Channel})
		}
		if c.Max < 1 || c.Max > 100 {
			pr = append(pr, core.FieldError{Path: path + ".max", Message: "must be 1 to 100", Value: c.Max})
		}
		if c.Max >= 1 && (c.Reserved < 0 || c.Reserved >= c.Max) {
			pr = append(pr, core.FieldError{Path: path + ".reserved", Message: "must be at least 0 and less than max", Value: c.Reserved})
		}
		d, err := time.ParseDuration(c.Window)
		if err != nil || d < time.Minute || d > MaxCapWindow {
			pr = append(pr, core.FieldError{Path: path + ".window", Message: "must be a duration from 1m to 2160h, such as 24h", Value: c.Window})
		}
		c.window = d
	}
	for ch, q := range p.QuietHours {
		path := "quiet_hours." + ch
		if ch != AllChannels && !slices.Contains(Channels, Channel(ch)) {
			pr = append(pr, core.FieldError{Path: path, Message: "must be keyed by a channel or *", Value: ch})
			continue
		}
		var err1, err2 error
		q.start, err1 = clockMinutes(q.Start)
		q.end, err2 = clockMinutes(q.End)
		if err1 != nil {
			pr = append(pr, core.FieldError{Path: path + ".start", Message: "must be HH:MM", Value: q.Start})
		}
		if err2 != nil {
			pr = append(pr, core.FieldError{Path: path + ".end", Message: "must be HH:MM", Value: q.End})
		}
		if err1 == nil && err2 == nil && q.start == q.end {
			pr = append(pr, core.FieldError{Path: path + ".end", Message: "must differ from start (a quiet day would never send)", Value: q.End})
		}
		p.QuietHours[ch] = q
	}
	if len(p.QuietHours) == 0 {
		p.QuietHours = nil
	}
	return pr.Err()
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("not HH:MM")
	}
	return t.Hour()*60 + t.Minute(), nil
}

// quiet returns the quiet hours of a channel: its own, else "*".
func (p *Policy) quiet(ch Channel) (QuietHours, bool) {
	if q, ok := p.QuietHours[string(ch)]; ok {
		return q, true
	}
	q, ok := p.QuietHours[AllChannels]
	return q, ok
}

// QuietUntil returns when the quiet hours holding t end, in loc, or t
// itself when t is outside them. The day's start and end are wall-clock
// times built with time.Date in loc, so a span across a DST change keeps
// its wall-clock meaning: a 21:00–08:00 span ends at 08:00 local whether
// the night was 8 or 10 hours long; a boundary that falls in a
// spring-forward gap is the instant the clocks jump (wallClock), and one
// in a fall-back repeat is its first occurrence.
func (q QuietHours) QuietUntil(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	y, m, d := lt.Date()
	at := func(day, minutes int) time.Time { return wallClock(y, m, d+day, minutes, loc) }
	if q.start < q.end { // within one day: [start, end)
		s, e := at(0, q.start), at(0, q.end)
		if !t.Before(s) && t.Before(e) {
			return e.UTC()
		}
		return t
	}
	// Across midnight: [start, 24:00) ∪ [00:00, end).
	if e := at(0, q.end); t.Before(e) {
		return e.UTC()
	}
	if s := at(0, q.start); !t.Before(s) {
		return at(1, q.end).UTC()
	}
	return t
}

// wallClock is the first instant at which loc's clocks read the given
// day and minute: time.Date's answer, except in a spring-forward gap,
// where time.Date reads the missing time with the offset after the change
// (an instant before the gap) and this answers the instant the clocks
// jump, the first moment at or after that wall-clock time.
func wallClock(y int, m time.Month, d, minutes int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, minutes/60, minutes%60, 0, 0, loc)
	want := time.Date(y, m, d, minutes/60, minutes%60, 0, 0, time.UTC)
	wall := func(x time.Time) time.Time {
		l := x.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
	}
	if wall(t).Equal(want) {
		return t
	}
	// In a gap: search the seconds around it for the first one whose wall
	// clock reaches want (wall clocks only jump forward across a gap).
	lo, hi := t.Add(-3*time.Hour).Unix(), t.Add(3*time.Hour).Unix()
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if wall(time.Unix(mid, 0)).Before(want) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Unix(hi, 0).In(loc)
}

// send is one earlier message in a contact's send log.
type send struct {
	At      time.Time `json:"at"`
	Channel Channel   `json:"ch"`
}

// sendLog is a contact's recent sends on channels some cap counts.
type sendLog struct {
	Sends []send `json:"sends"`
}

// counts says whether cap c counts a message on ch.
func (c Cap) counts(ch Channel) bool { return c.Channel == AllChannels || Channel(c.Channel) == ch }

// limit is how many messages of priority p the cap admits per window.
func (c Cap) limit(p Priority) int {
	if p == PriorityHigh {
		return c.Max
	}
	return c.Max - c.Reserved
}

// CapsAllow says whether one more message on ch, of priority pr, fits
// every cap at now given the earlier sends; when it does not, it says the
// first time it would (when enough earlier sends have left their windows),
// and the cap that holds it.
func (p *Policy) capsAllow(log []send, ch Channel, pr Priority, now time.Time) (bool, time.Time) {
	ok, first := true, time.Time{}
	for _, c := range p.Caps {
		if !c.counts(ch) {
			continue
		}
		from := now.Add(-c.window)
		var in []time.Time
		for _, s := range log {
			if c.counts(s.Channel) && s.At.After(from) && !s.At.After(now) {
				in = append(in, s.At)
			}
		}
		lim := c.limit(pr)
		if len(in) < lim {
			continue
		}
		ok = false
		// len(in)-lim+1 sends must leave the window: the (len-lim)th oldest.
		sort.Slice(in, func(i, j int) bool { return in[i].Before(in[j]) })
		free := in[len(in)-lim].Add(c.window)
		if free.After(first) {
			first = free
		}
	}
	return ok, first
}

// keep trims a send log to what the caps can still count at now.
func (p *Policy) keep(log []send, now time.Time) []send {
	var longest time.Duration
	for _, c := range p.Caps {
		longest = max(longest, c.window)
	}
	out := log[:0]
	for _, s := range log {
		if s.At.After(now.Add(-longest)) && slices.ContainsFunc(p.Caps, func(c Cap) bool { return c.counts(s.Channel) }) {
			out = append(out, s)
		}
	}
	return out
}

// capped says whether any cap counts ch: only then is a send logged.
func (p *Policy) capped(ch Channel) bool {
	return slices.ContainsFunc(p.Caps, func(c Cap) bool { return c.counts(ch) })
}

// Zone sources: where a recipient's time zone came from.
const (
	ZoneContact = "contact"
	ZonePhone   = "phone"
	ZoneCountry = "country"
	ZoneTenant  = "tenant"
)

// ZoneSources lists where a recipient's zone may come from, in the order tried.
var ZoneSources = []string{ZoneContact, ZonePhone, ZoneCountry, ZoneTenant}

// RecipientZone is the time zone a contact's local times are read in: its
// own; else the one its first phone number's prefix maps to when that is a
// single zone (libphonenumber's prefix map: +39 is Europe/Rome, +1 212 is
// America/New_York, but +1 alone or +7 are several); else its address
// country's when the country has one zone; else the tenant's.
func RecipientZone(c core.Contact, tenant core.Tenant) (*time.Location, string) {
	if loc := location(c.TimeZone); loc != nil {
		return loc, ZoneContact
	}
	for _, ph := range c.Phones {
		num, err := phonenumbers.Parse(ph.Number, "")
		if err != nil {
			continue
		}
		if loc := oneZone(phonenumbers.GetTimezonesForNumber(num)); loc != nil {
			return loc, ZonePhone
		}
	}
	if c.Address != nil && c.Address.Country != "" {
		if code := phonenumbers.GetCountryCodeForRegion(strings.ToUpper(c.Address.Country)); code != 0 {
			if loc := oneZone(phonenumbers.GetTimezonesForPrefix(fmt.Sprintf("+%d", code))); loc != nil {
				return loc, ZoneCountry
			}
		}
	}
	if loc := location(tenant.TimeZone); loc != nil {
		return loc, ZoneTenant
	}
	return time.UTC, ZoneTenant
}

// links are zones that the tz database defines as links to another
// (Europe/Vatican is Europe/Rome): a prefix mapped to both is one zone.
var links = map[string]string{
	"Europe/Vatican": "Europe/Rome", "Europe/San_Marino": "Europe/Rome",
	"Europe/Guernsey": "Europe/London", "Europe/Isle_of_Man": "Europe/London", "Europe/Jersey": "Europe/London",
	"Europe/Busingen": "Europe/Zurich", "Europe/Mariehamn": "Europe/Helsinki", "Arctic/Longyearbyen": "Europe/Berlin",
	"Europe/Podgorica": "Europe/Belgrade", "Europe/Sarajevo": "Europe/Belgrade", "Europe/Skopje": "Europe/Belgrade",
	"Europe/Zagreb": "Europe/Belgrade", "Europe/Ljubljana": "Europe/Belgrade", "Europe/Bratislava": "Europe/Prague",
}

// oneZone is the zone of a prefix that maps to a single one, after links.
func oneZone(zones []string, err error) *time.Location {
	if err != nil || len(zones) == 0 {
		return nil
	}
	name := ""
	for _, z := range zones {
		if l, ok := links[z]; ok {
			z = l
		}
		if name != "" && z != name {
			return nil
		}
		name = z
	}
	return location(name)
}

var locations sync.Map // name → *time.Location: LoadLocation reads the database each time

// location loads a zone once per process; nil when it is unknown.
func location(name string) *time.Location {
	if name == "" || name == "Etc/Unknown" {
		return nil
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	locations.Store(name, loc)
	return loc
}
