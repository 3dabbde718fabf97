package pdk

import "time"

// The contract's records, as the host sends them. The json tags are the
// contract's names, for encoding/json in tests and tools; the codec in this
// package does not read them: the contact as the API
// returns it (limited to the fields the plugin's manifest asks for), and
// for each kind what its decision may depend on. Fields the host did not
// send are zero.

// Contact is a contact as the API returns it.
type Contact struct {
	ID             string         `json:"id"`
	FirstName      string         `json:"first_name"`
	LastName       string         `json:"last_name"`
	Emails         []Email        `json:"emails"`
	Phones         []Phone        `json:"phones"`
	CompanyID      string         `json:"company_id"`
	OwnerID        string         `json:"owner_id"`
	Tags           []string       `json:"tags"`
	LifecycleStage string         `json:"lifecycle_stage"`
	Source         string         `json:"source"`
	Custom         map[string]any `json:"custom"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// Email is one of a contact's addresses.
type Email struct {
	Address string `json:"address"`
	Primary bool   `json:"primary"`
	Label   string `json:"label"`
}

// Phone is one of a contact's numbers, in E.164.
type Phone struct {
	Number string `json:"number"`
	Label  string `json:"label"`
}

// Company is a contact's company.
type Company struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Domain   string         `json:"domain"`
	Industry string         `json:"industry"`
	Size     string         `json:"size"` // employees: 1-10, 11-50, 51-200, 201-500, 501-1000, 1001-5000, 5001-10000, 10001+
	Custom   map[string]any `json:"custom"`
}

// Activity is an interaction with a contact.
type Activity struct {
	Type    string    `json:"type"` // call, email, meeting, note, task
	Channel string    `json:"channel"`
	At      time.Time `json:"at"`
}

// Orders sums up a contact's orders.
type Orders struct {
	Count       int64     `json:"count"`
	TotalMinor  int64     `json:"total_minor"`
	Currency    string    `json:"currency"`
	LastOrderAt time.Time `json:"last_order_at"` // zero when there is none
}

// ScoreRecord is one contact to score.
type ScoreRecord struct {
	Contact    Contact    `json:"contact"`
	Company    *Company   `json:"company"`
	Activities []Activity `json:"activities"`
	Orders     Orders     `json:"orders"`
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
	Item       Item        `json:"item"`
	Candidates []Candidate `json:"candidates"`
}

// Item is what is being routed: a lead or a case.
type Item struct {
	Type   string         `json:"type"` // lead, case
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"`
}

// Candidate is a user who may take an item.
type Candidate struct {
	ID        string   `json:"id"`
	Skills    []string `json:"skills"`
	Territory string   `json:"territory"`
	Load      int64    `json:"load"`
	Capacity  int64    `json:"capacity"`
	Available bool     `json:"available"`
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
	Contact  Contact  `json:"contact"`
	Trigger  Trigger  `json:"trigger"`
	Campaign Campaign `json:"campaign"`
	Orders   Orders   `json:"orders"`
}

// Trigger is the event that may enrol a contact.
type Trigger struct {
	DetailType string         `json:"detail_type"`
	Time       time.Time      `json:"time"`
	Data       map[string]any `json:"data"`
}

// Campaign is what a contact may be enrolled in.
type Campaign struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Variants []string `json:"variants"`
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
