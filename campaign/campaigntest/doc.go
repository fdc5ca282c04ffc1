// Package campaigntest holds in-memory fakes of the campaign's stores (campaign/store.go,
// casework.go, notify.go, …) for the tests of flows and jobs. It is test support: an ordinary
// package so that several packages' tests can share it, imported only by tests, never by the bot.
//
// The fakes keep the contracts storage/postgres keeps (codes, idempotency keys, state moves,
// the notices queued with a change) without a database. Each is safe for concurrent use; the
// exported fields (injected errors, hooks) are set before the fake is used, or between calls.
package campaigntest
