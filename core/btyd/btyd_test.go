package btyd

import (
	"errors"
	"math"
	"testing"
)

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// The likelihoods against arithmetic done by hand.
func TestLogLikelihoodByHand(t *testing.T) {
	t.Parallel()
	one := BGNBD{R: 1, Alpha: 1, A: 1, B: 1}
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// x = 0, T = 1, r = α = a = b = 1: B(1,1)/B(1,1) · Γ(1)·1/(Γ(1)·2¹) = 1/2.
		{"bgnbd no repeat", one.LogLikelihood(Customer{T: 1}), math.Log(0.5)},
		// x = 1, tx = 1, T = 2: B(1,2)/B(1,1) · Γ(2)/(Γ(1)·3²) = ½·⅑ = 1/18,
		// plus B(2,1)/B(1,1) · Γ(2)/(Γ(1)·2²) = ½·¼ = 1/8: 1/18 + 1/8 = 13/72.
		{"bgnbd one repeat", one.LogLikelihood(Customer{X: 1, TX: 1, T: 2}), math.Log(13.0 / 72)},
		// r = 2, α = 3, a = 2, b = 4; x = 2, tx = 1, T = 3:
		// B(2,6)/B(2,4) = (Γ6Γ6/Γ8)... = (1/42)/(1/20) = 10/21;
		// Γ(4)·3²/(Γ(2)·6⁴) = 6·9/1296 = 1/24 → 10/21·1/24 = 10/504;
		// B(3,5)/B(2,4) = (1/105)/(1/20) = 4/21; Γ(4)·3²/(Γ(2)·4⁴) = 54/256
		// → 4/21·54/256 = 216/5376. Sum = 10/504 + 216/5376.
		{"bgnbd two repeats", BGNBD{R: 2, Alpha: 3, A: 2, B: 4}.LogLikelihood(Customer{X: 2, TX: 1, T: 3}), math.Log(10.0/504 + 216.0/5376)},
		// p = 1, q = 2, v = 1; x = 1, m = 1: Γ(3)/(Γ(1)Γ(2)) · 1² · 1⁰ · 1¹ / 2³ = 2/8.
		{"gamma-gamma one", GammaGamma{P: 1, Q: 2, V: 1}.LogLikelihood(Customer{X: 1, Spend: 1}), math.Log(0.25)},
		// p = 2, q = 3, v = 2; x = 2, m = 1.5: Γ(7)/(Γ(4)Γ(3)) = 720/12 = 60;
		// · v^q = 8 → 480; · m^(px−1) = 1.5³ = 3.375 → 1620; · x^(px) = 2⁴ → 25 920;
		// / (v + x·m)^(px+q) = 5⁷ = 78 125 → 0.331776.
		{"gamma-gamma two", GammaGamma{P: 2, Q: 3, V: 2}.LogLikelihood(Customer{X: 2, Spend: 1.5}), math.Log(0.331776)},
	}
	for _, tt := range tests {
		if !near(tt.got, tt.want, 1e-12) {
			t.Errorf("%s: log L = %.15g, want %.15g", tt.name, tt.got, tt.want)
		}
	}
}

// The compressed likelihood is the sum of the per-customer ones, and its
// gradient the finite difference of it.
func TestCompressedLikelihoodAndGradient(t *testing.T) {
	t.Parallel()
	m, g := BGNBD{R: 0.5, Alpha: 6, A: 0.7, B: 2.5}, GammaGamma{P: 4, Q: 5, V: 30}
	cs := simulate(7, 500, 60, m, g, true)
	s, err := Summarize(cs)
	if err != nil {
		t.Fatal(err)
	}
	bg, gg := newBGNBDData(s), newGGData(s)
	var wantBG, wantGG float64
	for _, c := range cs {
		wantBG += m.LogLikelihood(c)
		if c.X > 0 {
			wantGG += g.LogLikelihood(c)
		}
	}
	thetaBG := []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}
	thetaGG := []float64{math.Log(g.P), math.Log(g.Q - 1), math.Log(g.V)}
	for _, tt := range []struct {
		name  string
		f     func(theta, grad []float64) float64
		n     float64
		theta []float64
		want  float64
	}{
		{"BG/NBD", bg.negMeanLL, bg.n, thetaBG, wantBG},
		{"Gamma-Gamma", gg.negMeanLL, gg.n, thetaGG, wantGG},
	} {
		grad := make([]float64, len(tt.theta))
		if got := -tt.f(tt.theta, grad) * tt.n; !near(got, tt.want, 1e-10) {
			t.Errorf("%s: compressed log L = %.12g, per customer %.12g", tt.name, got, tt.want)
		}
		for i := range tt.theta {
			const h = 1e-6
			up, down := append([]float64(nil), tt.theta...), append([]float64(nil), tt.theta...)
			up[i] += h
			down[i] -= h
			fd := (tt.f(up, nil) - tt.f(down, nil)) / (2 * h)
			if math.Abs(fd-grad[i]) > 1e-6 {
				t.Errorf("%s: ∂/∂θ%d = %.9g, finite difference %.9g", tt.name, i, grad[i], fd)
			}
		}
	}
}

// Parameters come back from 20 000 customers simulated with known ones.
// Tolerance: 4 standard errors, from the observed information (the
// numerical Hessian of the log-likelihood at the estimate), so a correct
// fitter fails about once in 15 000 runs per parameter — and the fixed seed
// makes it pass or fail the same every run. The errors are also held under
// a relative bound (35 % on a and b, 15 % on the rest) so that a fit with
// huge standard errors cannot pass by being vague.
func TestRecoverSimulatedParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		m     BGNBD
		g     GammaGamma
		maxT  float64
		whole bool
	}{
		{"CDNOW-like weeks", BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}, GammaGamma{P: 6.25, Q: 3.74, V: 15.44}, 78, false},
		{"frequent days", BGNBD{R: 1.5, Alpha: 30, A: 1.2, B: 6}, GammaGamma{P: 3, Q: 8, V: 2000}, 365, true},
	}
	for _, tt := range tests {
		cs := simulate(42, 20_000, tt.maxT, tt.m, tt.g, tt.whole)
		s, err := Summarize(cs)
		if err != nil {
			t.Fatal(err)
		}
		bg, err := FitBGNBD(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !bg.Converged {
			t.Errorf("%s: BG/NBD did not converge in %d iterations: %+v", tt.name, bg.Iterations, bg)
		}
		se := stdErrs(newBGNBDData(s).negMeanLL, []float64{bg.Model.R, bg.Model.Alpha, bg.Model.A, bg.Model.B}, float64(bg.Customers), false)
		got, want := []float64{bg.Model.R, bg.Model.Alpha, bg.Model.A, bg.Model.B}, []float64{tt.m.R, tt.m.Alpha, tt.m.A, tt.m.B}
		rel := []float64{0.15, 0.15, 0.35, 0.35}
		for i, name := range []string{"r", "alpha", "a", "b"} {
			if math.Abs(got[i]-want[i]) > 4*se[i] || math.Abs(got[i]-want[i]) > rel[i]*want[i] {
				t.Errorf("%s: BG/NBD %s = %.4g ± %.2g, want %.4g", tt.name, name, got[i], se[i], want[i])
			}
		}
		gg, err := FitGammaGamma(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !gg.Converged {
			t.Errorf("%s: Gamma-Gamma did not converge: %+v", tt.name, gg)
		}
		se = stdErrs(newGGData(s).negMeanLL, []float64{gg.Model.P, gg.Model.Q, gg.Model.V}, float64(gg.Customers), true)
		got, want = []float64{gg.Model.P, gg.Model.Q, gg.Model.V}, []float64{tt.g.P, tt.g.Q, tt.g.V}
		for i, name := range []string{"p", "q", "v"} {
			if math.Abs(got[i]-want[i]) > 4*se[i] || math.Abs(got[i]-want[i]) > 0.35*want[i] {
				t.Errorf("%s: Gamma-Gamma %s = %.4g ± %.2g, want %.4g", tt.name, name, got[i], se[i], want[i])
			}
		}
		t.Logf("%s: BG/NBD %+v (%d iterations), Gamma-Gamma %+v (%d iterations)", tt.name, bg.Model, bg.Iterations, gg.Model, gg.Iterations)
	}
}

// stdErrs are the asymptotic standard errors of the parameters at params
// (the model's, not their logs): the inverse of the observed information
// in θ = log params by central differences of the analytic gradient, then
// the delta method (se(e^θ) = e^θ·se(θ); for Gamma-Gamma's q, θ is
// log(q−1)).
func stdErrs(f func(theta, grad []float64) float64, params []float64, n float64, ggQ bool) []float64 {
	k := len(params)
	theta := make([]float64, k)
	for i, p := range params {
		theta[i] = math.Log(p)
		if ggQ && i == 1 {
			theta[i] = math.Log(p - 1)
		}
	}
	hess := make([][]float64, k)
	const h = 1e-5
	for i := range k {
		up, down := append([]float64(nil), theta...), append([]float64(nil), theta...)
		up[i] += h
		down[i] -= h
		gu, gd := make([]float64, k), make([]float64, k)
		f(up, gu)
		f(down, gd)
		hess[i] = make([]float64, k)
		for j := range k {
			hess[i][j] = (gu[j] - gd[j]) / (2 * h) * n // information of the sum
		}
	}
	inv := invert(hess)
	se := make([]float64, k)
	for i := range k {
		d := params[i]
		if ggQ && i == 1 {
			d = params[i] - 1
		}
		se[i] = d * math.Sqrt(math.Abs(inv[i][i]))
	}
	return se
}

// invert is Gauss–Jordan with partial pivoting, for small matrices.
func invert(m [][]float64) [][]float64 {
	n := len(m)
	a := make([][]float64, n)
	for i := range n {
		a[i] = make([]float64, 2*n)
		copy(a[i], m[i])
		a[i][n+i] = 1
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := range n {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for j := range 2 * n {
				a[r][j] -= f * a[c][j]
			}
		}
	}
	out := make([][]float64, n)
	for i := range n {
		out[i] = make([]float64, n)
		for j := range n {
			out[i][j] = a[i][n+j] / a[i][i]
		}
	}
	return out
}

// Too little data is refused with what was needed and what there was.
func TestTooLittleData(t *testing.T) {
	t.Parallel()
	m, g := BGNBD{R: 0.5, Alpha: 6, A: 0.7, B: 2.5}, GammaGamma{P: 4, Q: 5, V: 30}
	few, _ := Summarize(simulate(1, MinCustomers-1, 50, m, g, true))
	var noRepeat Summary
	for range 500 {
		_ = noRepeat.Add(Customer{T: 10})
	}
	tests := []struct {
		name string
		fit  func() error
		want TooLittleDataError
	}{
		{"few customers", func() error { _, err := FitBGNBD(few, Options{}); return err }, TooLittleDataError{Model: "BG/NBD", What: "customers", Need: MinCustomers, Have: MinCustomers - 1}},
		{"no repeat buyer", func() error { _, err := FitBGNBD(noRepeat, Options{}); return err }, TooLittleDataError{Model: "BG/NBD", What: "repeat buyers", Need: MinRepeaters, Have: 0}},
		{"no spend", func() error { _, err := FitGammaGamma(noRepeat, Options{}); return err }, TooLittleDataError{Model: "Gamma-Gamma", What: "repeat buyers with a positive spend", Need: MinRepeaters, Have: 0}},
	}
	for _, tt := range tests {
		err := tt.fit()
		var te *TooLittleDataError
		if !errors.Is(err, ErrTooLittleData) || !errors.As(err, &te) || *te != tt.want {
			t.Errorf("%s: error %v, want %+v", tt.name, err, tt.want)
		}
	}
}
