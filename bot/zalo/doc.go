// Package zalo is the Zalo Official Account (OA) channel: a signed webhook in, the OA Open API's
// consultation messages out, over net/http (no Go SDK exists). It maps Zalo's events to
// chat.Updates and renders chat.Replies with Zalo's means: at most five query buttons under a
// message, longer choice lists as numbered lists answered by number or label, the phone asked with
// a request_user_info template, no edits and no toasts. See ../shared/ZALO.md for the wire facts.
package zalo
