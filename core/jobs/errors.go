package jobs

import (
	"errors"

	"github.com/fedele-crm/fedele/core"
)

func asCoreError(err error, ce **core.Error) bool { return errors.As(err, ce) }
