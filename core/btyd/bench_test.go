package btyd

import (
	"math"
	"slices"
	"testing"
)

// BenchmarkFit fits BG/NBD and Gamma-Gamma to 100 000 simulated customers
// (two years of whole days) twice in one run: as FitBGNBD and
// FitGammaGamma do it (compressed, analytic gradient, BFGS), and as a
// textbook would (Nelder–Mead on the log-parameters, the per-customer
// likelihood summed over every customer at every evaluation), so that the
// ratio of the two is the speed-up. Run it with
//
//	go test ./core/btyd -run '^$' -bench Fit -benchtime 1x
//
// The simulation is setup, outside the timer, and runs only with -bench.
func BenchmarkFit(b *testing.B) {
	m, g := BGNBD{R: 0.6, Alpha: 40, A: 0.8, B: 3}, GammaGamma{P: 4, Q: 6, V: 12000}
	cs := simulate(2026, 100_000, 730, m, g, true)
	for i := range cs { // transaction days are whole days
		cs[i].TX = math.Ceil(cs[i].TX)
		cs[i].TX = math.Min(cs[i].TX, cs[i].T)
	}
	b.Run("compressed-BFGS", func(b *testing.B) {
		var bg BGNBDFit
		var gg GammaGammaFit
		for b.Loop() {
			s, err := Summarize(cs)
			if err != nil {
				b.Fatal(err)
			}
			if bg, err = FitBGNBD(s, Options{}); err != nil {
				b.Fatal(err)
			}
			if gg, err = FitGammaGamma(s, Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(bg.Iterations+gg.Iterations), "iterations")
		b.ReportMetric(-bg.LogLik, "bgnbd-negLL")
		b.ReportMetric(-gg.LogLik, "gg-negLL")
		b.Logf("BG/NBD %+v converged %v; Gamma-Gamma %+v converged %v", bg.Model, bg.Converged, gg.Model, gg.Converged)
	})
	b.Run("naive-NelderMead", func(b *testing.B) {
		var bgIters, ggIters int
		var bgF, ggF float64
		var bgX, ggX []float64
		for b.Loop() {
			bgX, bgF, bgIters = nelderMead(func(th []float64) float64 {
				m := BGNBD{R: math.Exp(th[0]), Alpha: math.Exp(th[1]), A: math.Exp(th[2]), B: math.Exp(th[3])}
				ll := 0.0
				for _, c := range cs {
					ll += m.LogLikelihood(c)
				}
				return nanInf(-ll)
			}, []float64{0, 0, 0, 0}, 4000)
			ggX, ggF, ggIters = nelderMead(func(th []float64) float64 {
				g := GammaGamma{P: math.Exp(th[0]), Q: math.Exp(th[1]), V: math.Exp(th[2])}
				ll := 0.0
				for _, c := range cs {
					if c.X > 0 {
						ll += g.LogLikelihood(c)
					}
				}
				return nanInf(-ll)
			}, []float64{0, 0, 0}, 4000)
		}
		b.ReportMetric(float64(bgIters+ggIters), "iterations")
		b.ReportMetric(bgF, "bgnbd-negLL")
		b.ReportMetric(ggF, "gg-negLL")
		b.Logf("BG/NBD log-params %v; Gamma-Gamma log-params %v", expAll(bgX), expAll(ggX))
	})
}

func nanInf(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

func expAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Exp(x)
	}
	return out
}

// nelderMead is the textbook method (reflection 1, expansion 2,
// contraction ½, shrink ½) from x0 with a unit simplex, stopping as SciPy
// does by default (the simplex within 1e-4 in x and f) or after maxIter
// iterations: the baseline of BenchmarkFit, never used to fit.
func nelderMead(f func([]float64) float64, x0 []float64, maxIter int) ([]float64, float64, int) {
	n := len(x0)
	pts := make([][]float64, n+1)
	fs := make([]float64, n+1)
	for i := range pts {
		pts[i] = slices.Clone(x0)
		if i > 0 {
			pts[i][i-1] += 1
		}
		fs[i] = f(pts[i])
	}
	point := func(c []float64, w []float64, t float64) []float64 {
		p := make([]float64, n)
		for j := range p {
			p[j] = c[j] + t*(w[j]-c[j])
		}
		return p
	}
	it := 0
	for ; it < maxIter; it++ {
		order := make([]int, n+1)
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmpF(fs[a], fs[b]) })
		sp, sf := make([][]float64, n+1), make([]float64, n+1)
		for i, o := range order {
			sp[i], sf[i] = pts[o], fs[o]
		}
		pts, fs = sp, sf
		spread := 0.0
		for i := 1; i <= n; i++ {
			for j := range n {
				spread = math.Max(spread, math.Abs(pts[i][j]-pts[0][j]))
			}
		}
		if spread <= 1e-4 && fs[n]-fs[0] <= 1e-4 {
			break
		}
		c := make([]float64, n)
		for i := range n {
			for j := range n {
				c[j] += pts[i][j] / float64(n)
			}
		}
		r := point(c, pts[n], -1)
		fr := f(r)
		switch {
		case fr < fs[0]:
			e := point(c, pts[n], -2)
			if fe := f(e); fe < fr {
				pts[n], fs[n] = e, fe
			} else {
				pts[n], fs[n] = r, fr
			}
		case fr < fs[n-1]:
			pts[n], fs[n] = r, fr
		default:
			k := point(c, pts[n], 0.5)
			if fr < fs[n] {
				k = point(c, r, 0.5)
			}
			if fk := f(k); fk < math.Min(fr, fs[n]) {
				pts[n], fs[n] = k, fk
				continue
			}
			for i := 1; i <= n; i++ {
				pts[i] = point(pts[0], pts[i], 0.5)
				fs[i] = f(pts[i])
			}
		}
	}
	best := 0
	for i := range fs {
		if fs[i] < fs[best] {
			best = i
		}
	}
	return pts[best], fs[best], it
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
