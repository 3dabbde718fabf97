//go:build wasip1

// Command leadscore is the example score plugin: fit from the contact's and
// company's fields plus engagement from recent activities, decayed by age.
// It is built for wasip1 and runs inside Fedele's plugin host; it must never
// depend on anything but its input (no clock but the host's, no I/O).
package main

import (
	"encoding/json"
	"time"

	"github.com/extism/go-pdk"
)

type record struct {
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
	Activities []struct {
		Type string    `json:"type"`
		At   time.Time `json:"at"`
	} `json:"activities"`
	Orders struct {
		Count int `json:"count"`
	} `json:"orders"`
}

type result struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

//go:wasmexport score
func score() int32 {
	var batch []record
	if err := json.Unmarshal(pdk.Input(), &batch); err != nil {
		pdk.SetError(err)
		return 1
	}
	now := time.Now()
	out := make([]result, len(batch))
	for i := range batch {
		out[i] = decide(&batch[i], now)
	}
	b, err := json.Marshal(out)
	if err != nil {
		pdk.SetError(err)
		return 1
	}
	pdk.Output(b)
	return 0
}

func decide(r *record, now time.Time) result {
	var res result
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

func main() {}
