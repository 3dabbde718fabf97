package core_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oklog/ulid/v2"

	"github.com/fedele-crm/fedele/core"
)

// now is the clock of every validation in these tests.
var now = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// customDefs defines one custom field of every type, for both entities.
func customDefs(entity core.Entity) []core.FieldDef {
	return []core.FieldDef{
		{Entity: entity, Key: "nickname", Label: "Nickname", Type: core.FieldText},
		{Entity: entity, Key: "score", Label: "Score", Type: core.FieldNumber},
		{Entity: entity, Key: "vip", Label: "VIP", Type: core.FieldBoolean},
		{Entity: entity, Key: "renewal", Label: "Renewal", Type: core.FieldDate},
		{Entity: entity, Key: "tier", Label: "Tier", Type: core.FieldEnum, Options: []string{"gold", "silver"}},
	}
}

func contactRules() core.Rules {
	return core.Rules{DefaultRegion: "IT", Fields: customDefs(core.EntityContact), Now: now}
}

// faultPaths returns the sorted paths of the field errors in err, failing the
// test when err is not an invalid-request *core.Error.
func faultPaths(t *testing.T, err error) []string {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *core.Error, got %T: %v", err, err)
	}
	if e.Code != core.CodeInvalid {
		t.Errorf("error code: want %q, got %q (%v)", core.CodeInvalid, e.Code, e)
	}
	paths := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		paths[i] = f.Path
	}
	slices.Sort(paths)
	return paths
}

// checkFaults checks that err names exactly the fields in want (any order;
// nil want means err must be nil).
func checkFaults(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("want no error, got %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want an error naming %q, got nil", want)
	}
	want = slices.Sorted(slices.Values(want))
	if diff := cmp.Diff(want, faultPaths(t, err)); diff != "" {
		t.Errorf("field paths at fault (-want +got):\n%s\nerror: %v", diff, err)
	}
}

func TestContactNormalizeReportsEveryFault(t *testing.T) {
	f := core.ContactFields{
		FirstName: "Ann\x01",
		LastName:  strings.Repeat("x", 201),
		Emails: []core.Email{
			{Address: "not-an-address"},
			{Address: "ann@example.com", Label: "home"},
			{Address: "ANN@example.com"},
		},
		Phones:         []core.Phone{{Number: "123"}, {Number: "+39 333 123 4567", Label: "fax"}},
		CompanyID:      "acme",
		OwnerID:        strings.Repeat("o", 129),
		Tags:           []string{"ok", "#hash", ""},
		Birthday:       "1985-02-30",
		Address:        &core.Address{City: strings.Repeat("c", 101), PostalCode: "0\n1", Country: "Italy"},
		LifecycleStage: "prospect",
		Source:         "tv",
		Consent: &core.Consent{
			Email: &core.ChannelConsent{Status: "maybe", Source: "form"},
			SMS:   &core.ChannelConsent{Status: core.ConsentGranted},
			Push:  &core.ChannelConsent{Status: core.ConsentDenied, Source: "app", At: now.Add(time.Hour)},
		},
		Custom: map[string]any{"nickname": 7, "shoe_size": 42.0, "tier": "bronze"},
	}
	err := f.Normalize(contactRules())
	checkFaults(t, err, []string{
		"first_name", "last_name",
		"emails[0].address", "emails[1].label", "emails[2].address",
		"phones[0].number", "phones[1].label",
		"company_id", "owner_id", "tags[1]", "tags[2]", "birthday",
		"address.city", "address.postal_code", "address.country",
		"lifecycle_stage", "source",
		"consent.email.status", "consent.sms.source", "consent.push.at",
		"custom.nickname", "custom.shoe_size", "custom.tier",
	})
	if got := core.ErrorCode(err); got != core.CodeInvalid {
		t.Errorf("ErrorCode: want %q, got %q", core.CodeInvalid, got)
	}
}

func TestContactNormalizeStoredForm(t *testing.T) {
	companyID, ownerID := core.NewID(now), core.NewID(now.Add(time.Second))
	f := core.ContactFields{
		FirstName: "  Ann ",
		LastName:  "\tLee\n",
		Emails: []core.Email{
			{Address: " Ann.Lee@Example.COM ", Label: "work"},
			{Address: "ann@home.example.org", Label: "personal"},
		},
		Phones:    []core.Phone{{Number: "06 1234 5678", Label: "work"}, {Number: "+1 (202) 555-0123"}},
		CompanyID: companyID,
		OwnerID:   " " + ownerID + " ",
		Tags:      []string{" VIP ", "vip", "Newsletter", "newsletter ", "Über"},
		Birthday:  "1990-07-01",
		Address:   &core.Address{Line1: " Via Roma 1 ", City: " Roma ", PostalCode: " 00100 ", Country: "it"},
		Source:    "web",
		Consent: &core.Consent{
			Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: " signup form "},
			Post:  &core.ChannelConsent{Status: core.ConsentDenied, Source: "call", At: time.Date(2024, 1, 2, 10, 0, 0, 0, time.FixedZone("CET", 3600))},
		},
		Custom: map[string]any{"nickname": "Annie", "score": 4.5, "vip": true, "renewal": "2024-02-29", "tier": "gold", "gone": nil},
	}
	if err := f.Normalize(contactRules()); err != nil {
		t.Fatalf("Normalize: want no error, got %v", err)
	}
	want := core.ContactFields{
		FirstName: "Ann",
		LastName:  "Lee",
		Emails: []core.Email{
			{Address: "ann.lee@example.com", Label: "work", Primary: true},
			{Address: "ann@home.example.org", Label: "personal"},
		},
		Phones:         []core.Phone{{Number: "+390612345678", Label: "work"}, {Number: "+12025550123"}},
		CompanyID:      companyID,
		OwnerID:        ownerID,
		Tags:           []string{"vip", "newsletter", "über"},
		Birthday:       "1990-07-01",
		Address:        &core.Address{Line1: "Via Roma 1", City: "Roma", PostalCode: "00100", Country: "IT"},
		LifecycleStage: core.StageLead,
		Source:         "web",
		Consent: &core.Consent{
			Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "signup form", At: now},
			Post:  &core.ChannelConsent{Status: core.ConsentDenied, Source: "call", At: time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)},
		},
		Custom: map[string]any{"nickname": "Annie", "score": 4.5, "vip": true, "renewal": "2024-02-29", "tier": "gold"},
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("normalised contact (-want +got):\n%s", diff)
	}
	if f.Consent.Post.At.Location() != time.UTC {
		t.Errorf("consent.post.at: want a UTC time, got location %v", f.Consent.Post.At.Location())
	}
	if got := f.PrimaryEmail(); got != "ann.lee@example.com" {
		t.Errorf("PrimaryEmail: want %q, got %q", "ann.lee@example.com", got)
	}
}

func TestContactNormalize(t *testing.T) {
	tooMany := func(n int, mk func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = mk(i)
		}
		return out
	}
	emails := func(addrs ...string) []core.Email {
		out := make([]core.Email, len(addrs))
		for i, a := range addrs {
			out[i] = core.Email{Address: a}
		}
		return out
	}
	tests := []struct {
		name   string
		in     core.ContactFields
		rules  func(*core.Rules) // changes to contactRules(), if any
		faults []string          // nil: valid
		check  func(t *testing.T, got core.ContactFields)
		// anonymous keeps a contact with no name, e-mail or phone as it is;
		// any other such case gets a first name, as it is about another rule.
		anonymous bool
	}{
		// Who the contact is: a name, an e-mail address or a phone number.
		{name: "empty contact", in: core.ContactFields{}, anonymous: true, faults: []string{""}},
		{name: "only tags, a stage and custom values", anonymous: true, faults: []string{""},
			in: core.ContactFields{Tags: []string{"vip"}, LifecycleStage: core.StageMQL, Custom: map[string]any{"vip": true}}},
		{name: "only blank names", in: core.ContactFields{FirstName: " ", LastName: "\t"}, anonymous: true, faults: []string{""}},
		{name: "a first name alone, becomes a lead", in: core.ContactFields{FirstName: "Ann"},
			check: func(t *testing.T, got core.ContactFields) {
				if diff := cmp.Diff(core.ContactFields{FirstName: "Ann", LifecycleStage: core.StageLead}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}},
		{name: "a last name alone", in: core.ContactFields{LastName: "Lee"}},
		{name: "an e-mail address alone", in: core.ContactFields{Emails: emails("ann@example.com")}},
		{name: "a phone number alone", in: core.ContactFields{Phones: []core.Phone{{Number: "+12025550123"}}}},

		// E-mail addresses.
		{name: "first address becomes primary", in: core.ContactFields{Emails: emails("b@example.com", "c@example.com")},
			check: func(t *testing.T, got core.ContactFields) {
				want := []core.Email{{Address: "b@example.com", Primary: true}, {Address: "c@example.com"}}
				if diff := cmp.Diff(want, got.Emails); diff != "" {
					t.Errorf("emails (-want +got):\n%s", diff)
				}
			}},
		{name: "explicit primary is kept", in: core.ContactFields{Emails: []core.Email{{Address: "b@example.com"}, {Address: "c@example.com", Primary: true}}},
			check: func(t *testing.T, got core.ContactFields) {
				want := []core.Email{{Address: "b@example.com"}, {Address: "c@example.com", Primary: true}}
				if diff := cmp.Diff(want, got.Emails); diff != "" {
					t.Errorf("emails (-want +got):\n%s", diff)
				}
			}},
		{name: "two primaries", in: core.ContactFields{Emails: []core.Email{{Address: "b@example.com", Primary: true}, {Address: "c@example.com", Primary: true}}},
			faults: []string{"emails"}},
		{name: "duplicate address after normalisation", in: core.ContactFields{Emails: emails("b@example.com", "c@example.com", " B@Example.com")},
			faults: []string{"emails[2].address"}},
		{name: "bad address", in: core.ContactFields{Emails: emails("b@example.com", "Bob <c@example.com>")},
			faults: []string{"emails[1].address"}},
		{name: "bad e-mail label", in: core.ContactFields{Emails: []core.Email{{Address: "b@example.com", Label: "Work"}}},
			faults: []string{"emails[0].label"}},
		{name: "ten addresses", in: core.ContactFields{Emails: emails(tooMany(10, func(i int) string { return fmt.Sprintf("c%d@example.com", i) })...)}},
		{name: "eleven addresses", in: core.ContactFields{Emails: emails(tooMany(11, func(i int) string { return fmt.Sprintf("c%d@example.com", i) })...)},
			faults: []string{"emails"}},

		// Phone numbers.
		{name: "national number read in the tenant's region", in: core.ContactFields{Phones: []core.Phone{{Number: "020 7946 0958"}}},
			rules: func(r *core.Rules) { r.DefaultRegion = "GB" },
			check: func(t *testing.T, got core.ContactFields) {
				if got.Phones[0].Number != "+442079460958" {
					t.Errorf("phones[0].number: want %q, got %q", "+442079460958", got.Phones[0].Number)
				}
			}},
		{name: "national number of another region", in: core.ContactFields{Phones: []core.Phone{{Number: "020 7946 0958"}}},
			rules: func(r *core.Rules) { r.DefaultRegion = "US" }, faults: []string{"phones[0].number"}},
		{name: "bad phone label", in: core.ContactFields{Phones: []core.Phone{{Number: "+12025550123", Label: "pager"}}},
			faults: []string{"phones[0].label"}},
		{name: "eleven phones", in: core.ContactFields{Phones: slices.Repeat([]core.Phone{{Number: "+12025550123"}}, 11)},
			faults: []string{"phones"}},

		// Tags.
		{name: "tags trimmed, lower-cased, deduplicated in order", in: core.ContactFields{Tags: []string{" B ", "a", "b", "A", "c "}},
			check: func(t *testing.T, got core.ContactFields) {
				if diff := cmp.Diff([]string{"b", "a", "c"}, got.Tags); diff != "" {
					t.Errorf("tags (-want +got):\n%s", diff)
				}
			}},
		{name: "bad tags", in: core.ContactFields{Tags: []string{"ok", " ", "#1", "a\x00b", strings.Repeat("é", 65), strings.Repeat("é", 64)}},
			faults: []string{"tags[1]", "tags[2]", "tags[3]", "tags[4]"}},
		{name: "thirty-one tags", in: core.ContactFields{Tags: tooMany(31, func(i int) string { return fmt.Sprintf("t%d", i) })},
			faults: []string{"tags"}},

		// Lifecycle stage and source.
		{name: "known lifecycle stage", in: core.ContactFields{LifecycleStage: core.StageCustomer},
			check: func(t *testing.T, got core.ContactFields) {
				if got.LifecycleStage != core.StageCustomer {
					t.Errorf("lifecycle_stage: want %q, got %q", core.StageCustomer, got.LifecycleStage)
				}
			}},
		{name: "unknown lifecycle stage", in: core.ContactFields{LifecycleStage: "prospect"}, faults: []string{"lifecycle_stage"}},
		{name: "lifecycle stage is case-sensitive", in: core.ContactFields{LifecycleStage: "Lead"}, faults: []string{"lifecycle_stage"}},
		{name: "unknown source", in: core.ContactFields{Source: "billboard"}, faults: []string{"source"}},

		// Birthday.
		{name: "birthday today", in: core.ContactFields{Birthday: now.Format(time.DateOnly)}},
		{name: "birthday 1900-01-01", in: core.ContactFields{Birthday: "1900-01-01"}},
		{name: "birthday tomorrow in UTC (today east of it)", in: core.ContactFields{Birthday: now.AddDate(0, 0, 1).Format(time.DateOnly)}},
		{name: "birthday after tomorrow", in: core.ContactFields{Birthday: now.AddDate(0, 0, 2).Format(time.DateOnly)}, faults: []string{"birthday"}},
		{name: "birthday before 1900", in: core.ContactFields{Birthday: "1899-12-31"}, faults: []string{"birthday"}},
		{name: "birthday not a date", in: core.ContactFields{Birthday: "next week"}, faults: []string{"birthday"}},
		{name: "birthday day-first", in: core.ContactFields{Birthday: "01/07/1990"}, faults: []string{"birthday"}},
		{name: "birthday with time", in: core.ContactFields{Birthday: "1990-07-01T00:00:00Z"}, faults: []string{"birthday"}},
		{name: "birthday 31 June", in: core.ContactFields{Birthday: "1990-06-31"}, faults: []string{"birthday"}},

		// Consent.
		{name: "consent without source", in: core.ContactFields{Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted}}},
			faults: []string{"consent.email.source"}},
		{name: "consent with blank source", in: core.ContactFields{Consent: &core.Consent{Phone: &core.ChannelConsent{Status: core.ConsentDenied, Source: "  "}}},
			faults: []string{"consent.phone.source"}},
		{name: "consent source too long", in: core.ContactFields{Consent: &core.Consent{Phone: &core.ChannelConsent{Status: core.ConsentDenied, Source: strings.Repeat("s", 201)}}},
			faults: []string{"consent.phone.source"}},
		{name: "consent without status", in: core.ContactFields{Consent: &core.Consent{SMS: &core.ChannelConsent{Source: "form"}}},
			faults: []string{"consent.sms.status"}},
		{name: "consent time filled with Rules.Now", in: core.ContactFields{Consent: &core.Consent{SMS: &core.ChannelConsent{Status: core.ConsentGranted, Source: "form"}}},
			check: func(t *testing.T, got core.ContactFields) {
				if !got.Consent.SMS.At.Equal(now) {
					t.Errorf("consent.sms.at: want %v, got %v", now, got.Consent.SMS.At)
				}
			}},
		{name: "consent time given is kept", in: core.ContactFields{Consent: &core.Consent{Push: &core.ChannelConsent{Status: core.ConsentGranted, Source: "app", At: now.Add(-48 * time.Hour)}}},
			check: func(t *testing.T, got core.ContactFields) {
				if want := now.Add(-48 * time.Hour); !got.Consent.Push.At.Equal(want) {
					t.Errorf("consent.push.at: want %v, got %v", want, got.Consent.Push.At)
				}
			}},
		{name: "consent time within a minute of now is tolerated", in: core.ContactFields{Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "form", At: now.Add(30 * time.Second)}}}},
		{name: "consent time in the future", in: core.ContactFields{Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "form", At: now.Add(2 * time.Minute)}}},
			faults: []string{"consent.email.at"}},
		{name: "empty consent is valid", in: core.ContactFields{Consent: &core.Consent{}}},

		// Address.
		{name: "country code upper-cased", in: core.ContactFields{Address: &core.Address{Country: " de "}},
			check: func(t *testing.T, got core.ContactFields) {
				if got.Address.Country != "DE" {
					t.Errorf("address.country: want %q, got %q", "DE", got.Address.Country)
				}
			}},
		{name: "unknown country code", in: core.ContactFields{Address: &core.Address{Country: "XX"}}, faults: []string{"address.country"}},
		{name: "alpha-3 country code", in: core.ContactFields{Address: &core.Address{Country: "ITA"}}, faults: []string{"address.country"}},
		{name: "country name", in: core.ContactFields{Address: &core.Address{Country: "Germany"}}, faults: []string{"address.country"}},
		{name: "address lines too long", in: core.ContactFields{Address: &core.Address{Line1: strings.Repeat("l", 201), Line2: strings.Repeat("l", 201), Region: strings.Repeat("r", 101), PostalCode: strings.Repeat("9", 21)}},
			faults: []string{"address.line1", "address.line2", "address.region", "address.postal_code"}},

		// Names, company and owner.
		{name: "first name of 200 characters", in: core.ContactFields{FirstName: strings.Repeat("é", 200)}},
		{name: "first name of 201 characters", in: core.ContactFields{FirstName: strings.Repeat("é", 201)}, faults: []string{"first_name"}},
		{name: "last name not UTF-8", in: core.ContactFields{LastName: "L\xffe"}, faults: []string{"last_name"}},
		{name: "company id not an id", in: core.ContactFields{CompanyID: "acme"}, faults: []string{"company_id"}},
		{name: "company id in lower case", in: core.ContactFields{CompanyID: strings.ToLower(core.NewID(now))}, faults: []string{"company_id"}},
		{name: "owner id with a control character", in: core.ContactFields{OwnerID: "u\x1b1"}, faults: []string{"owner_id"}},
		{name: "owner id not a user id", in: core.ContactFields{OwnerID: "rep-7"}, faults: []string{"owner_id"}},
		{name: "owner id a user id", in: core.ContactFields{OwnerID: " " + core.NewID(now) + " "}},

		// Custom fields.
		{name: "custom fields of every type, valid", in: core.ContactFields{Custom: map[string]any{
			"nickname": strings.Repeat("ñ", 1000), "score": -0.5, "vip": false, "renewal": "2030-12-31", "tier": "silver"}}},
		{name: "custom text too long", in: core.ContactFields{Custom: map[string]any{"nickname": strings.Repeat("ñ", 1001)}}, faults: []string{"custom.nickname"}},
		{name: "custom text not a string", in: core.ContactFields{Custom: map[string]any{"nickname": true}}, faults: []string{"custom.nickname"}},
		{name: "custom number given as a string", in: core.ContactFields{Custom: map[string]any{"score": "3"}}, faults: []string{"custom.score"}},
		{name: "custom number NaN", in: core.ContactFields{Custom: map[string]any{"score": math.NaN()}}, faults: []string{"custom.score"}},
		{name: "custom number infinite", in: core.ContactFields{Custom: map[string]any{"score": math.Inf(1)}}, faults: []string{"custom.score"}},
		{name: "custom boolean given as a string", in: core.ContactFields{Custom: map[string]any{"vip": "true"}}, faults: []string{"custom.vip"}},
		{name: "custom boolean given as a number", in: core.ContactFields{Custom: map[string]any{"vip": 1.0}}, faults: []string{"custom.vip"}},
		{name: "custom date not a day of the calendar", in: core.ContactFields{Custom: map[string]any{"renewal": "2023-02-29"}}, faults: []string{"custom.renewal"}},
		{name: "custom date in another format", in: core.ContactFields{Custom: map[string]any{"renewal": "2023/02/28"}}, faults: []string{"custom.renewal"}},
		{name: "custom date given as a number", in: core.ContactFields{Custom: map[string]any{"renewal": 20230228.0}}, faults: []string{"custom.renewal"}},
		{name: "custom enum not an option", in: core.ContactFields{Custom: map[string]any{"tier": "bronze"}}, faults: []string{"custom.tier"}},
		{name: "custom enum option in another case", in: core.ContactFields{Custom: map[string]any{"tier": "Gold"}}, faults: []string{"custom.tier"}},
		{name: "custom enum given as a list", in: core.ContactFields{Custom: map[string]any{"tier": []any{"gold"}}}, faults: []string{"custom.tier"}},
		{name: "every custom type invalid at once", in: core.ContactFields{Custom: map[string]any{
			"nickname": 1.0, "score": false, "vip": "no", "renewal": "tomorrow", "tier": 2.0}},
			faults: []string{"custom.nickname", "custom.score", "custom.vip", "custom.renewal", "custom.tier"}},
		{name: "undefined custom key", in: core.ContactFields{Custom: map[string]any{"score": 1.0, "nicknme": "typo"}}, faults: []string{"custom.nicknme"}},
		{name: "a company's custom key on a contact", in: core.ContactFields{Custom: map[string]any{"employees": 5.0}},
			rules: func(r *core.Rules) {
				defs := append(customDefs(core.EntityContact), core.FieldDef{Entity: core.EntityCompany, Key: "employees", Label: "Employees", Type: core.FieldNumber})
				r.Fields = core.Tenant{CustomFields: defs}.Rules(core.EntityContact, now).Fields
			},
			faults: []string{"custom.employees"}},
		{name: "custom key with no definitions at all", in: core.ContactFields{Custom: map[string]any{"score": 1.0}},
			rules: func(r *core.Rules) { r.Fields = nil }, faults: []string{"custom.score"}},
		{name: "null custom values dropped, even of undefined keys", in: core.ContactFields{Custom: map[string]any{"score": 2.0, "vip": nil, "old_field": nil}},
			check: func(t *testing.T, got core.ContactFields) {
				if diff := cmp.Diff(map[string]any{"score": 2.0}, got.Custom); diff != "" {
					t.Errorf("custom (-want +got):\n%s", diff)
				}
			}},
		{name: "only null custom values leave no map", in: core.ContactFields{Custom: map[string]any{"vip": nil}},
			check: func(t *testing.T, got core.ContactFields) {
				if got.Custom != nil {
					t.Errorf("custom: want nil, got %#v", got.Custom)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := contactRules()
			if tt.rules != nil {
				tt.rules(&r)
			}
			f := tt.in
			if !tt.anonymous && !f.Identified() {
				f.FirstName = "Ann"
			}
			err := f.Normalize(r)
			checkFaults(t, err, tt.faults)
			if err == nil && tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestContactNormalizeIsIdempotent(t *testing.T) {
	f := core.ContactFields{
		FirstName: " Ann ",
		Emails:    []core.Email{{Address: "B@example.com"}, {Address: "a@example.com"}},
		Phones:    []core.Phone{{Number: "333 1234567"}},
		Tags:      []string{"X", "x", "y"},
		Address:   &core.Address{Country: "it"},
		Consent:   &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "form"}},
		Custom:    map[string]any{"score": 1.0, "vip": nil},
	}
	if err := f.Normalize(contactRules()); err != nil {
		t.Fatalf("first Normalize: want no error, got %v", err)
	}
	once := f
	once.Emails = slices.Clone(f.Emails)
	once.Phones = slices.Clone(f.Phones)
	once.Tags = slices.Clone(f.Tags)
	once.Custom = maps.Clone(f.Custom)
	addr, consent, email := *f.Address, *f.Consent, *f.Consent.Email
	once.Address, once.Consent = &addr, &consent
	once.Consent.Email = &email
	rules := contactRules()
	rules.Now = now.Add(time.Hour) // a later write must not move the stored consent time
	if err := f.Normalize(rules); err != nil {
		t.Fatalf("second Normalize: want no error, got %v", err)
	}
	if diff := cmp.Diff(once, f); diff != "" {
		t.Errorf("normalising a normalised contact changed it (-first +second):\n%s", diff)
	}
}

func TestFieldErrorsCarryTheRefusedValue(t *testing.T) {
	f := core.ContactFields{Emails: []core.Email{{Address: "nope"}}, Phones: []core.Phone{{Number: "12"}}}
	var e *core.Error
	if !errors.As(f.Normalize(contactRules()), &e) {
		t.Fatal("want a *core.Error")
	}
	want := []core.FieldError{
		{Path: "emails[0].address", Message: core.ErrBadEmail.Error(), Value: "nope"},
		{Path: "phones[0].number", Message: core.ErrBadPhone.Error() + " (E.164, or national in the tenant's region)", Value: "12"},
	}
	if diff := cmp.Diff(want, e.Fields); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
	if msg := e.Error(); !strings.Contains(msg, "emails[0].address: ") || !strings.Contains(msg, "phones[0].number: ") {
		t.Errorf("Error(): want both paths in %q", msg)
	}
}

func TestPrincipalCan(t *testing.T) {
	all := core.Scopes
	tests := []struct {
		name   string
		scopes []core.Scope
		want   []core.Scope // the scopes Can must grant; every other one is refused
	}{
		{"no scopes", nil, nil},
		{"read", []core.Scope{core.ScopeRead}, []core.Scope{core.ScopeRead}},
		{"write implies read", []core.Scope{core.ScopeWrite}, []core.Scope{core.ScopeWrite, core.ScopeRead}},
		{"plugins admin alone", []core.Scope{core.ScopePluginsAdmin}, []core.Scope{core.ScopePluginsAdmin}},
		{"read and plugins", []core.Scope{core.ScopeRead, core.ScopePluginsAdmin}, []core.Scope{core.ScopeRead, core.ScopePluginsAdmin}},
		{"admin implies all", []core.Scope{core.ScopeAdmin}, all},
		{"admin among others", []core.Scope{core.ScopeRead, core.ScopeAdmin}, all},
		{"unknown scope grants nothing", []core.Scope{"crm:*"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := core.Principal{TenantID: "acme", KeyID: "k1", Scopes: tt.scopes}
			for _, s := range all {
				if got, want := p.Can(s), slices.Contains(tt.want, s); got != want {
					t.Errorf("Principal{Scopes: %v}.Can(%q): want %v, got %v", tt.scopes, s, want, got)
				}
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range core.Scopes {
		if got, ok := core.ParseScope(string(s)); !ok || got != s {
			t.Errorf("ParseScope(%q) = %q, %v; want %q, true", s, got, ok, s)
		}
	}
	for _, s := range []string{"", "read", "CRM:READ", "crm:read "} {
		if got, ok := core.ParseScope(s); ok {
			t.Errorf("ParseScope(%q) = %q, true; want refused", s, got)
		}
	}
}

func TestValidTenantID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"acme", true},
		{"a", true},
		{"7", true},
		{"acme-2", true},
		{"0acme", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Acme", false},
		{"-acme", false},
		{"acme_corp", false},
		{"acme.com", false},
		{"acme corp", false},
		{"acme\n", false},
		{"acme/other", false},
		{"acme#1", false},
		{"àcme", false},
	}
	for _, tt := range tests {
		if got := core.ValidTenantID(tt.id); got != tt.want {
			t.Errorf("ValidTenantID(%q): want %v, got %v", tt.id, tt.want, got)
		}
	}
}

func TestNewIDMonotonicWithinOneMillisecond(t *testing.T) {
	const n = 1000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = core.NewID(now) // one millisecond for all of them
	}
	for i, id := range ids {
		if !core.ValidID(id) {
			t.Fatalf("NewID #%d = %q: not a valid id", i, id)
		}
		u := ulid.MustParseStrict(id)
		if got := ulid.Time(u.Time()); !got.Equal(now) {
			t.Fatalf("NewID #%d = %q carries time %v, want %v", i, id, got, now)
		}
		if i > 0 && ids[i-1] >= id {
			t.Fatalf("NewID not strictly increasing within one millisecond: #%d = %q, then #%d = %q", i-1, ids[i-1], i, id)
		}
	}
	later := core.NewID(now.Add(time.Millisecond))
	if later <= ids[n-1] {
		t.Errorf("an id of the next millisecond %q sorts before the last one of this millisecond %q", later, ids[n-1])
	}
}

// A process dates ids by several clocks (the present, ingested history,
// tests' injected clocks): ids of one millisecond stay in order however
// ids of other milliseconds come between them.
func TestNewIDMonotonicAcrossInterleavedClocks(t *testing.T) {
	history := now.Add(-12 * 24 * time.Hour)
	for i := range 200 {
		first := core.NewID(now)
		core.NewID(history.Add(time.Duration(i) * time.Millisecond))
		if second := core.NewID(now); second <= first {
			t.Fatalf("round %d: an id %q of the same millisecond sorts before the earlier %q, after an id of another time", i, second, first)
		}
	}
}

func TestValidID(t *testing.T) {
	id := core.NewID(now)
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"new id", id, true},
		{"zero ulid", "00000000000000000000000000", true},
		{"largest ulid", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true},
		{"empty", "", false},
		{"lower case", strings.ToLower(id), false},
		{"too short", id[:25], false},
		{"too long", id + "0", false},
		{"overflows 128 bits", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false},
		{"letter outside Crockford base32", id[:25] + "U", false},
		{"blank around", " " + id[:25], false},
		{"uuid", "0195a3a8-7d4c-7b1e-9f1a-2b3c4d5e6f70", false},
	}
	for _, tt := range tests {
		if got := core.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) [%s]: want %v, got %v", tt.id, tt.name, tt.want, got)
		}
	}
}
