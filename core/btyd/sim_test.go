package btyd

import (
	"math"
	"math/rand/v2"
)

// gammaRand draws Gamma(shape, rate) by Marsaglia and Tsang (2000), with
// the shape < 1 boost U^(1/shape).
// simulate draws n customers from BG/NBD m and Gamma-Gamma g, with ages
// spread uniformly over (0, maxT] in whole units (as days or weeks since a
// first purchase are) and transaction times rounded up to the unit, as
// transaction days are counted: the generative processes of FHL 2005 —
// λ ~ Gamma(r, α), p ~ Beta(a, b), purchases a Poisson(λ) process, and a
// drop-out with probability p after each repeat purchase; each purchase's
// value Gamma(p, ν) with ν ~ Gamma(q, v).
func simulate(seed uint64, n int, maxT float64, m BGNBD, g GammaGamma, whole bool) []Customer {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cs := make([]Customer, n)
	for i := range cs {
		lambda := GammaSample(rng, m.R, m.Alpha)
		p := BetaSample(rng, m.A, m.B)
		T := maxT * rng.Float64()
		if whole {
			T = math.Ceil(T)
		}
		var c Customer
		c.T = T
		t := 0.0
		for {
			t += rng.ExpFloat64() / lambda
			if t > T {
				break
			}
			c.X++
			c.TX = t
			if rng.Float64() < p {
				break
			}
		}
		if c.X > 0 {
			nu := GammaSample(rng, g.Q, g.V)
			sum := 0.0
			for range int(c.X) {
				sum += GammaSample(rng, g.P, nu)
			}
			c.Spend = sum / c.X
		}
		cs[i] = c
	}
	return cs
}
