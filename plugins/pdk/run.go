package pdk

import (
	"fmt"
	"time"
)

// ScoreBatch decodes a score batch, decides every record and encodes the
// results: what Score does inside a module, callable natively in tests.
func ScoreBatch(input []byte, now time.Time, decide func(*ScoreRecord, time.Time) ScoreResult) ([]byte, error) {
	batch, err := DecodeScore(input)
	if err != nil {
		return nil, err
	}
	out := make([]ScoreResult, len(batch))
	for i := range batch {
		out[i] = guard(func() ScoreResult { return decide(&batch[i], now) }, func(msg string) ScoreResult { return ScoreResult{Err: msg} })
	}
	return EncodeScore(out), nil
}

// RouteBatch is ScoreBatch for route plugins.
func RouteBatch(input []byte, now time.Time, decide func(*RouteRecord, time.Time) RouteResult) ([]byte, error) {
	batch, err := DecodeRoute(input)
	if err != nil {
		return nil, err
	}
	out := make([]RouteResult, len(batch))
	for i := range batch {
		out[i] = guard(func() RouteResult { return decide(&batch[i], now) }, func(msg string) RouteResult { return RouteResult{Err: msg} })
	}
	return EncodeRoute(out), nil
}

// CampaignBatch is ScoreBatch for campaign plugins.
func CampaignBatch(input []byte, now time.Time, decide func(*CampaignRecord, time.Time) CampaignResult) ([]byte, error) {
	batch, err := DecodeCampaign(input)
	if err != nil {
		return nil, err
	}
	out := make([]CampaignResult, len(batch))
	for i := range batch {
		out[i] = guard(func() CampaignResult { return decide(&batch[i], now) }, func(msg string) CampaignResult { return CampaignResult{Err: msg} })
	}
	return EncodeCampaign(out), nil
}

// guard turns a panic deciding one record into that record's error, so one
// bad record does not fail the batch.
func guard[R any](decide func() R, failed func(string) R) (res R) {
	defer func() {
		if p := recover(); p != nil {
			res = failed(fmt.Sprint("panic: ", p))
		}
	}()
	return decide()
}
