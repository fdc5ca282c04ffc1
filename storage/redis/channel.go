package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// InteractionTTL is how long a person's last interaction is kept after it was recorded: past
// Zalo's 7-day window, after which it decides nothing, so Redis does not keep everyone forever.
const InteractionTTL = 8 * 24 * time.Hour

// ChannelState keeps what a channel adapter remembers for a while per chat and per person: the
// choices of the last question shown as a numbered list (the menu) and the time of the person's
// last interaction. It is safe for concurrent use. Each call is one script, and the calls of
// chats handled at the same moment share a round trip, as the dialogs' do (see batcher): an update
// on Zalo records its interaction and takes its menu, and its reply checks the window and stores
// the next menu.
//
// Keys, each starting with the prefix given to NewChannelState ("mtce:zalo:<app id>:"):
//
//	<prefix>menu:<chatID>  the menu's bytes, expiring with the ttl SetMenu got
//	<prefix>menutakers:<chatID>  a hash of event id -> the menu that event took, for a day
//	<prefix>last:<userID>  Unix milliseconds of the last interaction, expiring InteractionTTL after it was stored
type ChannelState struct {
	batch  *batcher
	prefix string
}

// NewChannelState returns a ChannelState over client with keys under prefix; the client stays
// owned by the caller.
func NewChannelState(client goredis.UniversalClient, prefix string) *ChannelState {
	return &ChannelState{batch: newBatcher(client), prefix: prefix}
}

// SetMenu stores data as chatID's menu for ttl, replacing any earlier one.
func (s *ChannelState) SetMenu(ctx context.Context, chatID string, data []byte, ttl time.Duration) error {
	if chatID == "" {
		return fmt.Errorf("redis: set menu: empty chat id: %w", ErrInvalidKey)
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("redis: set menu %s: ttl %v below 1ms", chatID, ttl)
	}
	if data == nil {
		data = []byte{}
	}
	if err := s.batch.run(ctx, setScript, []string{s.prefix + "menu:" + chatID}, data, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redis: set menu %s: %w", chatID, err)
	}
	return nil
}

// takeMenuScript returns the menu (KEYS[1]) as the event ARGV[1] first found it: what the takers
// hash (KEYS[2]) remembers for that event, else the menu, removed and remembered for the event
// ("" when there was none). The hash lives a day (ARGV[2] ms) after its last write.
var takeMenuScript = goredis.NewScript(`
local seen = redis.call('HGET', KEYS[2], ARGV[1])
if seen then return seen end
local menu = redis.call('GET', KEYS[1]) or ''
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], menu)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return menu`)

// setScript, getScript and delScript are SET of KEYS[1] with a TTL (ARGV[2] ms), GET of KEYS[1]
// and DEL of every key, as scripts so that they share round trips with the others (GET of no key
// is a Nil error, as goredis's Get gives).
var (
	setScript = goredis.NewScript(`return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])`)
	getScript = goredis.NewScript(`return redis.call('GET', KEYS[1])`)
	delScript = goredis.NewScript(`return redis.call('DEL', unpack(KEYS))`)
)

// menuTakersTTL is how long the menu an event took is remembered for its redeliveries.
const menuTakersTTL = 24 * time.Hour

// TakeMenu returns the menu chatID had when the event eventID first asked for it, removing it
// then; nil when there was none. The same event asking again gets the same answer (a duplicate
// or a redelivery maps the same way and leaves the next menu alone); see zalo.MenuStore.
func (s *ChannelState) TakeMenu(ctx context.Context, chatID, eventID string) ([]byte, error) {
	if chatID == "" || eventID == "" {
		return nil, fmt.Errorf("redis: take menu: empty chat or event id: %w", ErrInvalidKey)
	}
	keys := []string{s.prefix + "menu:" + chatID, s.prefix + "menutakers:" + chatID}
	data, err := s.batch.run(ctx, takeMenuScript, keys, eventID, menuTakersTTL.Milliseconds()).Text()
	if err != nil {
		return nil, fmt.Errorf("redis: take menu %s: %w", chatID, err)
	}
	if data == "" {
		return nil, nil
	}
	return []byte(data), nil
}

// ClearMenu removes chatID's menu, if any.
func (s *ChannelState) ClearMenu(ctx context.Context, chatID string) error {
	if chatID == "" {
		return fmt.Errorf("redis: clear menu: empty chat id: %w", ErrInvalidKey)
	}
	if err := s.batch.run(ctx, delScript, []string{s.prefix + "menu:" + chatID}).Err(); err != nil {
		return fmt.Errorf("redis: clear menu %s: %w", chatID, err)
	}
	return nil
}

// touchScript stores ARGV[1] (Unix milliseconds) with a TTL of ARGV[2] ms unless the stored time
// is later or the same. Milliseconds since 1970 are below 2^53, so Lua's doubles hold them exactly.
var touchScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// Touch records an interaction of userID at at, to the millisecond; an earlier time never
// replaces a later one, whichever replica stores it first.
func (s *ChannelState) Touch(ctx context.Context, userID string, at time.Time) error {
	if userID == "" {
		return fmt.Errorf("redis: touch: empty user id: %w", ErrInvalidKey)
	}
	if at.IsZero() {
		return fmt.Errorf("redis: touch %s: no time", userID)
	}
	err := s.batch.run(ctx, touchScript, []string{s.prefix + "last:" + userID},
		strconv.FormatInt(at.UnixMilli(), 10), InteractionTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redis: touch %s: %w", userID, err)
	}
	return nil
}

// LastInteraction returns userID's last recorded interaction in UTC, the zero time when unknown
// (never recorded, or recorded more than InteractionTTL ago).
func (s *ChannelState) LastInteraction(ctx context.Context, userID string) (time.Time, error) {
	if userID == "" {
		return time.Time{}, fmt.Errorf("redis: last interaction: empty user id: %w", ErrInvalidKey)
	}
	ms, err := s.batch.run(ctx, getScript, []string{s.prefix + "last:" + userID}).Int64()
	if errors.Is(err, goredis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: last interaction %s: %w", userID, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}
