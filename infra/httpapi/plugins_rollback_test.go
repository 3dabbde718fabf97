package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/schemas"
)

// The sequence: leads runs, myscore takes the kind over, a second
// version of myscore follows, and two rollbacks of myscore. The second
// rollback once activated leads (the kind's history); it is a 409, and
// myscore stays at its version 1. Every activation names what it replaced.
func TestPluginRollbackIsPerPlugin(t *testing.T) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			e := newPluginEnv(t, name)
			lead, flat := module(t, "plugins", "leadscore.wasm"), module(t, "plugins", "flatscore.wasm")
			upload(e.a, "leads", "score", lead, "").want(t, 201, nil)
			upload(e.a, "myscore", "score", flat, "").want(t, 201, nil)
			upload(e.a, "myscore", "score", lead, "").want(t, 201, nil)

			type answer struct {
				Name     string       `json:"name"`
				Version  int          `json:"version"`
				Status   string       `json:"status"`
				Replaced *plugins.Ref `json:"replaced"`
			}
			for _, step := range []struct {
				path string
				want answer
			}{
				{"/v1/plugins/leads/versions/1/activate", answer{"leads", 1, "active", nil}},
				{"/v1/plugins/myscore/versions/1/activate", answer{"myscore", 1, "active", &plugins.Ref{Name: "leads", Version: 1}}},
				{"/v1/plugins/myscore/versions/2/activate", answer{"myscore", 2, "active", &plugins.Ref{Name: "myscore", Version: 1}}},
				{"/v1/plugins/myscore/rollback", answer{"myscore", 1, "active", &plugins.Ref{Name: "myscore", Version: 2}}},
			} {
				var got answer
				e.a.do("POST", step.path, nil).want(t, 200, &got)
				if diff := cmp.Diff(step.want, got); diff != "" {
					t.Fatalf("POST %s (-want +got):\n%s", step.path, diff)
				}
			}
			p := e.a.do("POST", "/v1/plugins/myscore/rollback", nil).want(t, 409, nil).problem(t)
			if p.Detail == "" {
				t.Errorf("the conflict does not say why: %+v", p)
			}

			var list struct{ Items []plugins.Plugin }
			e.a.do("GET", "/v1/plugins", nil).want(t, 200, &list)
			want := []plugins.Plugin{
				{Name: "leads", Kind: "score", Latest: 1},
				{Name: "myscore", Kind: "score", Latest: 2, Active: 1},
			}
			if diff := cmp.Diff(want, list.Items); diff != "" {
				t.Errorf("after the refused rollback (-want +got):\n%s", diff)
			}

			// The events say what was replaced too, true to their schemas.
			e.advance(10 * time.Second) // past the stream's settling time
			var page struct{ Items []events.Envelope }
			e.a.do("GET", "/v1/events?limit=200", nil).want(t, 200, &page)
			var replaced []string
			for _, ev := range page.Items {
				if ev.DetailType != events.PluginActivated && ev.DetailType != events.PluginRolledBack {
					continue
				}
				raw, _ := json.Marshal(ev)
				if err := schemas.ValidateEvent(raw); err != nil {
					t.Errorf("%s: %v", ev.DetailType, err)
				}
				var d struct {
					Replaced *plugins.Ref `json:"replaced"`
				}
				_ = json.Unmarshal(ev.Detail.Entity.Data, &d)
				if d.Replaced != nil {
					replaced = append(replaced, d.Replaced.Name)
				}
			}
			if len(replaced) != 3 {
				t.Errorf("activation events name %v as replaced, want three of them", replaced)
			}
		})
	}
}
