//go:build !serveonly

package main

// The commands beside the serving bot: they link the Telegram and Zalo emulators (demo, loadtest)
// and the seed generator (seed, demo -seed), which a binary built with -tags serveonly leaves out
// (tools_serveonly.go).

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

// toolCommand is the demo, seed or loadtest command called name.
func toolCommand(name string) (command, bool) {
	switch name {
	case "demo":
		return runDemo, true
	case "seed":
		return runSeed, true
	case "loadtest":
		return runLoadtest, true
	}
	return nil, false
}
