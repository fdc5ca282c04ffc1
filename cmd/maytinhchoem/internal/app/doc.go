// Package app is the wiring of the serving bot: its configuration from the environment, the
// stores, channels, dispatcher and jobs put together, and the commands a production image runs
// (serve, migrate, summary, healthcheck). It links no emulator and no seed generator: the demo,
// seed and loadtest commands of cmd/maytinhchoem build on it from beside it (see deps_test.go).
package app
