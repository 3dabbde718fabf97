package messaging

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQuietUntil(t *testing.T) {
	t.Parallel()
	rome, ny := mustZone(t, "Europe/Rome"), mustZone(t, "America/New_York")
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	for _, tc := range []struct {
		name       string
		start, end string
		t          time.Time
		want       time.Time
	}{
		{"before a night span", "21:00", "08:00", at(rome, 2026, 5, 4, 20, 59), at(rome, 2026, 5, 4, 20, 59)},
		{"at its start", "21:00", "08:00", at(rome, 2026, 5, 4, 21, 0), at(rome, 2026, 5, 5, 8, 0)},
		{"after midnight", "21:00", "08:00", at(rome, 2026, 5, 5, 3, 0), at(rome, 2026, 5, 5, 8, 0)},
		{"a minute before its end", "21:00", "08:00", at(rome, 2026, 5, 5, 7, 59), at(rome, 2026, 5, 5, 8, 0)},
		{"at its end: sendable", "21:00", "08:00", at(rome, 2026, 5, 5, 8, 0), at(rome, 2026, 5, 5, 8, 0)},
		{"a day span", "12:00", "14:00", at(ny, 2026, 5, 4, 13, 0), at(ny, 2026, 5, 4, 14, 0)},
		{"after a day span", "12:00", "14:00", at(ny, 2026, 5, 4, 14, 0), at(ny, 2026, 5, 4, 14, 0)},
		// The nights the clocks change: the span ends at 08:00 wall clock.
		{"Rome, spring forward", "21:00", "08:00", at(rome, 2026, 3, 28, 22, 0), at(rome, 2026, 3, 29, 8, 0)},
		{"Rome, fall back", "21:00", "08:00", at(rome, 2026, 10, 24, 22, 0), at(rome, 2026, 10, 25, 8, 0)},
		{"New York, spring forward", "21:00", "08:00", at(ny, 2026, 3, 8, 1, 30), at(ny, 2026, 3, 8, 8, 0)},
		{"New York, fall back", "21:00", "08:00", at(ny, 2026, 11, 1, 1, 30), at(ny, 2026, 11, 1, 8, 0)},
		// A boundary in the spring-forward gap (02:00–03:00 does not exist
		// on 8 March in New York): it ends at the instant the clocks jump.
		{"end in the gap", "00:00", "02:30", at(ny, 2026, 3, 8, 1, 0), time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		// A time inside the fall-back repeat (01:00–02:00 twice on 1
		// November): both 01:30s are in a span 01:00–01:45 read on the
		// first, and the second 01:30 is past the span's end.
		{"first 01:30 of the repeat", "01:00", "01:45", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 45, 0, 0, time.UTC)},
		{"second 01:30 of the repeat", "01:00", "01:45", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)},
	} {
		p := Policy{QuietHours: map[string]QuietHours{"*": {Start: tc.start, End: tc.end}}}
		if err := p.Normalize(); err != nil {
			t.Fatal(err)
		}
		q, _ := p.quiet(Email)
		loc := tc.t.Location()
		if loc == time.UTC {
			loc = ny
		}
		if got := q.QuietUntil(tc.t, loc); !got.Equal(tc.want) {
			t.Errorf("%s: QuietUntil(%v) = %v, want %v", tc.name, tc.t.In(loc), got.In(loc), tc.want.In(loc))
		}
	}
}

func TestCapsAllow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	ago := func(h int) time.Time { return now.Add(-time.Duration(h) * time.Hour) }
	emailDaily := Cap{Channel: "email", Max: 2, Window: "24h"}
	anyWeekly := Cap{Channel: "*", Max: 3, Window: "168h"}
	reserved := Cap{Channel: "email", Max: 3, Window: "24h", Reserved: 1}
	for _, tc := range []struct {
		name   string
		caps   []Cap
		log    []send
		ch     Channel
		pr     Priority
		ok     bool
		freeAt time.Time
	}{
		{"no caps", nil, []send{{ago(1), Email}, {ago(2), Email}}, Email, PriorityNormal, true, time.Time{}},
		{"under the cap", []Cap{emailDaily}, []send{{ago(1), Email}}, Email, PriorityNormal, true, time.Time{}},
		{"at the cap: free when the oldest leaves", []Cap{emailDaily}, []send{{ago(3), Email}, {ago(1), Email}}, Email, PriorityNormal, false, ago(3).Add(24 * time.Hour)},
		{"older sends do not count", []Cap{emailDaily}, []send{{ago(30), Email}, {ago(1), Email}}, Email, PriorityNormal, true, time.Time{}},
		{"another channel does not count", []Cap{emailDaily}, []send{{ago(3), SMS}, {ago(1), SMS}}, Email, PriorityNormal, true, time.Time{}},
		{"an uncapped channel passes", []Cap{emailDaily}, []send{{ago(3), Email}, {ago(1), Email}}, SMS, PriorityNormal, true, time.Time{}},
		{"across channels", []Cap{anyWeekly}, []send{{ago(100), SMS}, {ago(50), Push}, {ago(1), Email}}, Email, PriorityNormal, false, ago(100).Add(168 * time.Hour)},
		{"both caps: the later free time", []Cap{emailDaily, anyWeekly},
			[]send{{ago(100), SMS}, {ago(5), Email}, {ago(1), Email}}, Email, PriorityNormal, false, ago(100).Add(168 * time.Hour)},
		{"over the cap (a lower one set later): free when enough leave", []Cap{emailDaily},
			[]send{{ago(5), Email}, {ago(4), Email}, {ago(3), Email}, {ago(1), Email}}, Email, PriorityNormal, false, ago(3).Add(24 * time.Hour)},
		{"normal: the reserved slot is not its", []Cap{reserved}, []send{{ago(3), Email}, {ago(1), Email}}, Email, PriorityNormal, false, ago(3).Add(24 * time.Hour)},
		{"high: takes the reserved slot", []Cap{reserved}, []send{{ago(3), Email}, {ago(1), Email}}, Email, PriorityHigh, true, time.Time{}},
		{"high: capped at max", []Cap{reserved}, []send{{ago(3), Email}, {ago(2), Email}, {ago(1), Email}}, Email, PriorityHigh, false, ago(3).Add(24 * time.Hour)},
	} {
		p := Policy{Caps: tc.caps}
		if err := p.Normalize(); err != nil {
			t.Fatal(err)
		}
		ok, free := p.capsAllow(tc.log, tc.ch, tc.pr, now)
		if ok != tc.ok || !free.Equal(tc.freeAt) {
			t.Errorf("%s: capsAllow = %v, %v; want %v, %v", tc.name, ok, free, tc.ok, tc.freeAt)
		}
	}
}

func TestKeepTrimsTheLog(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	p := Policy{Caps: []Cap{{Channel: "email", Max: 2, Window: "24h"}, {Channel: "sms", Max: 1, Window: "48h"}}}
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	log := []send{{now.Add(-50 * time.Hour), SMS}, {now.Add(-47 * time.Hour), SMS}, {now.Add(-time.Hour), Push}, {now.Add(-time.Hour), Email}}
	got := p.keep(log, now)
	want := []send{{now.Add(-47 * time.Hour), SMS}, {now.Add(-time.Hour), Email}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}

func TestPolicyNormalizeNamesTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    Policy
		path string
	}{
		{"unknown channel", Policy{Caps: []Cap{{Channel: "fax", Max: 1, Window: "24h"}}}, "caps[0].channel"},
		{"zero max", Policy{Caps: []Cap{{Channel: "email", Max: 0, Window: "24h"}}}, "caps[0].max"},
		{"bad window", Policy{Caps: []Cap{{Channel: "email", Max: 1, Window: "a day"}}}, "caps[0].window"},
		{"window too long", Policy{Caps: []Cap{{Channel: "email", Max: 1, Window: "3000h"}}}, "caps[0].window"},
		{"reserve all", Policy{Caps: []Cap{{Channel: "email", Max: 2, Window: "24h", Reserved: 2}}}, "caps[0].reserved"},
		{"bad start", Policy{QuietHours: map[string]QuietHours{"sms": {Start: "9pm", End: "08:00"}}}, "quiet_hours.sms.start"},
		{"hour 24", Policy{QuietHours: map[string]QuietHours{"sms": {Start: "21:00", End: "24:00"}}}, "quiet_hours.sms.end"},
		{"empty span", Policy{QuietHours: map[string]QuietHours{"sms": {Start: "08:00", End: "08:00"}}}, "quiet_hours.sms.end"},
		{"unknown channel key", Policy{QuietHours: map[string]QuietHours{"fax": {Start: "21:00", End: "08:00"}}}, "quiet_hours.fax"},
	} {
		err := tc.p.Normalize()
		e, ok := err.(*core.Error)
		if !ok || len(e.Fields) != 1 || e.Fields[0].Path != tc.path {
			t.Errorf("%s: %v, want one problem at %s", tc.name, err, tc.path)
		}
	}
}

func TestRecipientZone(t *testing.T) {
	t.Parallel()
	tenant := core.Tenant{ID: "acme", TimeZone: "Europe/Lisbon"}
	for _, tc := range []struct {
		name       string
		c          core.Contact
		zone, from string
	}{
		{"the contact's own", core.Contact{ContactFields: core.ContactFields{TimeZone: "Asia/Tokyo", Phones: []core.Phone{{Number: "+390612345678"}}}}, "Asia/Tokyo", ZoneContact},
		{"an Italian number", core.Contact{ContactFields: core.ContactFields{Phones: []core.Phone{{Number: "+393471234567"}}}}, "Europe/Rome", ZonePhone},
		{"a New York number", core.Contact{ContactFields: core.ContactFields{Phones: []core.Phone{{Number: "+12125550123"}}}}, "America/New_York", ZonePhone},
		{"a one-zone country", core.Contact{ContactFields: core.ContactFields{Address: &core.Address{Country: "DE"}}}, "Europe/Berlin", ZoneCountry},
		{"a many-zone country: the tenant's", core.Contact{ContactFields: core.ContactFields{Address: &core.Address{Country: "US"}}}, "Europe/Lisbon", ZoneTenant},
		{"nothing: the tenant's", core.Contact{}, "Europe/Lisbon", ZoneTenant},
	} {
		loc, from := RecipientZone(tc.c, tenant)
		if loc.String() != tc.zone || from != tc.from {
			t.Errorf("%s: %s (%s), want %s (%s)", tc.name, loc, from, tc.zone, tc.from)
		}
	}
}

func TestRequestNormalize(t *testing.T) {
	t.Parallel()
	ok := Request{ContactID: core.NewID(time.Now()), Channel: Email, Template: "t", CampaignID: "c", Step: "1"}
	for _, tc := range []struct {
		name   string
		change func(r *Request)
		path   string
	}{
		{"no contact", func(r *Request) { r.ContactID = "x" }, "contact_id"},
		{"no channel", func(r *Request) { r.Channel = "fax" }, "channel"},
		{"no template", func(r *Request) { r.Template = " " }, "template"},
		{"no name", func(r *Request) { r.CampaignID, r.Step = "", "" }, "campaign_id"},
		{"both names", func(r *Request) { r.Key = "k" }, "key"},
		{"a # in a name", func(r *Request) { r.Step = "a#b" }, "step"},
		{"bad priority", func(r *Request) { r.Priority = "urgent" }, "priority"},
		{"bad on_cap", func(r *Request) { r.OnCap = "queue" }, "on_cap"},
		{"expires first", func(r *Request) { r.NotBefore, r.Expires = time.Now(), time.Now().Add(-time.Hour) }, "expires"},
		{"huge merge", func(r *Request) { r.Merge = map[string]any{"x": string(make([]byte, MaxMergeBytes))} }, "merge"},
	} {
		r := ok
		tc.change(&r)
		err := r.Normalize()
		e, isErr := err.(*core.Error)
		if !isErr || len(e.Fields) != 1 || e.Fields[0].Path != tc.path {
			t.Errorf("%s: %v, want one problem at %s", tc.name, err, tc.path)
		}
	}
	r := ok
	if err := r.Normalize(); err != nil || r.Priority != PriorityNormal || r.OnCap != CapDefer {
		t.Errorf("a good request: %v, %+v", err, r)
	}
}
