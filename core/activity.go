package core

import (
	"slices"
	"strings"
	"time"
)

// Activity types and the channels they happen on.
var (
	ActivityTypes    = []string{"call", "email", "meeting", "note", "task"}
	ActivityChannels = []string{"email", "phone", "sms", "chat", "web", "in_person"}
)

// ActivityFields is the part of an activity its writers set.
type ActivityFields struct {
	Type      string    `json:"type" enum:"call,email,meeting,note,task"`
	Channel   string    `json:"channel,omitempty" enum:"email,phone,sms,chat,web,in_person"`
	Subject   string    `json:"subject,omitempty" maxLength:"200"`
	Body      string    `json:"body,omitempty" maxLength:"10000"`
	At        time.Time `json:"at,omitzero" doc:"When it happened (for a task: when it was set); the time of the write when absent."`
	ContactID string    `json:"contact_id,omitempty" doc:"A contact of the same tenant; an activity names a contact, a company, or both."`
	CompanyID string    `json:"company_id,omitempty" doc:"A company of the same tenant."`
	DealID    string    `json:"deal_id,omitempty" doc:"A deal of the same tenant."`
	OwnerID   string    `json:"owner_id,omitempty" doc:"The user (of the team) it belongs to."`
	DueAt     time.Time `json:"due_at,omitzero" doc:"Tasks only: when it is due."`
	Done      bool      `json:"done,omitempty" doc:"Tasks only."`
	// DurationMinutes is how long a call or meeting took.
	DurationMinutes int `json:"duration_minutes,omitempty" minimum:"0" maximum:"10080"`
}

// Activity is an interaction with a contact, company or deal — a call, an e-mail,
// a meeting, a note — or a task to do.
type Activity struct {
	Meta
	ActivityFields
}

// Normalize puts an activity's fields in stored form and validates them,
// reporting every field at fault; now fills a missing time.
func (f *ActivityFields) Normalize(now time.Time) error {
	var p Problems
	if !slices.Contains(ActivityTypes, f.Type) {
		p = append(p, FieldError{Path: "type", Message: "must be one of " + strings.Join(ActivityTypes, ", "), Value: f.Type})
	}
	if f.Channel != "" && !slices.Contains(ActivityChannels, f.Channel) {
		p = append(p, FieldError{Path: "channel", Message: "must be one of " + strings.Join(ActivityChannels, ", "), Value: f.Channel})
	}
	f.Subject = strings.TrimSpace(f.Subject)
	checkText(&p, "subject", f.Subject, 200)
	if !utfValid(f.Body) || len([]rune(f.Body)) > 10000 {
		p.Add("body", "must be valid UTF-8 of at most 10000 characters")
	}
	if f.At.IsZero() {
		f.At = now
	}
	f.At = f.At.UTC()
	if f.ContactID == "" && f.CompanyID == "" && f.DealID == "" {
		p.Add("contact_id", "an activity names a contact, a company or a deal")
	}
	for path, id := range map[string]string{"contact_id": f.ContactID, "company_id": f.CompanyID, "deal_id": f.DealID, "owner_id": f.OwnerID} {
		if id != "" && !ValidID(id) {
			p = append(p, FieldError{Path: path, Message: "must be an id (ULID)", Value: id})
		}
	}
	if f.Type != "task" {
		if !f.DueAt.IsZero() {
			p.Add("due_at", "only tasks have a due date")
		}
		if f.Done {
			p.Add("done", "only tasks are done")
		}
	}
	f.DueAt = f.DueAt.UTC()
	if f.DurationMinutes < 0 || f.DurationMinutes > 10080 {
		p = append(p, FieldError{Path: "duration_minutes", Message: "must be between 0 and 10080 (a week)", Value: f.DurationMinutes})
	}
	return p.Err()
}

// Overdue reports whether a task is open past its due date at now.
func (f *ActivityFields) Overdue(now time.Time) bool {
	return f.Type == "task" && !f.Done && !f.DueAt.IsZero() && f.DueAt.Before(now)
}

func utfValid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
