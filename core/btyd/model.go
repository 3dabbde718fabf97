package btyd

import (
	"errors"
	"fmt"
	"math"
)

// Customer is one customer's summary at the calibration end, in the
// caller's unit of time.
type Customer struct {
	X     float64 // repeat transactions (transactions after the first)
	TX    float64 // time of the last repeat transaction since the first; 0 when X = 0
	T     float64 // age: time from the first transaction to the calibration end
	Spend float64 // mean value of the repeat transactions; ignored when X = 0
}

// check says what is wrong with c as a model input, if anything.
func (c Customer) check() error {
	switch {
	case !(c.X >= 0) || math.IsInf(c.X, 0) || c.X != math.Trunc(c.X):
		return fmt.Errorf("btyd: frequency %v is not a whole number ≥ 0", c.X)
	case !(c.T >= 0) || math.IsInf(c.T, 0):
		return fmt.Errorf("btyd: age %v is not a time ≥ 0", c.T)
	case !(c.TX >= 0) || c.TX > c.T:
		return fmt.Errorf("btyd: recency %v is not within 0..age %v", c.TX, c.T)
	case c.X == 0 && c.TX != 0:
		return fmt.Errorf("btyd: recency %v without a repeat transaction", c.TX)
	}
	return nil
}

// BGNBD is the BG/NBD model: while active a customer buys at rate λ ~
// Gamma(R, Alpha) (shape, rate: Alpha is in the unit of time), and right
// after each repeat transaction drops out with probability p ~ Beta(A, B).
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// GammaGamma is the Gamma-Gamma spend model: a customer's transaction
// values are Gamma(P, ν) around their own mean P/ν, with ν ~ Gamma(Q, V)
// across customers (V in the currency's minor units).
type GammaGamma struct {
	P float64 `json:"p"`
	Q float64 `json:"q"`
	V float64 `json:"v"`
}

func (m BGNBD) valid() bool {
	return m.R > 0 && m.Alpha > 0 && m.A > 0 && m.B > 0 &&
		!math.IsInf(m.R+m.Alpha+m.A+m.B, 0)
}

func (g GammaGamma) valid() bool {
	return g.P > 0 && g.Q > 0 && g.V > 0 && !math.IsInf(g.P+g.Q+g.V, 0)
}

// LogLikelihood is log L(R, Alpha, A, B | X, TX, T) of one customer, FHL
// 2005 eq. 6 in log space:
//
//	A1 = lgamma(r+x) − lgamma(r) + r·log α
//	A2 = lgamma(a+b) + lgamma(b+x) − lgamma(b) − lgamma(a+b+x)
//	A3 = −(r+x)·log(α+T)
//	A4 = log a − log(b+x−1) − (r+x)·log(α+tx)   (x > 0 only)
//	log L = A1 + A2 + log(e^A3 + e^A4)
//
// NaN for invalid parameters or customer.
func (m BGNBD) LogLikelihood(c Customer) float64 {
	if !m.valid() || c.check() != nil {
		return math.NaN()
	}
	x := c.X
	a1 := lgamma(m.R+x) - lgamma(m.R) + m.R*math.Log(m.Alpha)
	a2 := lgamma(m.A+m.B) + lgamma(m.B+x) - lgamma(m.B) - lgamma(m.A+m.B+x)
	a3 := -(m.R + x) * math.Log(m.Alpha+c.T)
	a4 := math.Inf(-1)
	if x > 0 {
		a4 = math.Log(m.A) - math.Log(m.B+x-1) - (m.R+x)*math.Log(m.Alpha+c.TX)
	}
	return a1 + a2 + logAddExp(a3, a4)
}

// logOddsDead is log(P(dead)/P(alive)) at T: log a − log(b+x−1) +
// (r+x)·log((α+T)/(α+tx)), or −Inf for x = 0.
func (m BGNBD) logOddsDead(c Customer) float64 {
	if c.X == 0 {
		return math.Inf(-1)
	}
	return math.Log(m.A) - math.Log(m.B+c.X-1) + (m.R+c.X)*(math.Log(m.Alpha+c.T)-math.Log(m.Alpha+c.TX))
}

// PAlive is the probability that the customer is still active at T (FHL
// 2005 eq. 11). A customer without a repeat transaction has had no chance
// to drop out in BG/NBD: 1.
func (m BGNBD) PAlive(c Customer) float64 {
	if !m.valid() || c.check() != nil {
		return math.NaN()
	}
	e := m.logOddsDead(c)
	if e > 0 {
		q := math.Exp(-e)
		return q / (1 + q)
	}
	return 1 / (1 + math.Exp(e))
}

// ErrSeries is the error of a prediction whose hypergeometric series did
// not settle: a horizon that is huge against Alpha+T.
var ErrSeries = errors.New("btyd: hypergeometric series did not converge; shorten the horizon")

// ExpectedTransactions is the expected number of transactions in (T, T+t]
// (FHL 2005 eq. 10), with its 2F1 through Euler's transformation (package
// doc) and 1 − (1−z)^(a−1)·2F1 as −expm1 so that short horizons keep their
// digits.
func (m BGNBD) ExpectedTransactions(c Customer, t float64) (float64, error) {
	if !m.valid() {
		return 0, fmt.Errorf("btyd: invalid BG/NBD parameters %+v", m)
	}
	if err := c.check(); err != nil {
		return 0, err
	}
	if !(t >= 0) || math.IsInf(t, 0) {
		return 0, fmt.Errorf("btyd: horizon %v is not a time ≥ 0", t)
	}
	if t == 0 {
		return 0, nil
	}
	// (a+b+x−1)/(a−1) has a removable singularity at a = 1: take the mean
	// of both sides, exact to O(ε²) since the whole is analytic in a.
	const eps = 1e-4
	if math.Abs(m.A-1) < eps {
		lo, hi := m, m
		lo.A, hi.A = 1-eps, 1+eps
		l, err := lo.expectedTransactions(c, t)
		if err != nil {
			return 0, err
		}
		h, err := hi.expectedTransactions(c, t)
		if err != nil {
			return 0, err
		}
		return (l + h) / 2, nil
	}
	return m.expectedTransactions(c, t)
}

// expectedTransactions is ExpectedTransactions for valid input and A ≠ 1.
func (m BGNBD) expectedTransactions(c Customer, t float64) (float64, error) {
	x := c.X
	z := t / (m.Alpha + c.T + t)
	cc := m.A + m.B + x - 1
	// Euler's form first: fast for any x and exact when its terms do not
	// cancel; where they would (a+b−1−r far below 0), the original form,
	// whose terms are all positive, in log space.
	rest, largest, ok := hyp2f1Rest(m.A+m.B-1-m.R, m.A-1, cc, z)
	var logG float64
	switch {
	case ok && 1+rest > 0 && largest < 1e6*(1+rest):
		logG = (m.A-1)*math.Log1p(-z) + math.Log1p(rest)
	case cc > 0:
		logF, ok := logHyp2f1Positive(m.R+x, m.B+x, cc, z)
		if !ok {
			return 0, ErrSeries
		}
		logG = (m.R+x)*math.Log1p(-z) + logF
	default:
		return 0, ErrSeries
	}
	e := cc / (m.A - 1) * -math.Expm1(logG)
	return e * m.PAlive(c), nil
}

// ExpectedSpend is the expected value of the customer's next transactions
// (FHL 2005, "RFM and CLV", eq. 5): (V + Spend·X)·P / (P·X + Q − 1), which
// for X = 0 is the population mean P·V/(Q−1). NaN when Q ≤ 1 and X = 0 (the
// population mean does not exist) or when Spend is not positive.
func (g GammaGamma) ExpectedSpend(c Customer) float64 {
	if !g.valid() {
		return math.NaN()
	}
	x := c.X
	if x > 0 && !(c.Spend > 0) {
		return math.NaN()
	}
	if x == 0 {
		if g.Q <= 1 {
			return math.NaN()
		}
		return g.P * g.V / (g.Q - 1)
	}
	return (g.V + c.Spend*x) * g.P / (g.P*x + g.Q - 1)
}

// LogLikelihood is log f(Spend | X, P, Q, V) of one customer with X > 0
// repeat transactions of mean Spend > 0:
//
//	lgamma(px+q) − lgamma(px) − lgamma(q) + q·log v + (px−1)·log m
//	+ px·log x − (px+q)·log(v + x·m)
//
// NaN for X = 0, Spend ≤ 0 or invalid parameters.
func (g GammaGamma) LogLikelihood(c Customer) float64 {
	if !g.valid() || !(c.X > 0) || !(c.Spend > 0) || math.IsInf(c.Spend, 0) {
		return math.NaN()
	}
	px := g.P * c.X
	return lgamma(px+g.Q) - lgamma(px) - lgamma(g.Q) + g.Q*math.Log(g.V) +
		(px-1)*math.Log(c.Spend) + px*math.Log(c.X) - (px+g.Q)*math.Log(g.V+c.X*c.Spend)
}

// CLV is the customer's discounted expected value over horizon (in the
// unit of time), in the unit of spend: ExpectedSpend times
// DiscountedTransactions.
func CLV(m BGNBD, g GammaGamma, c Customer, horizon, step, discount float64) (float64, error) {
	spend := g.ExpectedSpend(c)
	if math.IsNaN(spend) {
		return 0, fmt.Errorf("btyd: no expected spend for %+v under %+v", c, g)
	}
	d, err := DiscountedTransactions(m, c, horizon, step, discount)
	return spend * d, err
}

// DiscountedTransactions is the customer's expected transactions over
// horizon (in the unit of time), discounted: the horizon is cut into steps
// of step (the last one shorter), and the transactions expected in step i
// are discounted by (1+discount)^tᵢ from the step's end tᵢ, discount being
// the rate per unit of time (0 for none):
// Σ (E[Y(tᵢ)] − E[Y(tᵢ₋₁)]) / (1+discount)^tᵢ. Valuing them at the end of
// their step undervalues by at most a step's discount.
func DiscountedTransactions(m BGNBD, c Customer, horizon, step, discount float64) (float64, error) {
	if !(horizon >= 0) || math.IsInf(horizon, 0) || !(step > 0) || !(discount > -1) || math.IsInf(discount, 0) {
		return 0, fmt.Errorf("btyd: CLV needs horizon ≥ 0, step > 0 and discount > −1 (have %v, %v, %v)", horizon, step, discount)
	}
	if horizon/step > 100_000 {
		return 0, fmt.Errorf("btyd: CLV horizon %v is over 100 000 steps of %v", horizon, step)
	}
	value, prev := 0.0, 0.0
	logDisc := math.Log1p(discount)
	for t := 0.0; t < horizon; {
		t = math.Min(t+step, horizon)
		e, err := m.ExpectedTransactions(c, t)
		if err != nil {
			return 0, err
		}
		value += (e - prev) * math.Exp(-t*logDisc)
		prev = e
	}
	return value, nil
}
