package reports

import (
	"math"
	"slices"
)

// Sketch is a distribution of non-negative values (lifetime values, in
// minor units) in logarithmic bins, so that its quantiles cost a few
// kilobytes whatever the number of customers: a value v ≥ 1 falls in bin
// ⌈log_γ v⌉ and is read back as the bin's midpoint 2γ^i/(γ+1), within
// (γ−1)/(γ+1) ≈ 1 % of v for γ = 1.02 (DDSketch's relative-error bins).
// Values below one minor unit are counted as zero. A sketch of a million
// values spread over twelve orders of magnitude holds at most ~1 400 bins.
// Up to ExactUpTo values are also kept as they are, so that a small
// tenant's quantiles are exact.
type Sketch struct {
	Count  int64         `json:"n"`
	Zero   int64         `json:"z,omitempty"`
	Bins   map[int]int64 `json:"b,omitempty"`
	Values []float64     `json:"v,omitempty"`
}

// ExactUpTo is how many values a sketch keeps exactly.
const ExactUpTo = 1000

// sketchGamma is the ratio between bins' bounds.
const sketchGamma = 1.02

// SketchError is the largest relative error of a quantile read back.
const SketchError = (sketchGamma - 1) / (sketchGamma + 1)

var logGamma = math.Log(sketchGamma)

// Add counts v; a NaN or a negative value counts as zero.
func (s *Sketch) Add(v float64) {
	s.Count++
	if !(v >= 0) || math.IsInf(v, 1) {
		v = 0
	}
	if s.Count <= ExactUpTo {
		s.Values = append(s.Values, v)
	} else {
		s.Values = nil
	}
	if v < 1 {
		s.Zero++
		return
	}
	if s.Bins == nil {
		s.Bins = map[int]int64{}
	}
	s.Bins[int(math.Ceil(math.Log(v)/logGamma))]++
}

// Quantile is the nearest-rank q-quantile (0 < q ≤ 1): the value of rank
// ⌈q·n⌉ in ascending order — exact while the values are kept, else as
// its bin reads it; 0 for an empty sketch.
func (s *Sketch) Quantile(q float64) float64 {
	if s == nil || s.Count == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(s.Count))), 1)
	if int64(len(s.Values)) == s.Count {
		vs := slices.Clone(s.Values)
		slices.Sort(vs)
		return vs[rank-1]
	}
	if rank <= s.Zero {
		return 0
	}
	seen := s.Zero
	keys := make([]int, 0, len(s.Bins))
	for k := range s.Bins {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		seen += s.Bins[k]
		if seen >= rank {
			return 2 * math.Pow(sketchGamma, float64(k)) / (sketchGamma + 1)
		}
	}
	return 2 * math.Pow(sketchGamma, float64(keys[len(keys)-1])) / (sketchGamma + 1)
}
