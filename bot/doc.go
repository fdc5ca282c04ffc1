// Package bot is what a chat is, independent of the channel: an Input (one update from a user), a
// Reply (one message to send), the Dispatcher that turns Inputs into Replies (de-duplicate, keep
// each chat's updates in order, load the dialog, run the flow, save the dialog with a
// compare-and-set, send) and the Sender wrapper that paces and retries sends.
package bot
