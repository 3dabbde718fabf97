package wasm

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/fedele-crm/fedele/core/plugins"
)

// checkDecisions holds what a schema cannot say: a route plugin assigns
// only one of the record's own candidates — never someone it made up, or a
// user of another tenant — and a campaign plugin picks only one of the
// campaign's variants.
func checkDecisions(kind plugins.Kind, input, output []byte) error {
	switch kind {
	case plugins.KindRoute:
		var in []struct {
			Candidates []struct {
				ID string `json:"id"`
			} `json:"candidates"`
		}
		var out []struct {
			Assignee string `json:"assignee"`
		}
		if err := decodeBoth(input, &in, output, &out); err != nil {
			return err
		}
		for i := range min(len(in), len(out)) {
			a := out[i].Assignee
			if a != "" && !slices.ContainsFunc(in[i].Candidates, func(c struct {
				ID string `json:"id"`
			}) bool {
				return c.ID == a
			}) {
				return fmt.Errorf("result %d assigns %q, who is not one of the record's candidates", i, a)
			}
		}
	case plugins.KindCampaign:
		var in []struct {
			Campaign struct {
				Variants []string `json:"variants"`
			} `json:"campaign"`
		}
		var out []struct {
			Variant string `json:"variant"`
		}
		if err := decodeBoth(input, &in, output, &out); err != nil {
			return err
		}
		for i := range min(len(in), len(out)) {
			v, vs := out[i].Variant, in[i].Campaign.Variants
			if v != "" && len(vs) > 0 && !slices.Contains(vs, v) {
				return fmt.Errorf("result %d picks variant %q, which the campaign does not have", i, v)
			}
		}
	}
	return nil
}

func decodeBoth(input []byte, in any, output []byte, out any) error {
	if err := json.Unmarshal(input, in); err != nil {
		return fmt.Errorf("read the input back: %w", err)
	}
	if err := json.Unmarshal(output, out); err != nil {
		return fmt.Errorf("read the output: %w", err)
	}
	return nil
}
