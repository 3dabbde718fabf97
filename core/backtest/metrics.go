package backtest

import (
	"math"
)

// The numbers a backtest reports, from histograms of integer scores 0–100:
// a score contract's scores are integers in that range
// (schemas/plugins/score.output.json), so 101 counts hold a distribution
// exactly, a job's state stays a few kilobytes however many contacts it
// replays, and every number below is exact rather than binned.

// MaxScore is the highest score of the contract.
const MaxScore = 100

// Scores counts decisions by score.
type Scores [MaxScore + 1]int

// clamp keeps a score in the contract's range (a built-in with odd weights
// cannot go outside it, but the histogram must not be indexed out of it).
func clamp(s int) int { return min(max(s, 0), MaxScore) }

// N is how many scores there are.
func (h *Scores) N() int {
	n := 0
	for _, c := range h {
		n += c
	}
	return n
}

// Bins10 folds the scores into ten 10-point bins: 0–9, 10–19, …, 90–100
// (100 joins the last bin).
func (h *Scores) Bins10() [10]int {
	var b [10]int
	for s, c := range h {
		b[min(s/10, 9)] += c
	}
	return b
}

// MeanStd is the mean and the population standard deviation; zeros when
// there are no scores.
func (h *Scores) MeanStd() (mean, std float64) {
	n := h.N()
	if n == 0 {
		return 0, 0
	}
	sum := 0.0
	for s, c := range h {
		sum += float64(s * c)
	}
	mean = sum / float64(n)
	ss := 0.0
	for s, c := range h {
		d := float64(s) - mean
		ss += d * d * float64(c)
	}
	return mean, math.Sqrt(ss / float64(n))
}

// KS is the two-sample Kolmogorov–Smirnov statistic of a and b: the
// largest distance between their cumulative distributions, 0 (the same)
// to 1 (disjoint). 0 when either is empty.
func KS(a, b *Scores) float64 {
	na, nb := a.N(), b.N()
	if na == 0 || nb == 0 {
		return 0
	}
	ca, cb, d := 0, 0, 0.0
	for s := range a {
		ca += a[s]
		cb += b[s]
		d = max(d, math.Abs(float64(ca)/float64(na)-float64(cb)/float64(nb)))
	}
	return d
}

// psiFloor stands in for an empty bin's share in PSI, whose logarithm
// would be infinite: the usual practice, and small enough not to hide a
// bin that empties.
const psiFloor = 0.0001

// PSI is the population stability index of actual against expected over
// the ten 10-point bins: Σ (a−e)·ln(a/e) over the bins' shares, empty bins
// taken as psiFloor. Below 0.1 is read as no shift, above 0.25 as a large
// one. 0 when either is empty.
func PSI(expected, actual *Scores) float64 {
	ne, na := expected.N(), actual.N()
	if ne == 0 || na == 0 {
		return 0
	}
	be, ba := expected.Bins10(), actual.Bins10()
	psi := 0.0
	for i := range be {
		e := max(float64(be[i])/float64(ne), psiFloor)
		a := max(float64(ba[i])/float64(na), psiFloor)
		psi += (a - e) * math.Log(a/e)
	}
	return psi
}

// Labelled counts contacts by score, apart for those with the outcome
// (Pos) and those without (Neg).
type Labelled struct {
	Pos Scores `json:"pos"`
	Neg Scores `json:"neg"`
}

// Add counts a contact.
func (l *Labelled) Add(score int, positive bool) {
	if positive {
		l.Pos[clamp(score)]++
	} else {
		l.Neg[clamp(score)]++
	}
}

// AUC is the area under the ROC curve: the chance that a contact with the
// outcome scores above one without, ties counting one half (the
// Mann–Whitney U statistic over P·N). ok is false when either group is
// empty: there is nothing to rank.
func (l *Labelled) AUC() (auc float64, ok bool) {
	p, n := l.Pos.N(), l.Neg.N()
	if p == 0 || n == 0 {
		return 0, false
	}
	u, below := 0.0, 0
	for s := range l.Pos {
		u += float64(l.Pos[s]) * (float64(below) + float64(l.Neg[s])/2)
		below += l.Neg[s]
	}
	return u / (float64(p) * float64(n)), true
}

// TopDecileLift is how much likelier the top tenth of contacts by score
// (ceil(n/10) of them) had the outcome than all contacts did: their share
// of positives over the overall share. Contacts tied at the decile's edge
// enter it in proportion (the expected count of positives if the tie were
// broken at random), so the number does not depend on an arbitrary order.
// ok is false when there are no contacts or no positives.
func (l *Labelled) TopDecileLift() (lift float64, ok bool) {
	p, n := l.Pos.N(), l.Neg.N()
	total := p + n
	if total == 0 || p == 0 {
		return 0, false
	}
	k := (total + 9) / 10
	room, pos := float64(k), 0.0
	for s := MaxScore; s >= 0 && room > 0; s-- {
		inBin := float64(l.Pos[s] + l.Neg[s])
		if inBin == 0 {
			continue
		}
		take := min(inBin, room)
		pos += float64(l.Pos[s]) * take / inBin
		room -= take
	}
	return (pos / float64(k)) / (float64(p) / float64(total)), true
}
