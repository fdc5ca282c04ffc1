package flows

import "context"

// Progress shows how far a long turn has got (a list of thousands of rows being read) while it
// runs, in the person's chat. It is not one of the turn's outputs: nothing a turn shows through it
// is recorded or sent again, and the turn's result does not depend on it. The bot gives one, in the
// context Handle runs under, where the chat's channel can edit a message it sent: one message shown
// and then edited in place, at its own pace, never to the same text; elsewhere nothing is shown.
//
// Show must return at once and cannot fail: showing progress is best effort, and a turn never
// waits for it or fails because of it.
type Progress interface {
	Show(text string)
}

type progressKey struct{}

// WithProgress returns ctx carrying p for the turns handled under it.
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// ProgressFrom returns the Progress ctx carries, nil when none.
func ProgressFrom(ctx context.Context) Progress {
	p, _ := ctx.Value(progressKey{}).(Progress)
	return p
}

// progress shows text through the turn's Progress, if its context carries one.
func (c *turn) progress(text string) {
	if p := ProgressFrom(c.ctx); p != nil {
		p.Show(text)
	}
}
