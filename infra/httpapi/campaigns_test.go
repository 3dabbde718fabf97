package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/campaigns"
)

type recipientsBody struct {
	Items      []campaigns.CampaignRecipient `json:"items"`
	NextCursor string                        `json:"next_cursor"`
}

// Campaigns through the API, on both engines: a bad body is a 422 naming
// the field, a list of another tenant is not an audience, a campaign
// launches, lists its recipients, answers its performance and audit, and
// none of it (ids, cursors) reaches another tenant; a goal filter that
// does not compile is a 422 with its position.
func TestCampaignsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		relay := relayOf(e, consumers(e, "jobs", "segments", "campaigns")...)
		var list, theirs segmentBody
		e.a.do("POST", "/v1/lists", map[string]any{"name": "newsletter"}).want(t, 201, &list)
		e.b.do("POST", "/v1/lists", map[string]any{"name": "theirs"}).want(t, 201, &theirs)
		var members []map[string]any
		for i := range 3 {
			var c core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": fmt.Sprint("C", i), "emails": []map[string]any{{"address": fmt.Sprintf("c%d@acme.example", i)}},
				"consent": map[string]any{"email": map[string]any{"status": "granted", "source": "form"}}}).want(t, 201, &c)
			members = append(members, map[string]any{"contact_id": c.ID})
		}
		e.a.do("POST", "/v1/lists/"+list.ID+"/members", map[string]any{"members": members}).want(t, 200, nil)
		drain(t, relay)

		p := e.a.do("POST", "/v1/campaigns", map[string]any{"name": "x", "list_id": list.ID, "channel": "email", "template": "t",
			"variants": []map[string]any{{"name": "a", "share": 60}, {"name": "b", "share": 30}}}).want(t, 422, nil).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.variants" {
			t.Errorf("shares not 100: %+v", p)
		}
		p = e.a.do("POST", "/v1/campaigns", map[string]any{"name": "x", "list_id": theirs.ID, "channel": "email", "template": "t"}).want(t, 422, nil).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.list_id" {
			t.Errorf("another tenant's list: %+v", p)
		}

		var c campaigns.Campaign
		r := e.a.do("POST", "/v1/campaigns", map[string]any{"name": "Spring", "list_id": list.ID, "channel": "email", "template": "spring",
			"holdout_percent": 20, "merge": []map[string]any{{"name": "name", "field": "first_name", "default": "friend"}}}).want(t, 201, &c)
		if c.Status != campaigns.Draft || r.Header.Get("Location") != "/v1/campaigns/"+c.ID || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("created %+v %v", c, r.Header)
		}
		e.a.do("POST", "/v1/campaigns/"+c.ID+"/schedule", nil, "If-Match", `"7"`).want(t, 412, nil)
		e.b.do("POST", "/v1/campaigns/"+c.ID+"/schedule", nil).want(t, 404, nil)
		e.a.do("POST", "/v1/campaigns/"+c.ID+"/schedule", nil, "If-Match", `"1"`).want(t, 200, &c)
		if c.Status != campaigns.Running {
			t.Fatalf("scheduled now: %s", c.Status)
		}
		drain(t, relay)
		e.a.do("GET", "/v1/campaigns/"+c.ID, nil).want(t, 200, &c)
		if c.Status != campaigns.Completed {
			t.Errorf("after the launch: %s", c.Status)
		}
		e.a.do("PUT", "/v1/campaigns/"+c.ID, map[string]any{"name": "Spring", "list_id": list.ID, "channel": "email", "template": "t"}).want(t, 409, nil)

		var page recipientsBody
		e.a.do("GET", "/v1/campaigns/"+c.ID+"/recipients?limit=2", nil).want(t, 200, &page)
		if len(page.Items) != 2 || page.NextCursor == "" {
			t.Fatalf("recipients page %+v", page)
		}
		e.b.do("GET", "/v1/campaigns/"+c.ID+"/recipients?limit=2&cursor="+page.NextCursor, nil).want(t, 404, nil)
		var rest recipientsBody
		e.a.do("GET", "/v1/campaigns/"+c.ID+"/recipients?limit=2&cursor="+page.NextCursor, nil).want(t, 200, &rest)
		if len(rest.Items) != 1 || rest.NextCursor != "" {
			t.Errorf("second page %+v", rest)
		}

		var perf campaigns.CampaignPerformance
		e.a.do("GET", "/v1/campaigns/"+c.ID+"/performance", nil).want(t, 200, &perf)
		var enrolled int64
		for _, g := range perf.Groups {
			if g.Variant != "treated" {
				enrolled += g.Enrolled
			}
		}
		if enrolled != 3 || perf.GoalEvent != "order.placed" || perf.AttributionWindow != "168h0m0s" || len(perf.Uplift) != 1 {
			t.Errorf("performance %+v", perf)
		}
		e.b.do("GET", "/v1/campaigns/"+c.ID+"/performance", nil).want(t, 404, nil)

		var audit struct {
			Items []campaigns.CampaignAuditEntry `json:"items"`
		}
		e.a.do("GET", "/v1/campaigns/"+c.ID+"/audit", nil).want(t, 200, &audit)
		if len(audit.Items) != 3 || audit.Items[2].Action != "created" || audit.Items[2].ActorType != "api_key" || audit.Items[0].Status != campaigns.Completed {
			t.Errorf("audit %+v", audit.Items)
		}
		e.b.do("GET", "/v1/campaigns/"+c.ID+"/audit", nil).want(t, 404, nil)

		p = e.a.do("PUT", "/v1/campaign-settings", map[string]any{"goal_event": "order.placed", "goal_filter": "event.data.total >"}).want(t, 422, nil).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.goal_filter" || !strings.HasPrefix(p.Errors[0].Message, "1:") {
			t.Errorf("bad goal filter: %+v", p)
		}
		var set campaigns.CampaignSettings
		e.a.do("PUT", "/v1/campaign-settings", map[string]any{"goal_filter": "event.data.total >= 5000", "attribution_window": "3d"}).want(t, 200, &set)
		if set.Version != 1 || set.AttributionWindow != "3d" {
			t.Errorf("settings %+v", set)
		}
		var other campaigns.CampaignSettings
		e.b.do("GET", "/v1/campaign-settings", nil).want(t, 200, &other)
		if other.Version != 0 || other.GoalFilter != "" || other.AttributionWindow != "7d" {
			t.Errorf("globex sees acme's settings: %+v", other)
		}
		e.a.do("DELETE", "/v1/campaigns/"+c.ID, nil).want(t, 204, nil)
	})
}
