//go:build serveonly

package main

import (
	"context"
	"fmt"
	"io"
)

// A binary built with -tags serveonly (the production image's) has the serving bot's commands
// only: no emulator and no seed generator is linked into it.

const usage = `maytinhchoem: the "Sóng và máy tính cho em" campaign bot (serve-only build)

Usage:
  maytinhchoem serve             run the bot in production (settings from the environment, see README)
  maytinhchoem migrate           apply database migrations to DATABASE_URL and exit
  maytinhchoem summary [flags]   print a day's progress summary and write its chart, sending nothing
  maytinhchoem healthcheck       exit 0 when the serving bot on HTTP_ADDR is ready (for containers)
  maytinhchoem help              show this text

demo, seed and loadtest are in the full build (go build ./cmd/maytinhchoem, without -tags serveonly).
Run "maytinhchoem <command> -h" for a command's flags.
`

// toolCommand answers demo, seed and loadtest with an error saying where they are.
func toolCommand(name string) (command, bool) {
	switch name {
	case "demo", "seed", "loadtest":
		return func(context.Context, []string, func(string) string, io.Writer, io.Writer) error {
			return fmt.Errorf("%s is not in this serve-only build (-tags serveonly): use the full build of maytinhchoem", name)
		}, true
	}
	return nil, false
}
