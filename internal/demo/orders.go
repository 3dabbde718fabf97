// Package demo generates a believable year of an optician's shop — a
// catalogue and the orders of customers who buy, come back and drift away
// — for the README's walk-through and for benchmarks. Customers follow the
// BG/NBD story (each buys at its own Poisson rate while alive, and may
// drop out after any purchase) and spend by Gamma-Gamma, so that the CLV
// fit on what it generates has something true to find.
//
// It must never be imported by code that serves requests: it is a tool,
// wired by cmd/fedele, and its numbers are made up.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fedele-crm/fedele/core/btyd"
	"github.com/fedele-crm/fedele/core/commerce"
)

// Product is a catalogue item the generated orders buy.
type Product struct {
	SKU, Name, Category, Brand string
	Price, Cost                int64 // EUR cents
}

// Catalogue is the shop's products.
var Catalogue = []Product{
	{"LENS-DAILY-30", "Daily contact lenses, 30 pack", "eyewear/contact-lenses", "Clarity", 2990, 1200},
	{"LENS-MONTH-6", "Monthly contact lenses, 6 pack", "eyewear/contact-lenses", "Clarity", 4490, 1800},
	{"SOL-300ML", "Lens solution 300 ml", "eyewear/care", "Clarity", 990, 300},
	{"SUN-AVIATOR", "Aviator sunglasses", "eyewear/sunglasses", "Sole", 12900, 4100},
	{"SUN-WAYFARER", "Wayfarer sunglasses", "eyewear/sunglasses", "Sole", 11900, 3900},
	{"FRAME-ROUND", "Round acetate frame", "eyewear/frames", "Vista", 15900, 5200},
	{"CASE-HARD", "Hard glasses case", "eyewear/accessories", "Vista", 1490, 350},
	{"CLOTH-3", "Microfibre cloths, 3 pack", "eyewear/care", "Vista", 590, 90},
}

// Params shape the generated customers.
type Params struct {
	Customers int
	From, To  time.Time // customers are acquired in the first half, then buy until To
	Seed      uint64
	// BG/NBD: purchase rate λ ~ Gamma(R, 1/Alpha) per day, drop-out after
	// each purchase with p ~ Beta(A, B).
	R, Alpha, A, B float64
	// Gamma-Gamma: a customer's spend scale ν ~ Gamma(Q, V), and each
	// order's size in catalogue items ~ Gamma(P, 1)·ν/P, one to eight.
	P, Q, V float64
}

// Defaults are a shop whose customers buy about every two months while
// they stay (E[λ] = R/Alpha = 1/67 a day), a quarter of whom stop after
// each repeat purchase (E[p] = A/(A+B)), with baskets of two to three
// items on average (E[ν] = Q/V), some customers far more than others.
func Defaults(customers int, from, to time.Time) Params {
	return Params{Customers: customers, From: from, To: to, Seed: 7,
		R: 0.9, Alpha: 60, A: 1.2, B: 3.5, P: 6, Q: 4, V: 1.5}
}

// Orders generates the orders of p.Customers customers, oldest customer
// first. Every order names its buyer by e-mail (the ingest finds or creates
// the contact) and has a stable external id, so loading it twice counts once.
func Orders(p Params) []commerce.OrderFields {
	rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
	span := p.To.Sub(p.From)
	var out []commerce.OrderFields
	for c := range p.Customers {
		lambda := btyd.GammaSample(rng, p.R, 1) / p.Alpha // per day
		drop := btyd.BetaSample(rng, p.A, p.B)
		nu := btyd.GammaSample(rng, p.Q, 1) / p.V // mean spend scale, in "baskets"
		email := fmt.Sprintf("customer%05d@example.com", c+1)
		at := p.From.Add(time.Duration(rng.Float64() * float64(span) / 2))
		for n := 1; at.Before(p.To); n++ {
			out = append(out, order(rng, email, fmt.Sprintf("demo-%05d-%03d", c+1, n), at, p.P, nu))
			if n > 1 && rng.Float64() < drop { // BG/NBD: drop-out follows repeat purchases only
				break
			}
			days := rng.ExpFloat64() / max(lambda, 1e-6)
			if days*float64(24*time.Hour) >= float64(p.To.Sub(at)) {
				break // the next purchase is beyond the year (and a slow buyer's gap overflows a Duration)
			}
			at = at.Add(time.Duration(days * float64(24*time.Hour)))
		}
	}
	return out
}

var channels = []commerce.Channel{"web", "web", "web", "store", "store", "app", "phone"}

func order(rng *rand.Rand, email, id string, at time.Time, shape, nu float64) commerce.OrderFields {
	// The order's size in catalogue items: mean nu, one to eight.
	baskets := max(1, min(8, int(math.Round(btyd.GammaSample(rng, shape, 1)*nu/shape))))
	o := commerce.OrderFields{ExternalID: id, Email: email, Currency: "EUR", PlacedAt: at.UTC().Truncate(time.Second),
		Channel: channels[rng.IntN(len(channels))], Status: commerce.OrderPaid}
	if o.Channel == "store" {
		o.Location = []string{"Milano Centro", "Roma Prati", "Torino Lingotto"}[rng.IntN(3)]
	}
	seen := map[string]int{}
	for range baskets {
		pr := Catalogue[rng.IntN(len(Catalogue))]
		if i, ok := seen[pr.SKU]; ok {
			o.Lines[i].Quantity++
			continue
		}
		seen[pr.SKU] = len(o.Lines)
		// Catalogue prices are what the customer pays, with 22 % VAT; a
		// line has the price before tax and the tax beside it.
		o.Lines = append(o.Lines, commerce.Line{SKU: pr.SKU, Quantity: 1, UnitPrice: (pr.Price*100 + 61) / 122})
	}
	for i := range o.Lines {
		l := &o.Lines[i]
		l.Tax = (l.Quantity*l.UnitPrice*22 + 50) / 100
	}
	return o
}

// Products is the catalogue as the batch endpoint takes it, in EUR with
// its costs, so the generated orders' margins are known.
func Products() []commerce.ProductFields {
	out := make([]commerce.ProductFields, len(Catalogue))
	for i, p := range Catalogue {
		out[i] = commerce.ProductFields{SKU: p.SKU, Name: p.Name, Category: p.Category, Brand: p.Brand,
			Prices: []commerce.Price{{Currency: "EUR", Amount: p.Price, Cost: &p.Cost}}}
	}
	return out
}
