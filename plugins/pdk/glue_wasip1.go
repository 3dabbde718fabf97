//go:build wasip1

package pdk

import (
	"time"

	extism "github.com/extism/go-pdk"
)

// RunScore runs a score plugin's export: it reads the batch the host sent,
// calls decide for every record with the host's time, and writes the
// results. It returns the export's status code.
func RunScore(decide func(*ScoreRecord, time.Time) ScoreResult) int32 {
	return respond(ScoreBatch(extism.Input(), time.Now(), decide))
}

// RunRoute runs a route plugin's export.
func RunRoute(decide func(*RouteRecord, time.Time) RouteResult) int32 {
	return respond(RouteBatch(extism.Input(), time.Now(), decide))
}

// RunCampaign runs a campaign plugin's export.
func RunCampaign(decide func(*CampaignRecord, time.Time) CampaignResult) int32 {
	return respond(CampaignBatch(extism.Input(), time.Now(), decide))
}

func respond(out []byte, err error) int32 {
	if err != nil {
		extism.SetError(err)
		return 1
	}
	extism.Output(out)
	return 0
}

// Log writes a line to the plugin's logs, which the host keeps (capped)
// with every call and shows in dry runs and failures.
func Log(msg string) { extism.Log(extism.LogInfo, msg) }
