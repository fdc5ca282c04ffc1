package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// What Redis holds of a person, and for how long:
//
//   - dlg:<channel>:<chat> (Store) is the chat's dialog, with whatever a form in progress was
//     given: a child's name, a phone, an address. It lives DialogTTL after its last save;
//     DialogTTLFor(idle) makes that the bot's idle expiry of a form and a day, so a form nobody
//     came back to leaves Redis a day after the bot stopped offering to continue it. EraseDialog
//     empties it at once, when the family's data is erased, and the empty key goes within an
//     hour.
//   - out:<channel>:<update> (Store) holds a step's replies until they are sent, seconds as a
//     rule and PendingTTL (an hour) at most: they may repeat what the person typed. They are keyed
//     by update, not by chat, so an erasure leaves them to that hour.
//   - seen:, outby:, offset:, lock: (Store) and last:<user> (ChannelState) hold marks, tokens,
//     numbers and times, nothing a person said.
//   - menu:<chat> and menutakers:<chat> (ChannelState) hold the choices of a numbered list for a
//     day; ForgetChat removes them with the rest of an erasure.
//   - an Inbox holds raw channel events until they are handled and acknowledged, seconds as a
//     rule; they are deleted then.

// DialogTTLMargin is how long a dialog outlives the bot's idle expiry of a form: the flow, not
// Redis, decides that a form expired (from the time inside it, on the bot's clock) and tells a
// person who comes back within the day that it did.
const DialogTTLMargin = 24 * time.Hour

// DialogTTLFor returns the Options.DialogTTL of a bot whose unfinished forms expire after idle
// (DIALOG_IDLE_EXPIRY): idle and DialogTTLMargin, or DefaultDialogTTL when idle is not positive.
func DialogTTLFor(idle time.Duration) time.Duration {
	if idle <= 0 {
		return DefaultDialogTTL
	}
	return idle + DialogTTLMargin
}

// ErasedDialogTTL is how long an erased dialog, empty, keeps its version: longer than any update
// is handled (UPDATE_DEADLINE), so a worker that loaded the dialog before the erasure has
// finished, and failed its compare-and-set, before the key goes.
const ErasedDialogTTL = time.Hour

// eraseScript empties a dialog (KEYS[1]), moves its version on and lets it expire within ARGV[1]
// ms. Returns 1 when it held something, 0 when it was empty or missing.
var eraseScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local d = redis.call('HGET', KEYS[1], 'd') or ''
redis.call('HSET', KEYS[1], 'd', '')
redis.call('HINCRBY', KEYS[1], 'v', 1)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 or ttl > tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if d == '' then return 0 end
return 1
`)

// EraseDialog forgets what the chat's dialog holds, in one round trip, and reports whether it
// held anything. The dialog is emptied and its version moves on (see Save): a worker that loaded
// the old dialog before the erasure fails its compare-and-set, loads the empty one and cannot
// write the form back. The empty key, which still names the chat, goes ErasedDialogTTL later,
// unless the person writes again meanwhile.
//
// Erasing the chat that is being handled (the family erasing its own data from its chat) makes
// that very turn's save fail once and run again: its caller should rather let the turn save an
// empty dialog.
func (s *Store) EraseDialog(ctx context.Context, channel, chatID string) (held bool, err error) {
	keys, err := s.dialogKeys(channel, chatID, "")
	if err != nil {
		return false, fmt.Errorf("redis: erase dialog %s:%s: %w", channel, chatID, err)
	}
	n, err := eraseScript.Run(ctx, s.client, keys, ErasedDialogTTL.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("redis: erase dialog %s:%s: %w", channel, chatID, err)
	}
	return n == 1, nil
}

// ForgetChat removes what the channel remembers of chatID's lists: its menu and the menus its
// events took.
func (s *ChannelState) ForgetChat(ctx context.Context, chatID string) error {
	if chatID == "" {
		return fmt.Errorf("redis: forget chat: empty chat id: %w", ErrInvalidKey)
	}
	if err := s.batch.run(ctx, delScript, []string{s.prefix + "menu:" + chatID, s.prefix + "menutakers:" + chatID}).Err(); err != nil {
		return fmt.Errorf("redis: forget chat %s: %w", chatID, err)
	}
	return nil
}
