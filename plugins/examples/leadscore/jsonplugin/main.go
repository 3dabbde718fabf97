//go:build wasip1

// Command jsonplugin is leadscore with encoding/json in place of the PDK's
// codec: the benchmarks' measure of what reflection costs inside a module.
// Not an example to follow.
package main

import (
	"encoding/json"
	"time"

	extism "github.com/extism/go-pdk"

	"github.com/fedele-crm/fedele/plugins/examples/leadscore"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

type result struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

//go:wasmexport score
func score() int32 {
	var batch []pdk.ScoreRecord
	if err := json.Unmarshal(extism.Input(), &batch); err != nil {
		extism.SetError(err)
		return 1
	}
	now := time.Now()
	out := make([]result, len(batch))
	for i := range batch {
		r := leadscore.Decide(&batch[i], now)
		out[i] = result{Score: r.Score, Reasons: r.Reasons, Tags: r.Tags}
	}
	b, err := json.Marshal(out)
	if err != nil {
		extism.SetError(err)
		return 1
	}
	extism.Output(b)
	return 0
}

func main() {}
