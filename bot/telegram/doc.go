// Package telegram is the Telegram channel of the bot: it turns Bot API updates (long polling or
// webhook) into chat.Updates and chat.Replies into Bot API calls, over go-telegram-bot-api v5.5.1.
//
// The library has not changed since 2021, so this package works around its gaps:
//   - It has no context support: every call builds a throw-away BotAPI whose HTTPClient attaches
//     the call's context (merged with the Adapter's, so Close aborts a long poll in flight).
//   - Its errors from file uploads carry no error code, and a non-JSON error page loses the HTTP
//     status: the HTTPClient wrapper records the status so errors are classified all the same.
//   - net/http errors quote the request URL, which holds the bot token: the wrapper redacts it.
//   - Message.Command and CommandArguments slice the text with UTF-16 entity lengths as if they were
//     byte offsets (wrong for Vietnamese text, and a panic on a malformed entity), and
//     Update.FromChat panics on a callback without a message: updates are mapped here instead.
//   - GetUpdates decodes a whole batch at once, so one update the library cannot decode would stall
//     polling forever: updates are decoded one by one and the undecodable ones skipped.
//   - WebhookConfig has no secret_token: setWebhook is sent with MakeRequest.
//   - FilePath uploads under the file's full path as its name: a file reply is streamed through a
//     FileReader over the open file, under the name the flow chose, on an HTTP client without the
//     overall timeout (the call's deadline grows with the file instead).
//
// Telegram types never leave this package.
package telegram
