package btyd

import (
	"errors"
	"fmt"
)

// ErrTooLittleData is what every *TooLittleDataError matches with errors.Is.
var ErrTooLittleData = errors.New("btyd: too little data to fit")

// Minimum data for a fit: below it the parameters are too poorly
// identified (standard errors of the order of the values) to be worth
// predicting from.
const (
	MinCustomers = 100 // BG/NBD: customers in all
	MinRepeaters = 20  // BG/NBD: customers who bought again; Gamma-Gamma: with a positive repeat spend
)

// TooLittleDataError says what a refused fit needed and had.
type TooLittleDataError struct {
	Model string // "BG/NBD", "Gamma-Gamma"
	What  string // "customers", "repeat buyers", "repeat buyers with a positive spend"
	Need  int
	Have  int
}

func (e *TooLittleDataError) Error() string {
	return fmt.Sprintf("btyd: %s needs at least %d %s, has %d", e.Model, e.Need, e.What, e.Have)
}

// Is makes errors.Is(err, ErrTooLittleData) hold.
func (e *TooLittleDataError) Is(target error) bool { return target == ErrTooLittleData }

var (
	errNegativeCount = errors.New("btyd: summary row with a negative count")
	errBadSpendRow   = errors.New("btyd: spend row needs x > 0 and a spend > 0")
	errNotFinite     = errors.New("btyd: the likelihood is not finite where the fit stopped")
)
