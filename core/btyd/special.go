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

// tailSmall says whether the series may stop after a term: past the
// parameters the ratio of the terms moves monotonically toward z, so the
// tail is below |term|·ρ/(1−ρ) with ρ the larger of the ratio and z.
func tailSmall(n, a, b, c, ratio, z, term, sum float64) bool {
	if n <= math.Abs(a)+math.Abs(b)+math.Abs(c) {
		return false
	}
	rho := math.Max(math.Abs(ratio), z)
	return rho < 1 && math.Abs(term)*rho/(1-rho) <= 1e-16*math.Abs(sum)
}

// hyp2f1Rest is 2F1(a, b; c; z) − 1 for 0 ≤ z < 1, by its series:
// returned apart from the leading 1 so that callers can take log1p without
// losing the small part. largest is the largest |term| met: against the
// result it says how many digits cancellation cost. ok is false when the
// series did not settle within maxSeriesTerms terms.
func hyp2f1Rest(a, b, c, z float64) (rest, largest float64, ok bool) {
	if z == 0 {
		return 0, 1, true
	}
	term := 1.0
	largest = 1
	for n := 0; n < maxSeriesTerms; n++ {
		fn := float64(n)
		ratio := (a + fn) * (b + fn) / ((c + fn) * (fn + 1)) * z
		term *= ratio
		rest += term
		largest = math.Max(largest, math.Abs(term))
		if term == 0 || math.IsInf(rest, 0) || math.IsNaN(rest) {
			return rest, largest, term == 0 && !math.IsInf(rest, 0) && !math.IsNaN(rest)
		}
		if tailSmall(fn, a, b, c, ratio, z, term, 1+rest) {
			return rest, largest, true
		}
	}
	return rest, largest, false
}

// logHyp2f1Positive is log 2F1(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1,
// whose terms are all positive: summed in log space, so that terms far
// beyond float64's range (large a and b) neither overflow nor cancel.
func logHyp2f1Positive(a, b, c, z float64) (float64, bool) {
	if z == 0 {
		return 0, true
	}
	logTerm, logSum, logZ := 0.0, 0.0, math.Log(z)
	for n := 0; n < maxSeriesTerms; n++ {
		fn := float64(n)
		logRatio := math.Log(a+fn) + math.Log(b+fn) - math.Log(c+fn) - math.Log(fn+1) + logZ
		logTerm += logRatio
		logSum = logAddExp(logSum, logTerm)
		if fn > a+b+c {
			rho := math.Max(math.Exp(logRatio), z)
			if rho < 1 && logTerm+math.Log(rho/(1-rho)) < logSum-37 {
				return logSum, true
			}
		}
	}
	return logSum, false
}
