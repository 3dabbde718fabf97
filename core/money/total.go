package money

import (
	"fmt"
	"math/big"
	"math/bits"
)

// Total is an exact sum of int64 amounts in 128 bits (two's complement), for
// reports: adding 2^64 amounts of any size cannot overflow it, so a report
// never has to refuse or wrap a sum. In JSON it is an integer number, which
// may lie beyond the int64 range; readers that need it in an int64 check
// Int64, and people read Decimal.
type Total struct {
	hi int64
	lo uint64
}

// TotalOf is v as a Total.
func TotalOf(v int64) Total { return Total{hi: v >> 63, lo: uint64(v)} }

// Add returns t + v.
func (t Total) Add(v int64) Total { return t.Plus(TotalOf(v)) }

// Plus returns t + u.
func (t Total) Plus(u Total) Total {
	lo, carry := bits.Add64(t.lo, u.lo, 0)
	return Total{hi: t.hi + u.hi + int64(carry), lo: lo}
}

// Int64 is t as an int64, and false when it does not fit.
func (t Total) Int64() (int64, bool) {
	v := int64(t.lo)
	return v, t.hi == v>>63
}

// Equal reports whether t and u are the same amount (go-cmp uses it).
func (t Total) Equal(u Total) bool { return t == u }

func (t Total) big() *big.Int {
	x := big.NewInt(t.hi)
	x.Lsh(x, 64)
	return x.Add(x, new(big.Int).SetUint64(t.lo))
}

// String is t in decimal minor units.
func (t Total) String() string { return t.big().String() }

// Decimal renders t at a currency's exponent, as Decimal does.
func (t Total) Decimal(digits int) string {
	x := t.big()
	neg := x.Sign() < 0
	return pointAt(x.Abs(x).String(), digits, neg)
}

// MarshalJSON writes t as a JSON integer.
func (t Total) MarshalJSON() ([]byte, error) { return []byte(t.String()), nil }

var minTotal, maxTotal = new(big.Int).Lsh(big.NewInt(-1), 127), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 127), big.NewInt(1))

// UnmarshalJSON reads a JSON integer of at most 128 bits.
func (t *Total) UnmarshalJSON(b []byte) error {
	x, ok := new(big.Int).SetString(string(b), 10)
	if !ok || x.Cmp(minTotal) < 0 || x.Cmp(maxTotal) > 0 {
		return fmt.Errorf("money: %.40q is not an integer of 128 bits", b)
	}
	lo := new(big.Int).And(x, new(big.Int).SetUint64(^uint64(0))).Uint64()
	hi := new(big.Int).Rsh(x, 64).Int64() // Rsh floors, which is the two's-complement high word
	*t = Total{hi: hi, lo: lo}
	return nil
}
