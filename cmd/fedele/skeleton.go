package main

// The files of `fedele plugin init`, as templates.

import "github.com/fedele-crm/fedele/core/plugins"

const skeletonGoMod = `module {{.Name}}

go {{.Go}}

require github.com/fedele-crm/fedele v0.0.0

// The PDK comes from the Fedele module on this disk.
replace github.com/fedele-crm/fedele => {{.Fedele}}
`

var skeletonDecide = map[plugins.Kind]string{
	plugins.KindScore: `// Command {{.Name}} is a Fedele score plugin. decide is plain Go: go test
// runs it natively; main_wasip1.go exports it to the host.
package main

import (
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// decide scores one contact from 0 to 100. Return pdk.ScoreResult{Err: …}
// to leave a contact to the built-in scorer.
func decide(r *pdk.ScoreRecord, now time.Time) pdk.ScoreResult {
	res := pdk.ScoreResult{Score: 50}
	if len(r.Contact.Emails) > 0 {
		res.Score += 10
		res.Reasons = append(res.Reasons, "has an e-mail address")
	}
	for _, a := range r.Activities {
		if now.Sub(a.At) < 30*24*time.Hour {
			res.Score += 5
		}
	}
	res.Score = min(res.Score, 100)
	return res
}

func main() {}
`,
	plugins.KindRoute: `// Command {{.Name}} is a Fedele route plugin. decide is plain Go: go test
// runs it natively; main_wasip1.go exports it to the host.
package main

import (
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// decide assigns an item to one of its candidates, or to a queue.
func decide(r *pdk.RouteRecord, _ time.Time) pdk.RouteResult {
	var best *pdk.Candidate
	for i := range r.Candidates {
		c := &r.Candidates[i]
		if c.Available && (best == nil || c.Load < best.Load) {
			best = c
		}
	}
	if best == nil {
		return pdk.RouteResult{Queue: "unassigned", Reason: "no one available"}
	}
	return pdk.RouteResult{Assignee: best.ID, Reason: "least loaded"}
}

func main() {}
`,
	plugins.KindCampaign: `// Command {{.Name}} is a Fedele campaign plugin. decide is plain Go: go
// test runs it natively; main_wasip1.go exports it to the host.
package main

import (
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// decide enrols a contact in a campaign or not.
func decide(r *pdk.CampaignRecord, _ time.Time) pdk.CampaignResult {
	if len(r.Contact.Emails) == 0 {
		return pdk.CampaignResult{Enrol: false}
	}
	res := pdk.CampaignResult{Enrol: true, Fields: map[string]string{"first_name": r.Contact.FirstName}}
	if len(r.Campaign.Variants) > 0 {
		res.Variant = r.Campaign.Variants[0]
	}
	return res
}

func main() {}
`,
}

const skeletonMain = `//go:build wasip1

package main

import "github.com/fedele-crm/fedele/plugins/pdk"

//go:wasmexport {{.Kind}}
func {{.Kind}}() int32 { return pdk.Run{{.Type}}(decide) }
`

const skeletonTest = `package main

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// The plugin answers one result per record of the sample batch.
func TestDecide(t *testing.T) {
	in, err := os.ReadFile("input.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := pdk.{{.Type}}Batch(in, time.Now(), decide)
	if err != nil {
		t.Fatal(err)
	}
	var records, results []json.RawMessage
	if json.Unmarshal(in, &records) != nil || json.Unmarshal(out, &results) != nil || len(results) != len(records) {
		t.Fatalf("%d records answered %s", len(records), out)
	}
}
`

const skeletonReadme = `# {{.Name}}

A Fedele {{.Kind}} plugin. Edit decide.go, then:

    go test ./...                                   # natively, on input.json
    fedele plugin build .                           # → {{.Name}}.wasm
    fedele plugin test {{.Name}}.wasm --kind {{.Kind}} --input input.json
    fedele plugin push {{.Name}}.wasm --name {{.Name}} --kind {{.Kind}} --activate
`
