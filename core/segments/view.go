package segments

import (
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
)

// The typed view of a contact that segment expressions read. Every field
// has a CEL type the checker knows, so `purchases.orders > "x"` is refused
// when the segment is saved; docs/segments.md lists them all. A field
// that has no value is its type's zero (an empty string, 0, the Unix
// epoch for a timestamp, an empty list).

// ContactView is the contact's own fields.
type ContactView struct {
	ID        string      `cel:"id"`
	FirstName string      `cel:"first_name"`
	LastName  string      `cel:"last_name"`
	Email     string      `cel:"email"` // the primary address
	Emails    []string    `cel:"emails"`
	Phone     string      `cel:"phone"` // the first number, E.164
	Phones    []string    `cel:"phones"`
	Tags      []string    `cel:"tags"`
	Birthday  string      `cel:"birthday"` // YYYY-MM-DD or ""
	Stage     string      `cel:"stage"`    // lifecycle stage: lead, customer, ...
	Source    string      `cel:"source"`
	OwnerID   string      `cel:"owner_id"`
	CompanyID string      `cel:"company_id"`
	Country   string      `cel:"country"`
	City      string      `cel:"city"`
	CreatedAt time.Time   `cel:"created_at"`
	UpdatedAt time.Time   `cel:"updated_at"`
	Custom    Custom      `cel:"custom"`
	Consent   ConsentView `cel:"consent"`
}

// ConsentView is true for a channel whose consent is granted.
type ConsentView struct {
	Email bool `cel:"email"`
	SMS   bool `cel:"sms"`
	Phone bool `cel:"phone"`
	Push  bool `cel:"push"`
	Post  bool `cel:"post"`
}

// CompanyView is the contact's company (empty when it has none).
type CompanyView struct {
	ID       string `cel:"id"`
	Name     string `cel:"name"`
	Domain   string `cel:"domain"`
	Industry string `cel:"industry"`
	Size     string `cel:"size"`
	Country  string `cel:"country"`
	Custom   Custom `cel:"custom"`
}

// PurchasesView is the purchase summary.
type PurchasesView struct {
	Orders          int64            `cel:"orders"`
	TransactionDays int64            `cel:"transaction_days"`
	FirstOrderAt    time.Time        `cel:"first_order_at"`
	LastOrderAt     time.Time        `cel:"last_order_at"`
	Revenue         map[string]int64 `cel:"revenue"` // net minor units by currency
	Categories      []string         `cel:"categories"`
}

// RFMView is the RFM scores (0 when never scored).
type RFMView struct {
	R       int64  `cel:"r"`
	F       int64  `cel:"f"`
	M       int64  `cel:"m"`
	Segment string `cel:"segment"`
}

// LifecycleView is the customer state the lifecycle rules keep.
type LifecycleView struct {
	State string    `cel:"state"` // new, active, dormant, inactive, lost or ""
	Since time.Time `cel:"since"`
}

// CLVView is the lifetime value the last fit predicts.
type CLVView struct {
	Value                float64 `cel:"value"`
	PAlive               float64 `cel:"p_alive"`
	ExpectedTransactions float64 `cel:"expected_transactions"`
	ExpectedSpend        float64 `cel:"expected_spend"`
	Currency             string  `cel:"currency"`
}

// History is what the behavioural functions read: the contact's
// transaction days and the last time of each event type, the time of the
// evaluation and the tenant's zone. Expressions never name it: the
// functions' macros pass it.
type History struct {
	Now      time.Time
	Loc      *time.Location
	Days     []customers.Day
	Seen     map[string]time.Time
	Birthday string
}

// Input is everything one evaluation reads about a contact. Seen is the
// last time of each event type on the contact's timeline (the membership
// consumer keeps it); Score is nil when the contact was never scored.
type Input struct {
	Contact core.Contact
	Company *core.Company
	Score   *int
	Profile customers.Profile
	Seen    map[string]time.Time
}

// vars are the activation of one evaluation.
type vars struct {
	contact   *ContactView
	company   *CompanyView
	purchases *PurchasesView
	rfm       *RFMView
	lifecycle *LifecycleView
	clv       *CLVView
	score     int64
	lastOrder time.Time
	history   *History
}

var epoch = time.Unix(0, 0).UTC()

func orEpoch(t time.Time) time.Time {
	if t.IsZero() {
		return epoch
	}
	return t.UTC()
}

// block holds one evaluation's values in one allocation: the view is
// built for every contact a job reads.
type block struct {
	v   vars
	c   ContactView
	co  CompanyView
	p   PurchasesView
	r   RFMView
	l   LifecycleView
	clv CLVView
	h   History
}

// Shared, never written: what an empty field holds.
var (
	emptyList    = []string{}
	emptyRevenue = map[string]int64{}
	emptyCustom  = Custom{types.NewStringInterfaceMap(types.DefaultTypeAdapter, map[string]any{})}
)

// view builds the activation's values from in, once per contact; only the
// history's time changes between evaluations at several instants.
func view(in Input, loc *time.Location) *vars {
	b := new(block)
	c := in.Contact
	cv := &b.c
	*cv = ContactView{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Email: c.PrimaryEmail(),
		Tags: nonNil(c.Tags), Birthday: c.Birthday, Stage: string(c.LifecycleStage), Source: string(c.Source),
		OwnerID: c.OwnerID, CompanyID: c.CompanyID, CreatedAt: orEpoch(c.CreatedAt), UpdatedAt: orEpoch(c.UpdatedAt),
		Custom: customOf(c.Custom), Emails: emptyList, Phones: emptyList}
	if cv.Stage == "" {
		cv.Stage = string(core.StageLead)
	}
	if len(c.Emails) > 0 {
		cv.Emails = make([]string, 0, len(c.Emails))
		for _, e := range c.Emails {
			cv.Emails = append(cv.Emails, e.Address)
		}
		if cv.Email == "" {
			cv.Email = cv.Emails[0]
		}
	}
	if len(c.Phones) > 0 {
		cv.Phones = make([]string, 0, len(c.Phones))
		for _, p := range c.Phones {
			cv.Phones = append(cv.Phones, p.Number)
		}
		cv.Phone = cv.Phones[0]
	}
	if c.Address != nil {
		cv.Country, cv.City = c.Address.Country, c.Address.City
	}
	if k := c.Consent; k != nil {
		granted := func(cc *core.ChannelConsent) bool { return cc != nil && cc.Status == core.ConsentGranted }
		cv.Consent = ConsentView{Email: granted(k.Email), SMS: granted(k.SMS), Phone: granted(k.Phone), Push: granted(k.Push), Post: granted(k.Post)}
	}
	b.co.Custom = emptyCustom
	if x := in.Company; x != nil {
		b.co = CompanyView{ID: x.ID, Name: x.Name, Domain: x.Domain, Industry: x.Industry, Size: x.Size, Custom: customOf(x.Custom)}
		if x.Address != nil {
			b.co.Country = x.Address.Country
		}
	}
	p := in.Profile
	b.p = PurchasesView{Orders: int64(p.Purchases.Orders), TransactionDays: int64(p.Purchases.TransactionDays),
		FirstOrderAt: orEpoch(p.Purchases.FirstOrderAt), LastOrderAt: orEpoch(p.Purchases.LastOrderAt),
		Revenue: emptyRevenue, Categories: nonNil(p.Purchases.Categories)}
	if len(p.Purchases.Revenue) > 0 {
		b.p.Revenue = make(map[string]int64, len(p.Purchases.Revenue))
		for _, r := range p.Purchases.Revenue {
			b.p.Revenue[r.Currency] = r.Amount
		}
	}
	if p.RFM != nil {
		b.r = RFMView{R: int64(p.RFM.R), F: int64(p.RFM.F), M: int64(p.RFM.M), Segment: p.RFM.Segment}
	}
	b.l = LifecycleView{Since: epoch}
	if p.Lifecycle != nil {
		b.l = LifecycleView{State: p.Lifecycle.State, Since: orEpoch(p.Lifecycle.Since)}
	}
	if p.CLV != nil {
		b.clv = CLVView{Value: p.CLV.Value, PAlive: p.CLV.PAlive, ExpectedTransactions: p.CLV.ExpectedTransactions,
			ExpectedSpend: p.CLV.ExpectedSpend, Currency: p.CLV.Currency}
	}
	b.h = History{Loc: loc, Days: p.Purchases.Days, Seen: in.Seen, Birthday: c.Birthday}
	b.v = vars{contact: cv, company: &b.co, purchases: &b.p, rfm: &b.r, lifecycle: &b.l, clv: &b.clv, lastOrder: b.p.LastOrderAt, history: &b.h}
	if in.Score != nil {
		b.v.score = int64(*in.Score)
	}
	return &b.v
}

// Custom is a record's custom fields as CEL sees them: a map(string, dyn),
// since their types are the tenant's (a number is a double, a date a
// "YYYY-MM-DD" string). A field not set is absent: test it with has().
type Custom struct{ traits.Mapper }

var customType = types.NewMapType(types.StringType, types.DynType)

// Type is the CEL type the checker declares for the field.
func (Custom) Type() ref.Type { return customType }

func customOf(m map[string]any) Custom {
	if m == nil {
		return emptyCustom
	}
	return Custom{types.NewStringInterfaceMap(types.DefaultTypeAdapter, m)}
}

func nonNil(s []string) []string {
	if s == nil {
		return emptyList
	}
	return s
}

// instants are the times of the contact's data a time-relative condition
// can be measured from: a flip happens at one of them plus a constant of
// the expression (see nextFlip).
func (v *vars) instants() []time.Time {
	ts := []time.Time{v.contact.CreatedAt, v.contact.UpdatedAt, v.purchases.FirstOrderAt, v.purchases.LastOrderAt, v.lifecycle.Since}
	for _, at := range v.history.Seen {
		ts = append(ts, at)
	}
	loc := v.history.Loc
	for _, d := range v.history.Days {
		if day, err := time.ParseInLocation(time.DateOnly, d.Date, loc); err == nil {
			ts = append(ts, day, day.AddDate(0, 0, 1))
		}
	}
	out := ts[:0]
	for _, t := range ts {
		if !t.Equal(epoch) {
			out = append(out, t)
		}
	}
	return out
}

// inCategory reports whether bought is want or one of its sub-categories
// ("eyewear/sunglasses" is in "eyewear").
func inCategory(bought, want string) bool {
	return bought == want || strings.HasPrefix(bought, want) && len(bought) > len(want) && bought[len(want)] == '/'
}

func dayHas(d customers.Day, category string) bool {
	return slices.ContainsFunc(d.Categories, func(c string) bool { return inCategory(c, category) })
}
