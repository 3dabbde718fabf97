package pdk

import "time"

// The contract's records, as the host sends them: the contact as the API
// returns it (limited to the fields the plugin's manifest asks for), and
// for each kind what its decision may depend on. Fields the host did not
// send are zero.

// Contact is a contact as the API returns it.
type Contact struct {
	ID             string
	FirstName      string
	LastName       string
	Emails         []Email
	Phones         []Phone
	CompanyID      string
	OwnerID        string
	Tags           []string
	LifecycleStage string
	Source         string
	Custom         map[string]any
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Email is one of a contact's addresses.
type Email struct {
	Address string
	Primary bool
	Label   string
}

// Phone is one of a contact's numbers, in E.164.
type Phone struct {
	Number string
	Label  string
}

// Company is a contact's company.
type Company struct {
	ID       string
	Name     string
	Domain   string
	Industry string
	Size     string // employees: 1-10, 11-50, 51-200, 201-500, 501-1000, 1001-5000, 5001-10000, 10001+
	Custom   map[string]any
}

// Activity is an interaction with a contact.
type Activity struct {
	Type    string // call, email, meeting, note, task
	Channel string
	At      time.Time
}

// Orders sums up a contact's orders.
type Orders struct {
	Count       int64
	TotalMinor  int64
	Currency    string
	LastOrderAt time.Time // zero when there is none
}

// ScoreRecord is one contact to score.
type ScoreRecord struct {
	Contact    Contact
	Company    *Company
	Activities []Activity
	Orders     Orders
}

// ScoreResult is a score from 0 to 100 with its reasons and tags, or Err
// to leave the record to the built-in scorer.
type ScoreResult struct {
	Score   int
	Reasons []string
	Tags    []string
	Err     string
}

// RouteRecord is an item to assign and who may take it.
type RouteRecord struct {
	Item       Item
	Candidates []Candidate
}

// Item is what is being routed: a lead or a case.
type Item struct {
	Type   string // lead, case
	ID     string
	Fields map[string]any
}

// Candidate is a user who may take an item.
type Candidate struct {
	ID        string
	Skills    []string
	Territory string
	Load      int64
	Capacity  int64
	Available bool
}

// RouteResult names a candidate (Assignee) or a queue, with a reason, or
// Err to leave the record to the built-in router.
type RouteResult struct {
	Assignee string
	Queue    string
	Reason   string
	Err      string
}

// CampaignRecord is a contact, the event that may enrol it, and the
// campaign.
type CampaignRecord struct {
	Contact  Contact
	Trigger  Trigger
	Campaign Campaign
}

// Trigger is the event that may enrol a contact.
type Trigger struct {
	DetailType string
	Time       time.Time
	Data       map[string]any
}

// Campaign is what a contact may be enrolled in.
type Campaign struct {
	ID       string
	Name     string
	Variants []string
}

// CampaignResult enrols or not, with a variant, personalisation fields and
// a delay override (nil keeps the step's delay), or Err.
type CampaignResult struct {
	Enrol        bool
	Variant      string
	Fields       map[string]string
	DelaySeconds *int64
	Err          string
}
