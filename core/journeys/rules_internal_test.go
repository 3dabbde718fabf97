package journeys

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

func TestParseDuration(t *testing.T) {
	rome, _ := time.LoadLocation("Europe/Rome")
	from := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC) // 09:00 in Rome, before the change to summer time
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"30m", from.Add(30 * time.Minute)},
		{"36h", from.Add(36 * time.Hour)},
		{"1d", from.Add(24 * time.Hour)},
		{"2w", from.Add(14 * 24 * time.Hour)},
		{"1d12h", from.Add(36 * time.Hour)},
		{"3mo", time.Date(2026, 6, 10, 7, 0, 0, 0, time.UTC)}, // 09:00 in Rome, summer time
		{"1y", time.Date(2027, 3, 10, 8, 0, 0, 0, time.UTC)},
	} {
		d, err := parseDuration(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := d.after(from, rome); !got.Equal(c.want) {
			t.Errorf("%s after %s = %s, want %s", c.in, from, got, c.want)
		}
	}
	for _, bad := range []string{"", "d", "1", "1x", "-1d", "1.5d", "9999999d", "101y", "1 d"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30m", "1d12h", "3mo", "1y", "", "mo", "99999999y", "1d-1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			return
		}
		if d.fixed < 0 || d.months < 0 || d.months > 1200 {
			t.Fatalf("%q parsed to %+v", s, d)
		}
		_ = d.after(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	})
}

// 29 February is 28 February in other years, never 1 March; yearly
// occurrences are found from any instant, at local time.
func TestNextOccurrenceOf29February(t *testing.T) {
	rome, _ := time.LoadLocation("Europe/Rome")
	nine := 9 * time.Hour
	for _, c := range []struct {
		from, want time.Time
	}{
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 28, 8, 0, 0, 0, time.UTC)},
		{time.Date(2027, 2, 28, 8, 0, 0, 0, time.UTC), time.Date(2027, 2, 28, 8, 0, 0, 0, time.UTC)},
		{time.Date(2027, 2, 28, 8, 1, 0, 0, time.UTC), time.Date(2028, 2, 29, 8, 0, 0, 0, time.UTC)},
		{time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2029, 2, 28, 8, 0, 0, 0, time.UTC)},
		{time.Date(2099, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 2, 28, 8, 0, 0, 0, time.UTC)}, // 2100 is no leap year
	} {
		if got := nextOccurrence(1992, time.February, 29, true, nine, rome, c.from); !got.Equal(c.want) {
			t.Errorf("from %s: %s, want %s", c.from, got, c.want)
		}
	}
	// An offset before the day: a week before the birthday.
	if got := nextOccurrence(1990, time.March, 1, true, -7*24*time.Hour, rome, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2027, 2, 21, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("a week before 1 March: %s", got)
	}
}

func TestWindowStart(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	from, to := 9*60, 17*60
	for _, c := range []struct {
		at   time.Time
		days []string
		want time.Time
	}{
		{time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC), nil, time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)},                    // 07:00 NY → 09:00
		{time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC), nil, time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)},                    // inside
		{time.Date(2026, 3, 4, 23, 0, 0, 0, time.UTC), nil, time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC)},                    // 18:00 NY → tomorrow
		{time.Date(2026, 3, 6, 23, 0, 0, 0, time.UTC), []string{"mon", "tue"}, time.Date(2026, 3, 9, 13, 0, 0, 0, time.UTC)}, // Friday evening → Monday (summer time)
		{time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC), []string{"Sat"}, time.Date(2026, 3, 7, 14, 0, 0, 0, time.UTC)},        // case-insensitive
	} {
		if got := windowStart(c.at, c.days, from, to, ny); !got.Equal(c.want) {
			t.Errorf("%s %v: %s, want %s", c.at, c.days, got, c.want)
		}
	}
}

// A definition that does not compile is one 422 naming each field at
// fault, with a CEL fault's position.
func TestCompileNamesTheFieldAtFault(t *testing.T) {
	send := JourneyStep{ID: "s", Type: StepSend, Channel: "email", Template: "t"}
	for _, c := range []struct {
		name string
		d    JourneyDefinition
		want []string
	}{
		{"no trigger", JourneyDefinition{Steps: []JourneyStep{send}}, []string{"trigger.kind"}},
		{"unknown event", JourneyDefinition{Trigger: JourneyTrigger{Kind: TriggerEvent, Event: "order.shipped"}, Steps: []JourneyStep{send}}, []string{"trigger.event"}},
		{"filter", JourneyDefinition{Trigger: JourneyTrigger{Kind: TriggerEvent, Event: "order.placed", Filter: "entity.lines.exists(l,"}, Steps: []JourneyStep{send}}, []string{"trigger.filter"}},
		{"no steps", JourneyDefinition{Trigger: JourneyTrigger{Kind: TriggerAPI}}, []string{"steps"}},
		{"steps", JourneyDefinition{Trigger: JourneyTrigger{Kind: TriggerAPI}, Steps: []JourneyStep{
			{ID: "A", Type: StepWait, Delay: "1d"}, {ID: "w", Type: StepWait, Delay: "0d"}, {ID: "w", Type: StepSend, Channel: "fax"},
			{ID: "b", Type: StepBranch, Condition: "contact.tags", Then: "nowhere"}, {ID: "e", Type: StepWaitEvent, Event: "message.clicked", Delay: "3d", OnTimeout: "x"},
			{ID: "win", Type: StepWaitWindow, From: "18:00", To: "09:00", Days: []string{"friday"}}, {ID: "u", Type: StepUpdate}}},
			[]string{"steps[0].id", "steps[2].id", "steps[1].delay", "steps[2].channel", "steps[2].template", "steps[3].condition", "steps[3].then",
				"steps[4].on_timeout", "steps[5].days[0]", "steps[5].to", "steps[6]"}},
		{"date", JourneyDefinition{Trigger: JourneyTrigger{Kind: TriggerDate, Property: "anniversary", Offset: "1mo"}, Steps: []JourneyStep{send}},
			[]string{"trigger.property", "trigger.offset"}},
		{"goal and reentry", JourneyDefinition{Trigger: JourneyTrigger{Kind: TriggerAPI}, Steps: []JourneyStep{send},
			Goal: &JourneyGoal{}, Reentry: JourneyReentry{Mode: ReentryCooldown}, HoldoutPercent: 60}, []string{"goal", "reentry.cooldown", "holdout_percent"}},
	} {
		_, err := compile(c.d)
		e, ok := err.(*core.Error)
		if !ok || e.Code != core.CodeInvalid {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var got []string
		for _, f := range e.Fields {
			got = append(got, f.Path)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\n%v", c.name, diff, err)
		}
	}
	_, err := compile(JourneyDefinition{Trigger: JourneyTrigger{Kind: TriggerEvent, Event: "order.placed", Filter: "entity.total >"}, Steps: []JourneyStep{send}})
	if e, _ := err.(*core.Error); e == nil || !strings.HasPrefix(e.Fields[0].Message, "1:") || !strings.Contains(e.Fields[0].Message, "offset") {
		t.Errorf("a filter's fault has no position: %v", err)
	}
}

// A back-fill is due when a publish brings in a date trigger or moves its
// date, and only then (a scan of every contact is not free).
func TestDatesChanged(t *testing.T) {
	birthday := JourneyTrigger{Kind: TriggerDate, Property: "birthday", Offset: "9h", Yearly: true}
	with := func(f func(*JourneyTrigger)) JourneyTrigger { tr := birthday; f(&tr); return tr }
	tests := []struct {
		name string
		prev *JourneyTrigger
		next JourneyTrigger
		want bool
	}{
		{"first publish of a date", nil, birthday, true},
		{"first publish of an event", nil, JourneyTrigger{Kind: TriggerEvent, Event: "order.placed"}, false},
		{"from an event to a date", &JourneyTrigger{Kind: TriggerEvent, Event: "order.placed"}, birthday, true},
		{"the same date", &birthday, birthday, false},
		{"another offset", &birthday, with(func(t *JourneyTrigger) { t.Offset = "10h" }), true},
		{"another property", &birthday, with(func(t *JourneyTrigger) { t.Property = "custom.renewal" }), true},
		{"no longer yearly", &birthday, with(func(t *JourneyTrigger) { t.Yearly = false }), true},
		{"from a date to an event", &birthday, JourneyTrigger{Kind: TriggerEvent, Event: "order.placed"}, false},
	}
	for _, tt := range tests {
		if got := datesChanged(tt.prev, tt.next); got != tt.want {
			t.Errorf("%s: datesChanged = %v, want %v", tt.name, got, tt.want)
		}
	}
}
