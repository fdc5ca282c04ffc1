// Package jobs holds the bot's scheduled work, one file per job, each a type whose Run(ctx)
// returns a result that the caller logs (the nyaruka/mailroom way). Jobs read and write through
// the campaign's stores and send through a bot.Sender; their texts come from the flows engine,
// passed in as functions, so that every user-facing word stays in the catalog (package locales).
package jobs
