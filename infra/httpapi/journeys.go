package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/journeys"
)

// JourneyPath is the id of a journey in a path.
type JourneyPath struct {
	ID string `path:"id" doc:"Journey id (ULID)" maxLength:"26"`
}

// JourneyVersionPath is one version of a journey in a path.
type JourneyVersionPath struct {
	ID     string `path:"id" doc:"Journey id (ULID)" maxLength:"26"`
	Number int64  `path:"number" doc:"Version number" minimum:"1" maximum:"1000000"`
}

type journeyOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     journeys.Journey
}

func journeyOut(j journeys.Journey, created bool) *journeyOutput {
	out := &journeyOutput{ETag: etag(j.Version), Body: j}
	if created {
		out.Location = "/v1/journeys/" + j.ID
	}
	return out
}

// JourneyPerformance is a journey's message funnel per step, from
// requested to converted, with revenue and the holdout's conversions.
type JourneyPerformance struct {
	JourneyID        string                          `json:"journey_id"`
	Requested        int64                           `json:"requested"`
	Delivered        int64                           `json:"delivered"`
	Opened           int64                           `json:"opened"`
	Clicked          int64                           `json:"clicked"`
	Converted        int64                           `json:"converted"`
	Revenue          []journeys.JourneyRevenueAmount `json:"revenue"`
	ConversionRate   float64                         `json:"conversion_rate"`
	HoldoutEnrolled  int64                           `json:"holdout_enrolled"`
	HoldoutConverted int64                           `json:"holdout_converted"`
	HoldoutRate      float64                         `json:"holdout_conversion_rate"`
	Uplift           float64                         `json:"uplift" doc:"conversion_rate less holdout_conversion_rate; 0 without a holdout."`
	Steps            []journeys.JourneyStepStats     `json:"steps" doc:"The send steps, in order."`
}

func performanceOf(st journeys.JourneyStats) JourneyPerformance {
	p := JourneyPerformance{JourneyID: st.JourneyID, Converted: st.Converted, Revenue: st.Revenue, ConversionRate: st.ConversionRate,
		HoldoutEnrolled: st.HoldoutEnrolled, HoldoutConverted: st.HoldoutConverted, HoldoutRate: st.HoldoutRate,
		Steps: []journeys.JourneyStepStats{}}
	if st.HoldoutEnrolled > 0 {
		p.Uplift = st.ConversionRate - st.HoldoutRate
	}
	for _, s := range st.Steps {
		if s.Requests+s.Deferred+s.Skipped+s.Delivered+s.Converted == 0 && s.Type != journeys.StepSend {
			continue
		}
		p.Requested += s.Requests
		p.Delivered += s.Delivered
		p.Opened += s.Opened
		p.Clicked += s.Clicked
		p.Steps = append(p.Steps, s)
	}
	return p
}

func (s *Server) registerJourneys() {
	const tag = "Marketing"

	huma.Register(s.api, withStatus(operation("create-journey", http.MethodPost, "/v1/journeys",
		"Create a journey (a draft): add a version, then publish it", core.ScopeWrite, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			Body journeys.JourneyFields
		}) (*journeyOutput, error) {
			j, err := s.journeys.Create(ctx, tenantOf(ctx), in.Body)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return journeyOut(j, true), nil
		})

	huma.Register(s.api, operation("list-journeys", http.MethodGet, "/v1/journeys", "List journeys", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct{ Body itemsPage[journeys.Journey] }, error) {
			items, next, err := s.journeys.List(ctx, tenantOf(ctx), in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[journeys.Journey] }{itemsPage[journeys.Journey]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("get-journey", http.MethodGet, "/v1/journeys/{id}", "Get a journey", core.ScopeRead, tag),
		func(ctx context.Context, in *JourneyPath) (*journeyOutput, error) {
			j, err := s.journeys.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return journeyOut(j, false), nil
		})

	huma.Register(s.api, operation("update-journey", http.MethodPut, "/v1/journeys/{id}",
		"Replace a journey's name and description (its definitions are versions)", core.ScopeWrite, tag),
		func(ctx context.Context, in *struct {
			JourneyPath
			IfMatchHeader
			Body journeys.JourneyFields
		}) (*journeyOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var j journeys.Journey
				if j, err = s.journeys.Update(ctx, tenantOf(ctx), in.ID, v, in.Body); err == nil {
					return journeyOut(j, false), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})

	huma.Register(s.api, withStatus(operation("delete-journey", http.MethodDelete, "/v1/journeys/{id}",
		"Delete a draft or archived journey", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			JourneyPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				err = s.journeys.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, withStatus(operation("create-journey-version", http.MethodPost, "/v1/journeys/{id}/versions",
		"Save a new immutable version of a journey's definition; its expressions are compiled now (422 with their position)", core.ScopeWrite, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			JourneyPath
			IdempotencyHeader
			Body journeys.JourneyDefinition
		}) (*struct{ Body journeys.JourneyVersion }, error) {
			v, err := s.journeys.AddVersion(ctx, tenantOf(ctx), in.ID, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return &struct{ Body journeys.JourneyVersion }{v}, nil
		})

	huma.Register(s.api, operation("list-journey-versions", http.MethodGet, "/v1/journeys/{id}/versions",
		"A journey's versions, oldest first", core.ScopeRead, tag),
		func(ctx context.Context, in *JourneyPath) (*struct {
			Body itemsPage[journeys.JourneyVersion]
		}, error) {
			vs, err := s.journeys.Versions(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct {
				Body itemsPage[journeys.JourneyVersion]
			}{itemsPage[journeys.JourneyVersion]{Items: vs}}, nil
		})

	huma.Register(s.api, operation("get-journey-version", http.MethodGet, "/v1/journeys/{id}/versions/{number}",
		"One version of a journey", core.ScopeRead, tag),
		func(ctx context.Context, in *JourneyVersionPath) (*struct{ Body journeys.JourneyVersion }, error) {
			v, err := s.journeys.Version(ctx, tenantOf(ctx), in.ID, in.Number)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body journeys.JourneyVersion }{v}, nil
		})

	huma.Register(s.api, operation("publish-journey-version", http.MethodPost, "/v1/journeys/{id}/versions/{number}/publish",
		"Make a version the one new enrolments use (a draft becomes active); running enrolments stay on theirs unless its migration rule maps them", core.ScopeWrite, tag),
		func(ctx context.Context, in *JourneyVersionPath) (*journeyOutput, error) {
			j, err := s.journeys.Publish(ctx, tenantOf(ctx), in.ID, in.Number)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return journeyOut(j, false), nil
		})

	for _, a := range journeys.Actions {
		summary := map[journeys.Action]string{
			journeys.ActionPause:   "Pause a journey: nobody enrols, and steps that come due are held (retried hourly) until it resumes",
			journeys.ActionResume:  "Resume a paused journey",
			journeys.ActionArchive: "Archive a journey: nobody enrols, and running enrolments exit at their next step",
		}[a]
		huma.Register(s.api, operation(string(a)+"-journey", http.MethodPost, "/v1/journeys/{id}/"+string(a), summary, core.ScopeWrite, tag),
			func(ctx context.Context, in *JourneyPath) (*journeyOutput, error) {
				j, err := s.journeys.Act(ctx, tenantOf(ctx), in.ID, a)
				if err != nil {
					return nil, s.problem(ctx, err, "path")
				}
				return journeyOut(j, false), nil
			})
	}

	huma.Register(s.api, withStatus(operation("enrol-in-journey", http.MethodPost, "/v1/journeys/{id}/enrolments",
		"Enrol a contact (the API trigger): waits count from at, the trigger's own time; 409 when the re-entry policy refuses", core.ScopeWrite, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			JourneyPath
			IdempotencyHeader
			Body journeys.JourneyEnrolRequest
		}) (*struct{ Body journeys.JourneyEnrolment }, error) {
			e, err := s.journeys.Enrol(ctx, tenantOf(ctx), in.ID, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return &struct{ Body journeys.JourneyEnrolment }{e}, nil
		})

	huma.Register(s.api, operation("batch-enrol-in-journey", http.MethodPost, "/v1/journeys/{id}/enrolments/batch",
		"Enrol up to 500 contacts at once (the API trigger for a whole audience), each answered as a single enrolment would be", core.ScopeWrite, tag),
		func(ctx context.Context, in *struct {
			JourneyPath
			IdempotencyHeader
			Body struct {
				Items []journeys.JourneyEnrolRequest `json:"items" minItems:"1" maxItems:"500" doc:"The enrolments, each as POST /v1/journeys/{id}/enrolments takes it."`
			}
		}) (*batchOutput[journeys.JourneyEnrolment], error) {
			results, err := s.journeys.EnrolMany(ctx, tenantOf(ctx), in.ID, in.Body.Items)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			out := &batchOutput[journeys.JourneyEnrolment]{}
			out.Body.Results = make([]BatchResult[journeys.JourneyEnrolment], len(results))
			for i, r := range results {
				out.Body.Results[i] = batchResult(s, ctx, i, r.Record, r.Err)
			}
			return out, nil
		})

	huma.Register(s.api, operation("journey-stats", http.MethodGet, "/v1/journeys/{id}/stats",
		"A journey's counts: enrolled, active, completed, exits by reason, conversions, and per step reached, waiting and drop-off", core.ScopeRead, tag),
		func(ctx context.Context, in *JourneyPath) (*struct{ Body journeys.JourneyStats }, error) {
			st, err := s.journeys.Stats(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body journeys.JourneyStats }{st}, nil
		})

	huma.Register(s.api, operation("journey-performance", http.MethodGet, "/v1/journeys/{id}/performance",
		"A journey's performance per send step: requested, delivered, opened, clicked, converted, revenue, and the holdout's uplift", core.ScopeRead, tag),
		func(ctx context.Context, in *JourneyPath) (*struct{ Body JourneyPerformance }, error) {
			st, err := s.journeys.Stats(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body JourneyPerformance }{performanceOf(st)}, nil
		})

	huma.Register(s.api, operation("contact-journeys", http.MethodGet, "/v1/contacts/{id}/journeys",
		"A contact's journey enrolments: which journeys, the step it is at, its next action and when", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			ContactPath
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct {
			Body itemsPage[journeys.JourneyEnrolment]
		}, error) {
			if _, err := s.contacts.Get(ctx, tenantOf(ctx), in.ID); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			es, next, err := s.journeys.ContactEnrolments(ctx, tenantOf(ctx), in.ID, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct {
				Body itemsPage[journeys.JourneyEnrolment]
			}{itemsPage[journeys.JourneyEnrolment]{Items: es, NextCursor: next}}, nil
		})
}
