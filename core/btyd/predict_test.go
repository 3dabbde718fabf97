package btyd

import (
	"math"
	"testing"
)

// expectedByIntegral is E[Y(t)] computed without the hypergeometric
// function, as the posterior expectation it is: given alive at T, λ ~
// Gamma(r+x, α+T) and p ~ Beta(a, b+x) independently, and a customer
// active at rate λ who drops after each purchase with probability p makes
// (1 − e^(−λpt))/p purchases in t on average; integrating λ out leaves
// (1 − (1 + pt/(α+T))^(−(r+x)))/p, integrated over the Beta by the
// midpoint rule in u = p^a (which absorbs p^(a−1)).
func expectedByIntegral(m BGNBD, c Customer, t float64) float64 {
	const n = 400_000
	s, k, b := m.R+c.X, t/(m.Alpha+c.T), m.B+c.X
	sum := 0.0
	for i := range n {
		u := (float64(i) + 0.5) / n
		p := math.Pow(u, 1/m.A)
		h := -math.Expm1(-s*math.Log1p(k*p)) / p
		sum += h * math.Exp((b-1)*math.Log1p(-p))
	}
	lbeta := lgamma(m.A) + lgamma(b) - lgamma(m.A+b)
	return m.PAlive(c) * sum / n / m.A / math.Exp(lbeta)
}

func TestExpectedTransactionsAgainstIntegral(t *testing.T) {
	t.Parallel()
	cdnow := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	tests := []struct {
		name string
		m    BGNBD
		c    Customer
		t    float64
	}{
		{"new customer, a year", cdnow, Customer{}, 52},
		{"no repeat, long silent", cdnow, Customer{T: 70}, 39},
		{"active", cdnow, Customer{X: 10, TX: 60, T: 70}, 39},
		{"long silent", cdnow, Customer{X: 10, TX: 5, T: 70}, 39},
		{"very active", cdnow, Customer{X: 300, TX: 69.5, T: 70}, 39},
		{"long horizon, z near 1", cdnow, Customer{X: 1, TX: 1, T: 2}, 5000},
		{"a above 1", BGNBD{R: 1.5, Alpha: 30, A: 2.2, B: 6}, Customer{X: 4, TX: 200, T: 300}, 365},
		{"a at 1", BGNBD{R: 1.5, Alpha: 30, A: 1, B: 6}, Customer{X: 4, TX: 200, T: 300}, 365},
		{"tiny horizon", cdnow, Customer{X: 3, TX: 20, T: 30}, 1e-6},
	}
	for _, tt := range tests {
		got, err := tt.m.ExpectedTransactions(tt.c, tt.t)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if want := expectedByIntegral(tt.m, tt.c, tt.t); math.Abs(got-want) > 2e-4*math.Abs(want) {
			t.Errorf("%s: E[Y(%v)] = %.10g, integral %.10g", tt.name, tt.t, got, want)
		}
	}
	// Euler's terms would cancel here (a+b−1−r = −321; found by
	// FuzzLikelihood), so the positive original form in log space answers.
	// The midpoint rule is poor for a = 30 (p = u^(1/30)), but the answer
	// is known: with r+x = 356, (1 + p·52/44)^(−356) < 1e-20 wherever
	// Beta(30, 6.02) has mass (p > 0.15), so E = P(alive)·E[1/p] =
	// P(alive)·(a+b+x−1)/(a−1) = P(alive)·35.02/29, P(alive) = 1/(1 + 30/5.02).
	{
		m, c := BGNBD{R: 350, Alpha: 44, A: 30, B: 0.02}, Customer{X: 6}
		got, err := m.ExpectedTransactions(c, 52)
		if want := 35.02 / 29 / (1 + 30/5.02); err != nil || math.Abs(got-want) > 1e-9*want {
			t.Errorf("large r: E[Y(52)] = %.12g (%v), want %.12g", got, err, want)
		}
	}
}

// What the predictions must do for the customers a tenant will ask about.
func TestPredictionsBehave(t *testing.T) {
	t.Parallel()
	m := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	g := GammaGamma{P: 6.25, Q: 3.74, V: 15.44}

	// No repeat purchase: BG/NBD has given no chance to drop out yet.
	for _, T := range []float64{0, 1, 30, 1000} {
		if p := m.PAlive(Customer{T: T}); p != 1 {
			t.Errorf("P(alive | x=0, T=%v) = %v, want 1", T, p)
		}
	}
	// Monotonic in recency: a later last purchase is more likely alive and
	// expected to buy more.
	prevP, prevE := -1.0, -1.0
	for tx := 0.5; tx <= 70; tx += 0.5 {
		c := Customer{X: 5, TX: tx, T: 70}
		p := m.PAlive(c)
		e, err := m.ExpectedTransactions(c, 52)
		if err != nil {
			t.Fatal(err)
		}
		if p <= prevP || e <= prevE {
			t.Fatalf("tx=%v: P(alive) %v after %v, E %v after %v: not increasing", tx, p, prevP, e, prevE)
		}
		prevP, prevE = p, e
	}
	// Long silent after being active: almost surely gone.
	if p := m.PAlive(Customer{X: 20, TX: 10, T: 78}); p > 1e-6 {
		t.Errorf("long-silent P(alive) = %v, want ≈ 0", p)
	}
	// Very active, frequency in the thousands: no overflow, alive, and
	// buying near its own rate (x/T a week) over the next weeks.
	active := Customer{X: 5000, TX: 78, T: 78, Spend: 40}
	p := m.PAlive(active)
	e, err := m.ExpectedTransactions(active, 4)
	if err != nil || !(p > 0.99) || !(e > 0.8*4*5000/78) || !(e < 1.05*4*5000/78) {
		t.Errorf("very active: P(alive) %v, E[Y(4)] %v (%v), want ≈1 and ≈ %v", p, e, err, 4*5000/78.0)
	}
	if ll := m.LogLikelihood(active); math.IsNaN(ll) || math.IsInf(ll, 0) {
		t.Errorf("very active: log L = %v", ll)
	}
	// Spend: with no repeat, the population mean; with many, near their own.
	if s := g.ExpectedSpend(Customer{}); !near(s, g.P*g.V/(g.Q-1), 1e-12) {
		t.Errorf("spend with no repeat = %v", s)
	}
	if s := g.ExpectedSpend(active); math.Abs(s-40) > 0.1 {
		t.Errorf("spend of a very active customer = %v, want ≈ 40", s)
	}
	// p = 1, q = 2, v = 1, x = 1, m = 1: (1 + 1)·1/(1 + 1) = 1.
	if s := (GammaGamma{P: 1, Q: 2, V: 1}).ExpectedSpend(Customer{X: 1, Spend: 1}); s != 1 {
		t.Errorf("spend by hand = %v, want 1", s)
	}
}

func TestCLV(t *testing.T) {
	t.Parallel()
	m := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	g := GammaGamma{P: 6.25, Q: 3.74, V: 15.44}
	c := Customer{X: 4, TX: 50, T: 60, Spend: 35}
	e, err := m.ExpectedTransactions(c, 52)
	if err != nil {
		t.Fatal(err)
	}
	// Undiscounted, the steps telescope to spend · E[Y(horizon)].
	v0, err := CLV(m, g, c, 52, 4.35, 0)
	if err != nil || !near(v0, g.ExpectedSpend(c)*e, 1e-12) {
		t.Errorf("undiscounted CLV = %v (%v), want %v", v0, err, g.ExpectedSpend(c)*e)
	}
	// Discounting lowers it, more for a higher rate, never below the value
	// discounted at the horizon's end throughout.
	v1, _ := CLV(m, g, c, 52, 4.35, 0.002)
	v2, _ := CLV(m, g, c, 52, 4.35, 0.01)
	floor := v0 * math.Pow(1.01, -52)
	if !(v1 < v0 && v2 < v1 && v2 >= floor) {
		t.Errorf("discounted CLV %v, %v against %v (floor %v)", v1, v2, v0, floor)
	}
	if _, err := CLV(m, g, c, 52, 0, 0.01); err == nil {
		t.Error("a zero step was accepted")
	}
	if v, err := CLV(m, g, c, 0, 1, 0.01); err != nil || v != 0 {
		t.Errorf("zero horizon: %v, %v", v, err)
	}
}

// Any valid parameters and customer give finite likelihoods and
// predictions: no NaN or Inf from the special functions or the series.
func FuzzLikelihood(f *testing.F) {
	f.Add(0.243, 4.414, 0.793, 2.426, uint16(0), 0.0, 10.0, 30.0)
	f.Add(1e-3, 1e3, 1e-3, 1e3, uint16(5000), 99.0, 100.0, 1e5)
	f.Add(50.0, 0.01, 30.0, 0.02, uint16(1), 0.0, 0.0, 1e-4)
	f.Add(1.0, 1.0, 1.0, 1.0, uint16(3), 1.0, 2.0, 3.0)
	f.Fuzz(func(t *testing.T, r, alpha, a, b float64, x uint16, tx, T, spend float64) {
		ok := func(v float64) bool { return v >= 1e-3 && v <= 1e3 }
		if !ok(r) || !ok(alpha) || !ok(a) || !ok(b) || !(T >= 0 && T <= 1e4) || !(tx >= 0 && tx <= T) || !(spend > 0 && spend < 1e9) {
			return
		}
		c := Customer{X: float64(x), TX: tx, T: T, Spend: spend}
		if x == 0 {
			c.TX = 0
		}
		m := BGNBD{R: r, Alpha: alpha, A: a, B: b}
		if ll := m.LogLikelihood(c); math.IsNaN(ll) || math.IsInf(ll, 0) || ll > 1e-9 && x == 0 {
			t.Fatalf("log L(%+v | %+v) = %v", m, c, ll)
		}
		if p := m.PAlive(c); !(p >= 0 && p <= 1) {
			t.Fatalf("P(alive) = %v", p)
		}
		e, err := m.ExpectedTransactions(c, 52)
		if err == nil && (math.IsNaN(e) || math.IsInf(e, 0) || e < -1e-9) {
			t.Fatalf("E[Y(52) | %+v, %+v] = %v", m, c, e)
		}
		if x > 0 {
			g := GammaGamma{P: r, Q: 1 + a, V: alpha}
			if ll := g.LogLikelihood(c); math.IsNaN(ll) || math.IsInf(ll, 0) {
				t.Fatalf("Gamma-Gamma log L = %v", ll)
			}
		}
	})
}
