// Command maytinhchoem is the "Sóng và máy tính cho em" campaign bot: `serve` runs it in
// production, `demo` runs it on this machine with a Telegram emulator and a chat page, `migrate`
// prepares the database, `summary` prints a day's progress, `seed` fills a database with a
// realistic campaign, and `loadtest` measures it. All wiring of the project happens here.
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

const usage = `maytinhchoem: the "Sóng và máy tính cho em" campaign bot

Usage:
  maytinhchoem demo [flags]      run the bot on this machine with a Telegram emulator and a chat page
  maytinhchoem serve             run the bot in production (settings from the environment, see README)
  maytinhchoem migrate           apply database migrations to DATABASE_URL and exit
  maytinhchoem summary [flags]   print a day's progress summary and write its chart, sending nothing
  maytinhchoem seed [flags]      fill an empty DATABASE_URL with a realistic campaign (tests, benchmarks, demo)
  maytinhchoem loadtest [flags]  simulate parents registering at once and print throughput and latency
  maytinhchoem healthcheck       exit 0 when the serving bot on HTTP_ADDR is ready (for containers)
  maytinhchoem help              show this text

Run "maytinhchoem <command> -h" for a command's flags.
`

// run is the whole program; main only calls it, and tests start the real thing through it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "loadtest":
		return runLoadtest(ctx, rest, getenv, stdout, stderr)
	case "summary":
		return runSummary(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
