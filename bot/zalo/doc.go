// Package zalo is the Zalo Official Account (OA) channel: a signed webhook in, the OA Open API's
// consultation messages out, over net/http (no Go SDK exists). It maps Zalo's events to
// chat.Updates and renders chat.Replies with Zalo's means: at most five query buttons under a
// message, longer choice lists as numbered lists answered by number or label, the phone asked with
// a request_user_info template, no edits and no toasts. See ../shared/ZALO.md for the wire facts.
//
// Receiving: WebhookHandler checks an event's signature, app and age and stores it in an Inbox,
// answering at once, as Zalo wants within 2 seconds; Consume, on any replica, maps the stored
// events with ToUpdate and hands them to the bot, acknowledging them only once handled.
//
// Tokens: a refresh token works once, and two replicas refreshing at once would lock the OA out.
// The token pair lives in a RecordStore under a lock every replica shares; it is seeded from the
// configured refresh token, refreshed an hour before the access token expires (by a loop New
// starts, which Close stops) or when Zalo refuses it, always re-read under the lock first, and
// stored before it is used. A refresh token the endpoint refuses is recorded as dead, so every
// replica stops and Ready fails until an operator pastes a new one. Tokens never reach a log.
//
// Files: a file a person sends (user_send_file) comes as a chat.Document whose FileID is its link
// on Zalo's CDN; OpenFile downloads it (no token, http(s) only, 20 MB at most, never logging the
// link's query). Files the bot sends that Zalo does not take (a workbook) go as download links.
//
// The 7-day window: Zalo carries a consultation message only to someone who interacted with the
// OA in the last 7 days. The adapter records each interaction (Interactions) and refuses, without
// calling Zalo, to write to someone outside it (chat.ErrUnreachable).
//
// Zalo types, limits and error codes never leave this package.
package zalo
