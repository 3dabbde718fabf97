package btyd

import (
	"math"
	"slices"
)

// Options tune a fit; the zero value is the defaults.
type Options struct {
	// MaxIterations bounds the BFGS iterations (default 200; a fit on good
	// data takes 15–40).
	MaxIterations int
	// Tolerance is the convergence test: the largest component of the
	// gradient of the mean log-likelihood per customer with respect to the
	// log-parameters (default 1e-7).
	Tolerance float64
}

func (o Options) withDefaults() Options {
	if o.MaxIterations <= 0 {
		o.MaxIterations = 200
	}
	if !(o.Tolerance > 0) {
		o.Tolerance = 1e-7
	}
	return o
}

// BGNBDFit is a fitted BG/NBD model and how the fit went.
type BGNBDFit struct {
	Model      BGNBD   `json:"model"`
	LogLik     float64 `json:"log_likelihood"`
	Iterations int     `json:"iterations"`
	Converged  bool    `json:"converged"`
	Customers  int     `json:"customers"`
	Repeaters  int     `json:"repeaters"`
}

// GammaGammaFit is a fitted Gamma-Gamma model and how the fit went.
type GammaGammaFit struct {
	Model      GammaGamma `json:"model"`
	LogLik     float64    `json:"log_likelihood"`
	Iterations int        `json:"iterations"`
	Converged  bool       `json:"converged"`
	Customers  int        `json:"customers" doc:"Repeat buyers with a positive spend: those the model is fitted on."`
}

// bgnbdData is a Summary laid out for evaluation: distinct X, T and TX
// values once each, so that special functions and logarithms are taken
// once per distinct value.
type bgnbdData struct {
	xs, xw   []float64 // distinct X and the customers with each
	ts, txs  []float64 // distinct T, distinct TX
	rows     []bgRow
	n        float64
	lt, it   []float64 // per evaluation: log(α+T), 1/(α+T)
	ltx, itx []float64
	perX     []bgPerX
}

type bgRow struct {
	x, t, tx int32 // indexes into xs, ts, txs
	w        float64
}

type bgPerX struct{ c4, bx1 float64 }

func index(vals []float64) map[float64]int32 {
	m := make(map[float64]int32, len(vals))
	for i, v := range vals {
		m[v] = int32(i)
	}
	return m
}

func distinct(vals []float64) []float64 {
	slices.Sort(vals)
	return slices.Compact(vals)
}

func newBGNBDData(s Summary) *bgnbdData {
	var xs, ts, txs []float64
	for _, r := range s.Rows {
		if r.Count > 0 {
			xs, ts, txs = append(xs, r.X), append(ts, r.T), append(txs, r.TX)
		}
	}
	d := &bgnbdData{xs: distinct(xs), ts: distinct(ts), txs: distinct(txs)}
	xi, ti, txi := index(d.xs), index(d.ts), index(d.txs)
	d.xw = make([]float64, len(d.xs))
	for _, r := range s.Rows {
		if r.Count <= 0 {
			continue
		}
		w := float64(r.Count)
		row := bgRow{x: xi[r.X], t: ti[r.T], tx: txi[r.TX], w: w}
		d.rows = append(d.rows, row)
		d.xw[row.x] += w
		d.n += w
	}
	d.lt, d.it = make([]float64, len(d.ts)), make([]float64, len(d.ts))
	d.ltx, d.itx = make([]float64, len(d.txs)), make([]float64, len(d.txs))
	d.perX = make([]bgPerX, len(d.xs))
	return d
}

// negMeanLL is −log L / n at θ = log(r, α, a, b), and its gradient in θ
// into grad (when not nil). +Inf where the likelihood is not finite.
func (d *bgnbdData) negMeanLL(theta, grad []float64) float64 {
	r, alpha, a, b := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	m := BGNBD{R: r, Alpha: alpha, A: a, B: b}
	if !m.valid() {
		return math.Inf(1)
	}
	logAlpha, loga := math.Log(alpha), math.Log(a)
	ll, dr, dalpha, da, db := 0.0, 0.0, 0.0, 0.0, 0.0
	lgr, lgb, lgab := lgamma(r), lgamma(b), lgamma(a+b)
	var psr, psb, psab float64
	if grad != nil {
		psr, psb, psab = digamma(r), digamma(b), digamma(a+b)
	}
	for i, x := range d.xs {
		w := d.xw[i]
		ll += w * (lgamma(r+x) - lgr + r*logAlpha + lgab + lgamma(b+x) - lgb - lgamma(a+b+x))
		if x > 0 {
			d.perX[i] = bgPerX{c4: loga - math.Log(b+x-1), bx1: 1 / (b + x - 1)}
		}
		if grad != nil {
			psabx := digamma(a + b + x)
			dr += w * (digamma(r+x) - psr + logAlpha)
			dalpha += w * r / alpha
			da += w * (psab - psabx)
			db += w * (psab + digamma(b+x) - psb - psabx)
		}
	}
	for i, t := range d.ts {
		d.lt[i], d.it[i] = math.Log(alpha+t), 1/(alpha+t)
	}
	for i, t := range d.txs {
		d.ltx[i], d.itx[i] = math.Log(alpha+t), 1/(alpha+t)
	}
	for _, row := range d.rows {
		x := d.xs[row.x]
		s := r + x
		a3 := -s * d.lt[row.t]
		if x == 0 {
			ll += row.w * a3
			if grad != nil {
				dr -= row.w * d.lt[row.t]
				dalpha -= row.w * s * d.it[row.t]
			}
			continue
		}
		px := d.perX[row.x]
		a4 := px.c4 - s*d.ltx[row.tx]
		l := logAddExp(a3, a4)
		ll += row.w * l
		if grad != nil {
			w4 := math.Exp(a4 - l)
			w3 := 1 - w4
			dr -= row.w * (w3*d.lt[row.t] + w4*d.ltx[row.tx])
			dalpha -= row.w * s * (w3*d.it[row.t] + w4*d.itx[row.tx])
			da += row.w * w4 / a
			db -= row.w * w4 * px.bx1
		}
	}
	if math.IsNaN(ll) || math.IsInf(ll, 0) {
		return math.Inf(1)
	}
	if grad != nil {
		grad[0], grad[1], grad[2], grad[3] = -dr*r/d.n, -dalpha*alpha/d.n, -da*a/d.n, -db*b/d.n
	}
	return -ll / d.n
}

// FitBGNBD fits BG/NBD to the customers s counts by maximum likelihood.
// It refuses fewer than MinCustomers customers or MinRepeaters repeat
// buyers with a *TooLittleDataError.
func FitBGNBD(s Summary, opt Options) (BGNBDFit, error) {
	customers, repeaters := s.Customers()
	fit := BGNBDFit{Customers: customers, Repeaters: repeaters}
	if customers < MinCustomers {
		return fit, &TooLittleDataError{Model: "BG/NBD", What: "customers", Need: MinCustomers, Have: customers}
	}
	if repeaters < MinRepeaters {
		return fit, &TooLittleDataError{Model: "BG/NBD", What: "repeat buyers", Need: MinRepeaters, Have: repeaters}
	}
	d := newBGNBDData(s)
	// Start at r = a = b = 1 with α matching the mean purchase rate
	// (E[λ] = r/α): the fit is then in the right scale whatever the unit.
	var sumX, sumT float64
	for _, row := range d.rows {
		sumX += row.w * d.xs[row.x]
		sumT += row.w * d.ts[row.t]
	}
	alpha0 := math.Max(sumT, 1e-6) / math.Max(sumX, 1)
	theta, f, iters, ok := minimize(d.negMeanLL, []float64{0, math.Log(alpha0), 0, 0}, opt.withDefaults())
	fit.Model = BGNBD{R: math.Exp(theta[0]), Alpha: math.Exp(theta[1]), A: math.Exp(theta[2]), B: math.Exp(theta[3])}
	fit.LogLik, fit.Iterations, fit.Converged = -f*d.n, iters, ok
	if math.IsInf(f, 0) || !fit.Model.valid() {
		return fit, errNotFinite
	}
	return fit, nil
}

// ggData is the Gamma-Gamma side of a Summary laid out for evaluation.
type ggData struct {
	xs, xw []float64
	rows   []ggRow
	n      float64
	// sumXLogMX = Σ w·x·(log m + log x), sumLogM = Σ w·log m: the parts of
	// the likelihood that are linear in p.
	sumXLogMX, sumLogM float64
}

type ggRow struct {
	x  int32
	xm float64 // x·m
	xf float64
	w  float64
}

func newGGData(s Summary) *ggData {
	var xs []float64
	for _, r := range s.Spend {
		if r.Count > 0 {
			xs = append(xs, r.X)
		}
	}
	d := &ggData{xs: distinct(xs)}
	xi := index(d.xs)
	d.xw = make([]float64, len(d.xs))
	for _, r := range s.Spend {
		if r.Count <= 0 {
			continue
		}
		w := float64(r.Count)
		row := ggRow{x: xi[r.X], xm: r.X * r.Spend, xf: r.X, w: w}
		d.rows = append(d.rows, row)
		d.xw[row.x] += w
		d.n += w
		d.sumXLogMX += w * r.X * (math.Log(r.Spend) + math.Log(r.X))
		d.sumLogM += w * math.Log(r.Spend)
	}
	return d
}

// negMeanLL is −log L / n at θ = (log p, log(q−1), log v).
func (d *ggData) negMeanLL(theta, grad []float64) float64 {
	p, q, v := math.Exp(theta[0]), 1+math.Exp(theta[1]), math.Exp(theta[2])
	if !(GammaGamma{P: p, Q: q, V: v}).valid() {
		return math.Inf(1)
	}
	logv := math.Log(v)
	ll := p*d.sumXLogMX - d.sumLogM
	dp, dq, dv := d.sumXLogMX, 0.0, 0.0
	lgq := lgamma(q)
	var psq float64
	if grad != nil {
		psq = digamma(q)
	}
	for i, x := range d.xs {
		w := d.xw[i]
		px := p * x
		ll += w * (lgamma(px+q) - lgamma(px) - lgq + q*logv)
		if grad != nil {
			pspxq := digamma(px + q)
			dp += w * x * (pspxq - digamma(px))
			dq += w * (pspxq - psq + logv)
			dv += w * q / v
		}
	}
	for _, row := range d.rows {
		vxm := v + row.xm
		l := math.Log(vxm)
		s := p*row.xf + q
		ll -= row.w * s * l
		if grad != nil {
			dp -= row.w * row.xf * l
			dq -= row.w * l
			dv -= row.w * s / vxm
		}
	}
	if math.IsNaN(ll) || math.IsInf(ll, 0) {
		return math.Inf(1)
	}
	if grad != nil {
		grad[0], grad[1], grad[2] = -dp*p/d.n, -dq*(q-1)/d.n, -dv*v/d.n
	}
	return -ll / d.n
}

// FitGammaGamma fits Gamma-Gamma to the repeat buyers' spend s counts. It
// refuses fewer than MinRepeaters of them with a *TooLittleDataError.
//
// The model assumes a customer's spend does not depend on how often they
// buy; Q is kept above 1 so that the population mean spend exists.
func FitGammaGamma(s Summary, opt Options) (GammaGammaFit, error) {
	d := newGGData(s)
	fit := GammaGammaFit{Customers: int(d.n)}
	if fit.Customers < MinRepeaters {
		return fit, &TooLittleDataError{Model: "Gamma-Gamma", What: "repeat buyers with a positive spend", Need: MinRepeaters, Have: fit.Customers}
	}
	// Start at p = 1, q = 3 and v matching the mean spend (p·v/(q−1)).
	var sum float64
	for _, row := range d.rows {
		sum += row.w * row.xm / row.xf
	}
	mean := sum / d.n
	theta, f, iters, ok := minimize(d.negMeanLL, []float64{0, math.Log(2), math.Log(2 * mean)}, opt.withDefaults())
	fit.Model = GammaGamma{P: math.Exp(theta[0]), Q: 1 + math.Exp(theta[1]), V: math.Exp(theta[2])}
	fit.LogLik, fit.Iterations, fit.Converged = -f*d.n, iters, ok
	if math.IsInf(f, 0) || !fit.Model.valid() {
		return fit, errNotFinite
	}
	return fit, nil
}

// minimize is BFGS on the inverse Hessian with an Armijo backtracking line
// search. f answers +Inf where it is not defined, which the line search
// backs away from. It answers the point, f there, the iterations and
// whether the gradient fell below opt.Tolerance.
func minimize(f func(theta, grad []float64) float64, theta0 []float64, opt Options) ([]float64, float64, int, bool) {
	n := len(theta0)
	x := slices.Clone(theta0)
	g := make([]float64, n)
	fx := f(x, g)
	if math.IsInf(fx, 1) {
		return x, fx, 0, false
	}
	h := make([]float64, n*n) // inverse Hessian, row-major
	for i := range n {
		h[i*n+i] = 1
	}
	dir, xn, gn, s, y, hy := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	first := true
	for it := 1; it <= opt.MaxIterations; it++ {
		if maxAbs(g) < opt.Tolerance {
			return x, fx, it - 1, true
		}
		slope := 0.0
		for i := range n {
			dir[i] = 0
			for j := range n {
				dir[i] -= h[i*n+j] * g[j]
			}
			slope += dir[i] * g[i]
		}
		if slope >= 0 { // not a descent direction: start the curvature over
			for i := range n {
				for j := range n {
					h[i*n+j] = 0
				}
				h[i*n+i] = 1
				dir[i] = -g[i]
			}
			slope = -dot(g, g)
		}
		// Keep a step within e^±5 per parameter: a full step early on can
		// otherwise leap to where the likelihood underflows.
		step := math.Min(1, 5/maxAbs(dir))
		var fn float64
		accepted := false
		for range 60 {
			for i := range n {
				xn[i] = x[i] + step*dir[i]
			}
			fn = f(xn, gn)
			if fn <= fx+1e-4*step*slope {
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			return x, fx, it, maxAbs(g) < 10*opt.Tolerance
		}
		for i := range n {
			s[i], y[i] = xn[i]-x[i], gn[i]-g[i]
		}
		sy := dot(s, y)
		if sy > 1e-16 {
			if first { // scale the initial inverse Hessian to the curvature seen
				scale := sy / dot(y, y)
				for i := range h {
					h[i] *= scale
				}
				first = false
			}
			// H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ
			rho := 1 / sy
			for i := range n {
				hy[i] = 0
				for j := range n {
					hy[i] += h[i*n+j] * y[j]
				}
			}
			yhy := dot(y, hy)
			for i := range n {
				for j := range n {
					h[i*n+j] += rho*((1+rho*yhy)*s[i]*s[j]) - rho*(hy[i]*s[j]+s[i]*hy[j])
				}
			}
		}
		copy(x, xn)
		copy(g, gn)
		fx = fn
	}
	return x, fx, opt.MaxIterations, maxAbs(g) < opt.Tolerance
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}
