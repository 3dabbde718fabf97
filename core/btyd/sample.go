package btyd

import (
	"math"
	"math/rand/v2"
)

// GammaSample draws from Gamma(shape, rate) (Marsaglia and Tsang, with the
// boost for shape < 1): the mixing distribution of both models, for
// simulations that check a fit recovers what made the data, and for
// generated demonstration data.
func GammaSample(rng *rand.Rand, shape, rate float64) float64 {
	if shape < 1 {
		return GammaSample(rng, shape+1, rate) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		z := rng.NormFloat64()
		v := 1 + c*z
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*z*z+d-d*v+d*math.Log(v) {
			return d * v / rate
		}
	}
}

// BetaSample draws from Beta(a, b), BG/NBD's drop-out probability.
func BetaSample(rng *rand.Rand, a, b float64) float64 {
	x := GammaSample(rng, a, 1)
	return x / (x + GammaSample(rng, b, 1))
}
