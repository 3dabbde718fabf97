package money

import "github.com/bojanz/currency"

// Digits returns the minor-unit exponent of an ISO 4217 currency (2 for EUR,
// 0 for JPY, 3 for KWD, 4 for CLF), and false for a code that is not a
// current ISO 4217 currency with minor units.
//
// The list is ISO 4217's list one (current funds, as the maintenance agency
// publishes it), through github.com/bojanz/currency, which regenerates it
// from that list and keeps ISO's exponents. golang.org/x/text/currency was
// the other candidate and is not used: its table is from CLDR 32 (2017), so
// it refuses VES, SLE, VED, ZWG and XCG, accepts withdrawn codes such as
// DEM and HRK, and gives IRR 0 digits where ISO says 2. Codes without minor
// units (XXX no currency, XTS testing, the precious metals XAU, XAG, XPT,
// XPD, the SDR XDR) are not amounts a deal can be priced in, and are refused.
func Digits(code string) (int, bool) {
	if len(code) != 3 || !upper(code) {
		return 0, false // the library also answers for its own registrations and ""
	}
	d, ok := currency.GetDigits(code)
	return int(d), ok
}

func upper(s string) bool {
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
