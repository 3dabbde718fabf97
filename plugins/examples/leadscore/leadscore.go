// Package leadscore is the logic of the example score plugin: fit from the
// contact's and company's fields plus engagement from recent activities,
// decayed by age. It is plain Go, so that the same code runs natively (the
// benchmarks' baseline) and inside the plugin (./plugin, built for
// wasip1); it must never read a clock or do I/O — now is given.
package leadscore

import "time"

// Record is one contact to score, as the score contract sends it.
type Record struct {
	Contact struct {
		ID       string `json:"id"`
		Email    string `json:"email"`
		Phone    string `json:"phone"`
		JobTitle string `json:"job_title"`
	} `json:"contact"`
	Company *struct {
		Employees int    `json:"employees"`
		Industry  string `json:"industry"`
	} `json:"company"`
	Activities []Activity `json:"activities"`
	Orders     struct {
		Count int `json:"count"`
	} `json:"orders"`
}

// Activity is an interaction with the contact.
type Activity struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
}

// Result is a score with why.
type Result struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// Decide scores one record at now.
func Decide(r *Record, now time.Time) Result {
	var res Result
	fit := 0
	if r.Contact.Email != "" {
		fit += 10
	}
	if r.Contact.Phone != "" {
		fit += 5
	}
	switch r.Contact.JobTitle {
	case "CEO", "CTO", "VP Sales", "Head of Sales":
		fit += 20
		res.Reasons = append(res.Reasons, "decision maker")
	}
	if c := r.Company; c != nil {
		switch {
		case c.Employees >= 1000:
			fit += 25
			res.Tags = append(res.Tags, "enterprise")
		case c.Employees >= 50:
			fit += 15
		}
	}
	engagement := 0.0
	for _, a := range r.Activities {
		age := now.Sub(a.At).Hours() / 24
		w := 1.0
		if age > 0 {
			w = 30 / (30 + age) // half weight after a month
		}
		switch a.Type {
		case "meeting":
			engagement += 10 * w
		case "call":
			engagement += 6 * w
		default:
			engagement += 2 * w
		}
	}
	if r.Orders.Count > 0 {
		engagement += 15
		res.Tags = append(res.Tags, "customer")
	}
	s := fit + int(min(engagement, 40))
	res.Score = min(max(s, 0), 100)
	if engagement >= 20 {
		res.Reasons = append(res.Reasons, "engaged")
	}
	return res
}
