package httpapi_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
	"github.com/fedele-crm/fedele/core/campaigns"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/journeys"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/reports"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/infra/httpapi"
)

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// Every enum the API documents is one of the domain's Go lists, in its
// order. The typed sets come from their lists (enums.go); the rest are
// struct tags, which this test holds to their lists so no copy drifts. A
// new enum fails here until it is bound to its list.
func TestEveryEnumIsAGoList(t *testing.T) {
	want := map[string][]string{
		"components/schemas/Activation/properties/kind":                       names(plugins.Kinds),
		"components/schemas/Activity/properties/channel":                      core.ActivityChannels,
		"components/schemas/Activity/properties/type":                         core.ActivityTypes,
		"components/schemas/ActivityFields/properties/channel":                core.ActivityChannels,
		"components/schemas/ActivityFields/properties/type":                   core.ActivityTypes,
		"components/schemas/ChannelConsent/properties/status":                 names(core.ConsentStatuses),
		"components/schemas/Company/properties/size":                          core.CompanySizes,
		"components/schemas/CompanyFields/properties/size":                    core.CompanySizes,
		"components/schemas/Contact/properties/lifecycle_stage":               names(core.Stages),
		"components/schemas/ContactView/properties/lifecycle_stage":           names(core.Stages),
		"components/schemas/ContactView/properties/source":                    names(core.Sources),
		"components/schemas/LifecycleView/properties/state":                   names(customers.States),
		"components/schemas/LifecycleRules/properties/basis":                  names(customers.Bases),
		"components/schemas/Contact/properties/source":                        names(core.Sources),
		"components/schemas/ContactFields/properties/lifecycle_stage":         names(core.Stages),
		"components/schemas/ContactFields/properties/source":                  names(core.Sources),
		"components/schemas/ContactScore/properties/decided_by":               names(core.Deciders),
		"components/schemas/Create-api-keyRequest/properties/scopes/items":    names(core.Scopes),
		"components/schemas/KeyInfo/properties/scopes/items":                  names(core.Scopes),
		"components/schemas/SecretOutputBody/properties/scopes/items":         names(core.Scopes),
		"components/schemas/Deal/properties/status":                           names(core.DealOutcomes),
		"components/schemas/Email/properties/label":                           core.EmailLabels,
		"components/schemas/FieldDef/properties/entity":                       names(core.Entities),
		"components/schemas/FieldDef/properties/type":                         names(core.FieldTypes),
		"components/schemas/Job/properties/kind":                              names(scoring.JobKinds),
		"components/schemas/Job/properties/status":                            names(scoring.JobStatuses),
		"components/schemas/JobView/properties/status":                        names(jobs.Statuses),
		"components/schemas/Phone/properties/label":                           core.PhoneLabels,
		"components/schemas/PipelineStage/properties/kind":                    names(core.StageKinds),
		"components/schemas/Plugin/properties/kind":                           names(plugins.Kinds),
		"components/schemas/Put-custom-fieldRequest/properties/type":          names(core.FieldTypes),
		"components/schemas/Scored/properties/decided_by":                     names(core.Deciders),
		"components/schemas/Update-tenantRequest/properties/routing_strategy": core.RoutingStrategies,
		"components/schemas/CLVFit/properties/status":                         names(customers.CLVFitStatuses),
		"components/schemas/CLVJob/properties/status":                         names(jobs.Statuses),
		"components/schemas/CLVFit/properties/unit":                           names(customers.CLVUnits),
		"components/schemas/CLVParams/properties/unit":                        names(customers.CLVUnits),
		"components/schemas/User/properties/role":                             core.UserRoles,
		"components/schemas/User/properties/status":                           core.UserStatuses,
		"components/schemas/UserFields/properties/role":                       core.UserRoles,
		"components/schemas/UserFields/properties/status":                     core.UserStatuses,
		"components/schemas/Version/properties/kind":                          names(plugins.Kinds),
		"components/schemas/Segment/properties/kind":                          names(segments.Kinds),
		"components/schemas/BatchResult/properties/outcome":                   segments.Outcomes,
		"components/schemas/ExportRequest/properties/format":                  segments.Formats,
		"components/schemas/ExportJob/properties/status":                      names(jobs.Statuses),
		"paths//v1/activities/get/query:type":                                 core.ActivityTypes,
		"paths//v1/companies/get/query:sort":                                  contacts.Sorts,
		"paths//v1/contacts/get/query:lifecycle_stage":                        names(core.Stages),
		"paths//v1/contacts/get/query:sort":                                   contacts.Sorts,
		"paths//v1/custom-fields/{entity}/{key}/delete/path:entity":           names(core.Entities),
		"paths//v1/custom-fields/{entity}/{key}/put/path:entity":              names(core.Entities),
		"paths//v1/deals/get/query:status":                                    names(core.DealOutcomes),
		"paths//v1/plugins/{name}/versions/post/query:kind":                   names(plugins.Kinds),
		"paths//v1/users/get/query:role":                                      core.UserRoles,
		"paths//v1/users/get/query:status":                                    core.UserStatuses,
		// Commerce.
		"components/schemas/Order/properties/channel":       names(commerce.Channels),
		"components/schemas/Order/properties/status":        names(commerce.OrderStatuses),
		"components/schemas/OrderChange/properties/channel": names(commerce.Channels),
		"components/schemas/OrderChange/properties/status":  names(commerce.OrderStatuses),
		"components/schemas/OrderFields/properties/channel": names(commerce.Channels),
		"components/schemas/OrderFields/properties/status":  names(commerce.OrderStatuses),
		"components/schemas/Relation/properties/kind":       names(commerce.RelationKinds),
		"paths//v1/orders/get/query:sort":                   commerce.OrderSorts,
		"paths//v1/orders/get/query:status":                 names(commerce.OrderStatuses),
		"paths//v1/products/get/query:active":               commerce.ActiveFilters,
		// Plugin backtests.
		"components/schemas/Backtest-plugin-versionRequest/properties/outcome": names(backtest.Outcomes),
		"components/schemas/Backtest/properties/status":                        names(jobs.Statuses),
		"components/schemas/BacktestDecider/properties/decided_by":             names(core.Deciders),
		"components/schemas/BacktestParams/properties/outcome":                 names(backtest.Outcomes),
		"components/schemas/BacktestRanking/properties/outcome":                names(backtest.Outcomes),
		// messaging
		"components/schemas/Cap/properties/channel":              messaging.CapChannels,
		"components/schemas/Message/properties/channel":          names(messaging.Channels),
		"components/schemas/Message/properties/deferred_by":      messaging.Holds,
		"components/schemas/Message/properties/on_cap":           names(messaging.OnCaps),
		"components/schemas/Message/properties/priority":         names(messaging.Priorities),
		"components/schemas/Message/properties/reason":           names(messaging.Reasons),
		"components/schemas/Message/properties/status":           names(messaging.Statuses),
		"components/schemas/Message/properties/time_zone_source": messaging.ZoneSources,
		"components/schemas/Receipt/properties/bounce":           names(messaging.Bounces),
		"components/schemas/Receipt/properties/type":             names(messaging.ReceiptTypes),
		"components/schemas/Request/properties/channel":          names(messaging.Channels),
		"components/schemas/Request/properties/on_cap":           names(messaging.OnCaps),
		"components/schemas/Request/properties/priority":         names(messaging.Priorities),
		"components/schemas/Suppression/properties/channel":      names(messaging.Channels),
		"components/schemas/Suppression/properties/reason":       messaging.SuppressionReasons,
		"paths//v1/reports/revenue/get/query:interval":           reports.Intervals,
		"paths//v1/reports/retention/get/query:period":           reports.Periods,

		"components/schemas/Journey/properties/status":               names(journeys.Statuses),
		"components/schemas/JourneyEnrolment/properties/next_action": names(journeys.StepTypes),
		"components/schemas/JourneyEnrolment/properties/state":       names(journeys.EnrolmentStates),
		"components/schemas/JourneyEnrolment/properties/trigger":     names(journeys.TriggerKinds),
		"components/schemas/JourneyReentry/properties/mode":          names(journeys.ReentryModes),
		"components/schemas/JourneyStep/properties/channel":          names(messaging.Channels),
		"components/schemas/JourneyStep/properties/type":             names(journeys.StepTypes),
		"components/schemas/JourneyStepStats/properties/type":        names(journeys.StepTypes),
		"components/schemas/JourneyTrigger/properties/kind":          names(journeys.TriggerKinds),
		// campaigns
		"components/schemas/Campaign/properties/channel":                 names(messaging.Channels),
		"components/schemas/Campaign/properties/on_cap":                  names(messaging.OnCaps),
		"components/schemas/Campaign/properties/priority":                names(messaging.Priorities),
		"components/schemas/Campaign/properties/status":                  names(campaigns.Statuses),
		"components/schemas/CampaignAuditEntry/properties/status":        names(campaigns.Statuses),
		"components/schemas/CampaignFields/properties/channel":           names(messaging.Channels),
		"components/schemas/CampaignFields/properties/on_cap":            names(messaging.OnCaps),
		"components/schemas/CampaignFields/properties/priority":          names(messaging.Priorities),
		"components/schemas/CampaignPerformance/properties/status":       names(campaigns.Statuses),
		"components/schemas/CampaignRecipient/properties/decided_by":     names(core.Deciders),
		"components/schemas/CampaignRecipient/properties/message_reason": names(messaging.Reasons),
		"components/schemas/CampaignRecipient/properties/message_status": names(messaging.Statuses),
		"components/schemas/CampaignSchedule/properties/kind":            names(campaigns.ScheduleKinds),
		"components/schemas/CampaignSettings/properties/goal_event":      names(campaigns.GoalEvents),
	}
	raw, err := json.Marshal(httpapi.New(httpapi.Config{}).OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var spec any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	collectEnums(spec, "", got)
	for _, path := range slices.Sorted(maps.Keys(got)) {
		list, ok := want[path]
		if !ok {
			t.Errorf("%s: enum %v is bound to no Go list: give it one and add it here", path, got[path])
			continue
		}
		if diff := cmp.Diff(list, got[path]); diff != "" {
			t.Errorf("%s: the Go list (-) and the API's enum (+):\n%s", path, diff)
		}
	}
	for path := range want {
		if _, ok := got[path]; !ok {
			t.Errorf("%s: no longer an enum in the API", path)
		}
	}
}

// collectEnums finds every enum in the spec, naming a parameter by where
// it is and its name rather than its index.
func collectEnums(v any, path string, out map[string][]string) {
	switch v := v.(type) {
	case map[string]any:
		if enum, ok := v["enum"].([]any); ok {
			var vs []string
			for _, e := range enum {
				s, _ := e.(string)
				vs = append(vs, s)
			}
			out[strings.TrimPrefix(path, "/")] = vs
		}
		for k, c := range v {
			if k == "parameters" {
				for _, p := range c.([]any) {
					p := p.(map[string]any)
					collectEnums(p["schema"], path+"/"+p["in"].(string)+":"+p["name"].(string), out)
				}
				continue
			}
			collectEnums(c, path+"/"+k, out)
		}
	case []any:
		for _, c := range v {
			collectEnums(c, path+"/[]", out)
		}
	}
}
