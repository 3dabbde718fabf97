package plugins_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

// Rollback walks back the named plugin's own activations, never into
// another plugin's: the kind's history interleaves both, and following it
// blindly once switched a tenant from myscore to leads on a second
// rollback. Activation names what it replaced.
func TestRollbackStaysWithinThePlugin(t *testing.T) {
	type step struct {
		op      string // "activate name version", "rollback name", "delete name version"
		want    string // the active "name version" afterwards, or the error code
		replace string // the replaced "name version" the answer names, if any
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"the issue's sequence: a second rollback is a conflict, not leads", []step{
			{"activate leads 1", "leads 1", ""},
			{"activate myscore 1", "myscore 1", "leads 1"},
			{"activate myscore 2", "myscore 2", "myscore 1"},
			{"rollback myscore", "myscore 1", "myscore 2"},
			{"rollback myscore", string(core.CodeConflict), ""},
		}},
		{"back over another plugin's turn to the plugin's own version", []step{
			{"activate myscore 1", "myscore 1", ""},
			{"activate leads 1", "leads 1", "myscore 1"},
			{"activate myscore 2", "myscore 2", "leads 1"},
			{"rollback myscore", "myscore 1", "myscore 2"},
			{"rollback myscore", string(core.CodeConflict), ""},
			// leads' own history is intact for leads.
			{"activate leads 2", "leads 2", "myscore 1"},
			{"rollback leads", "leads 1", "leads 2"},
		}},
		{"several steps back, one version at a time", []step{
			{"activate myscore 1", "myscore 1", ""},
			{"activate myscore 2", "myscore 2", "myscore 1"},
			{"activate myscore 3", "myscore 3", "myscore 2"},
			{"rollback myscore", "myscore 2", "myscore 3"},
			{"rollback myscore", "myscore 1", "myscore 2"},
			{"rollback myscore", string(core.CodeConflict), ""},
		}},
		{"a deleted version is passed over", []step{
			{"activate myscore 1", "myscore 1", ""},
			{"activate myscore 2", "myscore 2", "myscore 1"},
			{"activate myscore 3", "myscore 3", "myscore 2"},
			{"delete myscore 2", "myscore 3", ""},
			{"rollback myscore", "myscore 1", "myscore 3"},
		}},
		{"a plugin that is not active has nothing to roll back", []step{
			{"activate myscore 1", "myscore 1", ""},
			{"activate leads 1", "leads 1", "myscore 1"},
			{"rollback myscore", string(core.CodeConflict), ""},
		}},
		{"a first activation replaces nothing; activating the active one again neither", []step{
			{"activate leads 1", "leads 1", ""},
			{"activate leads 1", "leads 1", ""},
			{"rollback leads", string(core.CodeConflict), ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := plugins.NewRegistry(memstore.New(), func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
			for _, name := range []string{"leads", "myscore"} {
				for n := range 3 {
					if _, err := reg.Add(ctx, "acme", name, plugins.KindScore, fmt.Sprintf("%064d", n), 10, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i, s := range tc.steps {
				var op, name string
				var number int
				fmt.Sscan(s.op, &op, &name, &number)
				var a plugins.Activation
				var err error
				switch op {
				case "activate":
					a, err = reg.Activate(ctx, "acme", name, number)
				case "rollback":
					a, err = reg.Rollback(ctx, "acme", name)
				case "delete":
					_, err = reg.Delete(ctx, "acme", name, number, 0)
				}
				got := ""
				if err != nil {
					got = string(core.ErrorCode(err))
				} else {
					cur, _, err := reg.Active(ctx, "acme", plugins.KindScore)
					if err != nil {
						t.Fatal(err)
					}
					got = fmt.Sprintf("%s %d", cur.Name, cur.Version)
					if op != "delete" && (a.Name != cur.Name || a.Number != cur.Version || a.Status != plugins.StatusActive) {
						t.Errorf("step %d (%s) answered %s %d %s, the pointer is at %s", i, s.op, a.Name, a.Number, a.Status, got)
					}
				}
				replaced := ""
				if a.Replaced != nil {
					replaced = fmt.Sprintf("%s %d", a.Replaced.Name, a.Replaced.Version)
				}
				if diff := cmp.Diff([2]string{s.want, s.replace}, [2]string{got, replaced}); diff != "" {
					t.Fatalf("step %d (%s): [active or error, replaced] (-want +got):\n%s", i, s.op, diff)
				}
			}
		})
	}
}
