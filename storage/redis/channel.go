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
// last interaction. It is safe for concurrent use.
//
// Keys, each starting with the prefix given to NewChannelState ("mtce:zalo:<app id>:"):
//
//	<prefix>menu:<chatID>  the menu's bytes, expiring with the ttl SetMenu got
//	<prefix>last:<userID>  Unix milliseconds of the last interaction, expiring InteractionTTL after it was stored
type ChannelState struct {
	client goredis.UniversalClient
	prefix string
}

// NewChannelState returns a ChannelState over client with keys under prefix; the client stays
// owned by the caller.
func NewChannelState(client goredis.UniversalClient, prefix string) *ChannelState {
	return &ChannelState{client: client, prefix: prefix}
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
	if err := s.client.Set(ctx, s.prefix+"menu:"+chatID, data, ttl).Err(); err != nil {
		return fmt.Errorf("redis: set menu %s: %w", chatID, err)
	}
	return nil
}

// TakeMenu returns chatID's menu and removes it in the same command, so a menu is taken once;
// nil when there is none.
func (s *ChannelState) TakeMenu(ctx context.Context, chatID string) ([]byte, error) {
	if chatID == "" {
		return nil, fmt.Errorf("redis: take menu: empty chat id: %w", ErrInvalidKey)
	}
	data, err := s.client.GetDel(ctx, s.prefix+"menu:"+chatID).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis: take menu %s: %w", chatID, err)
	}
	return data, nil
}

// ClearMenu removes chatID's menu, if any.
func (s *ChannelState) ClearMenu(ctx context.Context, chatID string) error {
	if chatID == "" {
		return fmt.Errorf("redis: clear menu: empty chat id: %w", ErrInvalidKey)
	}
	if err := s.client.Del(ctx, s.prefix+"menu:"+chatID).Err(); err != nil {
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
	err := touchScript.Run(ctx, s.client, []string{s.prefix + "last:" + userID},
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
	ms, err := s.client.Get(ctx, s.prefix+"last:"+userID).Int64()
	if errors.Is(err, goredis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: last interaction %s: %w", userID, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}
