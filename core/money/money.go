// Package money is the arithmetic of amounts in integer minor units (cents
// for EUR, yen for JPY, fils for KWD) and the currencies they are in: sums
// and products that report an overflow instead of wrapping, a percentage
// taken exactly, a 128-bit total for reports whose sums can exceed int64,
// decimal renderings at a currency's exponent, and the ISO 4217 list with
// each currency's minor-unit exponent.
//
// It must never round through floating point, hold a rule of a deal or a
// report (those live with the entities that use it), or change the
// currency library's registry: the list is the library's, as published.
package money

import (
	"math"
	"math/bits"
	"strings"
)

// MaxMinor is the largest amount an int64 of minor units holds; a sum or a
// product beyond it is refused, never wrapped.
const MaxMinor = math.MaxInt64

// Add returns a + b, and false when the sum does not fit in an int64.
func Add(a, b int64) (int64, bool) {
	s := a + b
	// Overflow is when both operands have the same sign and the sum another.
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// Sub returns a − b, and false when the difference does not fit.
func Sub(a, b int64) (int64, bool) {
	d := a - b
	return d, (a >= 0) == (b >= 0) || (d >= 0) == (a >= 0)
}

// Mul returns a × b, and false when the product does not fit.
func Mul(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs(a), abs(b))
	if hi != 0 {
		return 0, false
	}
	return fromMagnitude(lo, neg)
}

// Percent returns amount × percent / 100 rounded half away from zero,
// computed exactly in 128 bits, and false when the result does not fit.
// A percent between 0 and 100 always fits.
func Percent(amount int64, percent int64) (int64, bool) {
	if amount == 0 || percent == 0 {
		return 0, true
	}
	neg := (amount < 0) != (percent < 0)
	hi, lo := bits.Mul64(abs(amount), abs(percent))
	qhi, rhi := hi/100, hi%100
	q, r := bits.Div64(rhi, lo, 100)
	if qhi != 0 {
		return 0, false
	}
	if r >= 50 {
		if q == math.MaxUint64 {
			return 0, false
		}
		q++
	}
	return fromMagnitude(q, neg)
}

// abs is |v| as an unsigned magnitude; math.MinInt64 included.
func abs(v int64) uint64 {
	if v < 0 {
		return uint64(^v) + 1
	}
	return uint64(v)
}

// fromMagnitude is ±m as an int64, and false when it does not fit.
func fromMagnitude(m uint64, neg bool) (int64, bool) {
	if neg {
		if m > 1<<63 {
			return 0, false
		}
		return int64(-m), true // -(1<<63) wraps to math.MinInt64, as it should
	}
	if m > math.MaxInt64 {
		return 0, false
	}
	return int64(m), true
}

// Decimal renders minor units as a decimal at a currency's exponent:
// Decimal(12345, 2) is "123.45", Decimal(-5, 3) is "-0.005", and with 0
// digits the amount itself.
func Decimal(minor int64, digits int) string {
	return TotalOf(minor).Decimal(digits)
}

// pointAt places a decimal point digits from the right of the decimal
// magnitude s, padding with zeros.
func pointAt(s string, digits int, neg bool) string {
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
