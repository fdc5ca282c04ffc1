// Package jobs will hold the bot's scheduled work on robfig/cron, one file per job (daily summary,
// milestones, reminders, final report, broadcast), each a type whose Run(ctx) returns a result that
// is logged. It is empty until the daily-progress issue; the folder keeps the layout of DESIGN.md.
package jobs
