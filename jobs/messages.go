package jobs

import (
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Messages writes what the jobs send, in the recipient's language; flows.Engine implements it
// (jobs may not import flows: the wiring in cmd passes the engine in). lang is "vi" or "en";
// anything else means Vietnamese.
type Messages interface {
	// SummaryText is the daily summary of p, the same text /summary shows.
	SummaryText(lang string, p campaign.Progress) string
	// ChartCaption is the caption of the summary's chart (at most 1,024 characters).
	ChartCaption(lang string, p campaign.Progress) string
	// MilestoneText announces ev with the figures of p; for the final report it is the whole
	// campaign's report, and says a workbook follows when withWorkbook is set.
	MilestoneText(lang string, ev campaign.MilestoneEvent, p campaign.Progress, withWorkbook bool) string
	// FormReminder reads a chat's stored dialog (as the bot keeps it) and, when it holds a form
	// left unfinished for at least after at now, and not expired, returns the
	// reminder with Key set to tell this form from the chat's later ones.
	FormReminder(dialog []byte, now time.Time, after time.Duration) (campaign.Notice, bool)
	// PledgeReminder asks a donor about a pledge none of whose devices arrived.
	PledgeReminder(p campaign.PledgeAwaiting) campaign.Notice
	// MorningCount tells a staff member how many registrations wait for a verdict in their
	// scope (wardCode "" for the whole city).
	MorningCount(lang string, pending int, wardCode string) campaign.Notice
	// BroadcastDone tells the official who sent a broadcast how it went.
	BroadcastDone(lang string, p campaign.BroadcastProgress) string
}
