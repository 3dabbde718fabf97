package btyd

import (
	"math"
	"math/rand/v2"
)

// gammaRand draws Gamma(shape, rate) by Marsaglia and Tsang (2000), with
// the shape < 1 boost U^(1/shape).
func gammaRand(rng *rand.Rand, shape, rate float64) float64 {
	if shape < 1 {
		return gammaRand(rng, shape+1, rate) * math.Pow(rng.Float64(), 1/shape)
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

func betaRand(rng *rand.Rand, a, b float64) float64 {
	x := gammaRand(rng, a, 1)
	return x / (x + gammaRand(rng, b, 1))
}

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
		lambda := gammaRand(rng, m.R, m.Alpha)
		p := betaRand(rng, m.A, m.B)
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
			nu := gammaRand(rng, g.Q, g.V)
			sum := 0.0
			for range int(c.X) {
				sum += gammaRand(rng, g.P, nu)
			}
			c.Spend = sum / c.X
		}
		cs[i] = c
	}
	return cs
}
