package btyd

import "math"

// lgamma is log Γ(x) for x > 0.
func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// digamma is ψ(x) = d/dx log Γ(x) for x > 0: the recurrence ψ(x) =
// ψ(x+1) − 1/x up to x ≥ 6, then the asymptotic series, good to ~1e-15.
func digamma(x float64) float64 {
	r := 0.0
	for x < 6 {
		r -= 1 / x
		x++
	}
	f := 1 / (x * x)
	t := f * (-1.0/12 + f*(1.0/120+f*(-1.0/252+f*(1.0/240+f*(-1.0/132+f*(691.0/32760-f/12))))))
	return r + math.Log(x) - 0.5/x + t
}

// logAddExp is log(e^a + e^b) without overflow; -Inf stands for e^x = 0.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// maxSeriesTerms bounds the hypergeometric series: enough for z up to
// 1 − 4e-5 at double precision (the terms shrink like zⁿ once n passes the
// parameters).
const maxSeriesTerms = 1_000_000

// hyp2f1Rest is 2F1(a, b; c; z) − 1 for 0 ≤ z < 1 and c > 0, by its series:
// returned apart from the leading 1 so that callers can take log1p without
// losing the small part. ok is false when the series did not settle within
// maxSeriesTerms terms.
func hyp2f1Rest(a, b, c, z float64) (rest float64, ok bool) {
	if z == 0 {
		return 0, true
	}
	term := 1.0
	for n := 0; n < maxSeriesTerms; n++ {
		fn := float64(n)
		term *= (a + fn) * (b + fn) / ((c + fn) * (fn + 1)) * z
		rest += term
		if term == 0 {
			return rest, true
		}
		// Past the turning point of the terms, the tail is below
		// |term|·z/(1−z); stop when it cannot move the sum.
		if fn > math.Abs(a)+math.Abs(b) && math.Abs(term)*z/(1-z) <= 1e-16*math.Abs(1+rest) {
			return rest, true
		}
	}
	return rest, false
}
