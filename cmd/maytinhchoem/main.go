// Command maytinhchoem is the "Sóng và máy tính cho em" campaign bot: `serve` runs it in
// production, `demo` runs it on this machine with a Telegram emulator and a chat page, `migrate`
// prepares the database, `summary` prints a day's progress, `seed` fills a database with a
// realistic campaign, and `loadtest` measures it. All wiring of the project happens here: the
// serving bot's in internal/app, which links no emulator and no seed generator; the demo, seed
// and loadtest commands, which do, in this package's files built without the serveonly tag
// (tools.go). `go build -tags serveonly` makes the production image's binary, whose commands are
// serve, migrate, summary and healthcheck (tools_serveonly.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "maytinhchoem:", err)
		}
		os.Exit(1)
	}
}

// run is the whole program; main only calls it, and tests start the real thing through it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return app.Serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return app.Migrate(ctx, rest, getenv, stdout, stderr)
	case "summary":
		return app.Summary(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return app.Healthcheck(ctx, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	if command, ok := toolCommand(cmd); ok {
		return command(ctx, rest, getenv, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// command is a subcommand of the binary.
type command func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
