package store

import "context"

type backgroundKey struct{}

// Background marks ctx's writes as background work (the local relay and the
// consumers it runs), which an engine may commit after the writes that
// requests wait for. It changes no outcome, only when a write is committed;
// an engine that cannot tell them apart ignores it.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}
