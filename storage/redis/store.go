// Package redis keeps the bot's short-lived state in Redis: each chat's dialog
// as versioned bytes written with compare-and-set, the de-duplication marks of
// handled updates, the long-polling offset, and named locks (Store); a channel
// adapter's menus and last interactions (ChannelState); and the durable queue
// between a webhook and the handling of its events (Inbox). ChannelState and
// Inbox take their keys from their callers and are described with them.
//
// Handling one chat update costs at most two round trips: one Load (dialog,
// version and the update's seen mark, in one script) and one Save (compare the
// version, write, refresh the TTL and mark the update seen, in one script).
// The Loads, Saves and RepliesSent of chats handled at the same moment share
// round trips: while one is under way, the calls that come queue and go
// together in the next, a pipeline of their scripts (see batcher).
// Scripts run with EVALSHA and fall back to EVAL once after Redis lost its
// script cache; LoadScripts spares even that first fallback.
//
// Store's key layout, every key starting with Options.Prefix (default "mtce:"):
//
//	<prefix>dlg:<channel>:<chatID>     hash {v: version, d: dialog bytes}, expires DialogTTL after the last save
//	<prefix>seen:<channel>:<updateID>  "1", expires SeenTTL after the update was handled
//	<prefix>out:<channel>:<updateID>   hash {r: the update's replies, t: how many, n: how many sent},
//	                                   from the dialog's save until the last is sent; expires PendingTTL
//	<prefix>outby:<channel>:<updateID> the token of the sender of those replies, expires ReplyLease
//	                                   after its last progress
//	<prefix>outdue                     sorted set of the updates with replies not all sent, scored by
//	                                   when their sender's lease runs out (ms, Redis's clock)
//	<prefix>offset:<botKey>            the long-polling offset, a decimal integer, no expiry
//	<prefix>lock:<name>                the random token of the lock holder, expires with the lock
//
// Replies are durable (SaveStep, RepliesSent, TakeReplies): a step's replies are written with its
// dialog in the same script, marked as they are sent, and forgotten once all are. A redelivered
// update whose replies were not all sent (the process died between the save and the sends) takes
// the rest over once the sender's lease has run out, instead of being skipped as a duplicate; and
// DueReplies lists such updates, so a sweeper resumes them even when the channel never delivers
// the update again (a webhook answered once the step was saved). A live sender renews its lease
// while it waits on the channel's pace, so a message goes twice only when a sender stalls, unable
// to reach Redis, for longer than ReplyLease.
//
// The scripts touch a dialog key and a seen key together, which live in
// different hash slots: the store needs a single Redis (standalone or behind
// Sentinel), not Redis Cluster.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Defaults used when the matching Options field is zero.
const (
	// DefaultPrefix starts every key when Options.Prefix is empty.
	DefaultPrefix = "mtce:"
	// DefaultDialogTTL is the bot's default idle expiry of a form (7 days) and DialogTTLMargin: a
	// form nobody came back to, with what it was given, leaves Redis a day after the bot stopped
	// offering to continue it. A bot with another idle expiry sets DialogTTLFor(it).
	DefaultDialogTTL = 8 * 24 * time.Hour
	// DefaultSeenTTL outlives Telegram's redelivery of an unacknowledged update.
	DefaultSeenTTL = 48 * time.Hour
	// DefaultPendingTTL is how long replies not all sent wait for their update to come again: a
	// redelivery comes within minutes (a poller's lease, the inbox's claim, a webhook's retry);
	// an hour later the person has written again and the old replies would only confuse.
	DefaultPendingTTL = time.Hour
	// DefaultReplyLease is how long a sender holds an update's replies after its last renewal
	// before another process may send the rest; senders renew it every third of it.
	DefaultReplyLease = 10 * time.Second
)

// ErrInvalidKey is returned when a channel, chat id, update id, bot key or
// lock name cannot be made into a key of the documented layout.
var ErrInvalidKey = errors.New("redis: invalid key part")

// ErrLockLost is returned by an unlock func when the lock had already expired
// or passed to another holder, so the work it guarded may have overlapped.
var ErrLockLost = errors.New("redis: lock lost")

// Options configures a Store; zero fields take the defaults.
type Options struct {
	// Prefix starts every key, so several deployments or tests can share one Redis.
	Prefix string
	// DialogTTL is how long a dialog survives after its last save. The bot decides
	// idle expiry from a timestamp inside the data; this bounds how long the data of a
	// form nobody finished stays in Redis, so keep it just above the bot's idle expiry
	// (DialogTTLFor).
	DialogTTL time.Duration
	// SeenTTL is how long a handled update id is remembered.
	SeenTTL time.Duration
	// PendingTTL and ReplyLease: see DefaultPendingTTL and DefaultReplyLease.
	PendingTTL time.Duration
	ReplyLease time.Duration
}

// Store is the Redis-backed dialog, de-duplication, offset and lock store.
// It is safe for concurrent use.
type Store struct {
	client     goredis.UniversalClient
	prefix     string
	dialogTTL  time.Duration
	seenTTL    time.Duration
	pendingTTL time.Duration
	replyLease time.Duration
	// batch shares round trips between the scripts of updates handled at the same moment.
	batch *batcher
}

// New returns a Store over client; the client stays owned by the caller.
func New(client goredis.UniversalClient, opts Options) *Store {
	s := &Store{
		client:    client,
		prefix:    opts.Prefix,
		dialogTTL: opts.DialogTTL,
		seenTTL:   opts.SeenTTL,

		pendingTTL: opts.PendingTTL,
		replyLease: opts.ReplyLease,
		batch:      newBatcher(client),
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.dialogTTL <= 0 {
		s.dialogTTL = DefaultDialogTTL
	}
	if s.seenTTL <= 0 {
		s.seenTTL = DefaultSeenTTL
	}
	if s.pendingTTL <= 0 {
		s.pendingTTL = DefaultPendingTTL
	}
	if s.replyLease <= 0 {
		s.replyLease = DefaultReplyLease
	}
	return s
}

// loadScript reads a dialog and, when KEYS[2] is given, whether the update was
// already handled. Missing hash fields come back as nil.
var loadScript = goredis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'v', 'd')
local seen = 0
if #KEYS > 1 and redis.call('EXISTS', KEYS[2]) == 1 then seen = 1 end
return {r[1], r[2], seen}
`)

// saveScript is the compare-and-set of a dialog. ARGV: expected version,
// data, dialog TTL in ms, seen TTL in ms, and with the replies' keys (KEYS[3]
// and KEYS[4]): the replies, how many, their sender's token, its lease in ms,
// the pending TTL in ms. Returns 1 saved, 0 version mismatch, -1 update
// already handled. Versions are compared as the decimal strings HINCRBY
// writes, so no Lua float ever rounds them.
var saveScript = goredis.NewScript(`
if #KEYS > 1 and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local v = redis.call('HGET', KEYS[1], 'v') or '0'
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if #KEYS > 1 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[4]) end
if #KEYS > 3 then
  redis.call('HSET', KEYS[3], 'r', ARGV[5], 't', ARGV[6], 'n', 0)
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
  redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[8])
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[5], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[8]), ARGV[10])
end
return 1
`)

// sentScript records that the holder ARGV[1] sent the first ARGV[2] replies
// (KEYS[1]), renewing its lease (KEYS[2], ARGV[3] ms; KEYS[3] the due set,
// member ARGV[4]), and forgets them all once every one is sent; the count only
// grows, so a renewal with an older count undoes nothing. Returns 1, or 0 when
// the lease is another's or gone.
var sentScript = goredis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local total = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
if tonumber(ARGV[2]) >= total then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[4])
  return 1
end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'n') or '0') then
  redis.call('HSET', KEYS[1], 'n', ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[3]), ARGV[4])
return 1
`)

// takeScript hands the replies not yet sent (KEYS[1]) to ARGV[1] for a lease
// of ARGV[2] ms (KEYS[2]; KEYS[3] the due set, member ARGV[3]) when nobody
// holds them. Returns {0} when there are none, {-1} when another holds them,
// else {1, replies, sent}.
var takeScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[3])
  return {0}
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {-1} end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[2]), ARGV[3])
local r = redis.call('HMGET', KEYS[1], 'r', 'n')
return {1, r[1], r[2]}
`)

// dueScript lists up to ARGV[1] members of the due set (KEYS[1]) whose lease
// ran out by Redis's clock.
var dueScript = goredis.NewScript(`
local t = redis.call('TIME')
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', t[1] * 1000 + math.floor(t[2] / 1000), 'LIMIT', 0, tonumber(ARGV[1]))
`)

// setOffsetScript stores ARGV[1] only when it is greater than the stored
// offset. Both are canonical decimal integers compared exactly as strings.
var setOffsetScript = goredis.NewScript(`
local function less(a, b)
  local an, bn = a:sub(1, 1) == '-', b:sub(1, 1) == '-'
  if an ~= bn then return an end
  if an then a, b = b:sub(2), a:sub(2) end
  if #a ~= #b then return #a < #b end
  return a < b
end
local cur = redis.call('GET', KEYS[1])
if cur and not less(cur, ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

// unlockScript deletes the lock only while it still holds our token.
var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// LoadScripts puts the store's scripts into Redis's script cache, so that even
// the first Load and Save after a start are a single EVALSHA. Optional: without
// it the first call of each script falls back to EVAL once.
func (s *Store) LoadScripts(ctx context.Context) error {
	for _, sc := range []*goredis.Script{loadScript, saveScript, sentScript, takeScript, dueScript, setOffsetScript, unlockScript} {
		if err := sc.Load(ctx, s.client).Err(); err != nil {
			return fmt.Errorf("redis: load scripts: %w", err)
		}
	}
	return nil
}

// Load returns the chat's dialog bytes and version (nil and 0 when there is
// none; an emptied dialog reads as nil with its version) and whether updateID
// was already handled on channel. An empty updateID skips that check.
// It is one round trip.
func (s *Store) Load(ctx context.Context, channel, chatID, updateID string) (data []byte, version int64, seen bool, err error) {
	keys, err := s.dialogKeys(channel, chatID, updateID)
	if err != nil {
		return nil, 0, false, fmt.Errorf("redis: load dialog %s:%s: %w", channel, chatID, err)
	}
	res, err := s.batch.run(ctx, loadScript, keys).Slice()
	if err != nil {
		return nil, 0, false, fmt.Errorf("redis: load dialog %s:%s: %w", channel, chatID, err)
	}
	if len(res) != 3 {
		return nil, 0, false, fmt.Errorf("redis: load dialog %s:%s: unexpected reply %v", channel, chatID, res)
	}
	if v, ok := res[0].(string); ok {
		version, err = strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, 0, false, fmt.Errorf("redis: load dialog %s:%s: version: %w", channel, chatID, err)
		}
	}
	if d, ok := res[1].(string); ok && d != "" {
		data = []byte(d)
	}
	seen = res[2] == int64(1)
	return data, version, seen, nil
}

// Save writes data as the chat's dialog if its stored version still equals
// version (0 when Load found none), making it version+1 and refreshing the
// TTL, and marks updateID (unless empty) as handled, all atomically in one
// round trip. It returns saved=false and changes nothing when the version
// moved on or another worker already handled updateID.
//
// Empty data is stored as an empty dialog rather than deleting the key: the
// version must only ever grow, because a reset to 0 would let a writer that
// loaded before the reset win its compare-and-set with a stale version. Only
// DialogTTL expiry, long after any writer has finished, forgets a version.
func (s *Store) Save(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string) (saved bool, err error) {
	return s.SaveStep(ctx, channel, chatID, version, data, updateID, nil, 0, "")
}

// SaveStep is Save that also records the step's replies, count of them encoded
// in replies, under updateID, held by owner (a token of the caller's) for
// ReplyLease: the caller sends them and marks its progress with RepliesSent. No
// replies (count 0), or no updateID, records nothing.
func (s *Store) SaveStep(ctx context.Context, channel, chatID string, version int64, data []byte, updateID string, replies []byte, count int, owner string) (saved bool, err error) {
	if version < 0 {
		return false, fmt.Errorf("redis: save dialog %s:%s: negative version %d", channel, chatID, version)
	}
	keys, err := s.dialogKeys(channel, chatID, updateID)
	if err != nil {
		return false, fmt.Errorf("redis: save dialog %s:%s: %w", channel, chatID, err)
	}
	if data == nil {
		data = []byte{}
	}
	args := []any{strconv.FormatInt(version, 10), data, s.dialogTTL.Milliseconds(), s.seenTTL.Milliseconds()}
	if count > 0 && updateID != "" {
		if owner == "" {
			return false, fmt.Errorf("redis: save dialog %s:%s: replies without an owner: %w", channel, chatID, ErrInvalidKey)
		}
		keys = append(keys, s.outKey(channel, updateID), s.outByKey(channel, updateID), s.prefix+"outdue")
		args = append(args, replies, count, owner, s.replyLease.Milliseconds(), s.pendingTTL.Milliseconds(),
			dueMember(channel, chatID, updateID))
	}
	res, err := s.batch.run(ctx, saveScript, keys, args...).Int64()
	if err != nil {
		return false, fmt.Errorf("redis: save dialog %s:%s: %w", channel, chatID, err)
	}
	return res == 1, nil
}

// RepliesSent records that owner sent the first n replies of updateID, and
// forgets them once n reaches their count. kept is false when owner no longer
// holds them (its lease ran out and a redelivery took them over, or they were
// forgotten): it should send no more.
func (s *Store) RepliesSent(ctx context.Context, channel, chatID, updateID, owner string, n int) (kept bool, err error) {
	if err := checkChannel(channel); err != nil || updateID == "" {
		return false, fmt.Errorf("redis: replies sent %s:%s: %w", channel, updateID, errors.Join(err, ErrInvalidKey))
	}
	res, err := s.batch.run(ctx, sentScript, []string{s.outKey(channel, updateID), s.outByKey(channel, updateID), s.prefix + "outdue"},
		owner, n, s.replyLease.Milliseconds(), dueMember(channel, chatID, updateID)).Int64()
	if err != nil {
		return false, fmt.Errorf("redis: replies sent %s:%s: %w", channel, updateID, err)
	}
	return res == 1, nil
}

// TakeReplies hands owner the replies of updateID not all sent, for
// ReplyLease, with how many of them were sent. busy is true when another
// sender still holds them; nil replies and not busy mean there are none left.
func (s *Store) TakeReplies(ctx context.Context, channel, chatID, updateID, owner string) (replies []byte, sent int, busy bool, err error) {
	if err := checkChannel(channel); err != nil || updateID == "" || owner == "" {
		return nil, 0, false, fmt.Errorf("redis: take replies %s:%s: %w", channel, updateID, errors.Join(err, ErrInvalidKey))
	}
	res, err := takeScript.Run(ctx, s.client, []string{s.outKey(channel, updateID), s.outByKey(channel, updateID), s.prefix + "outdue"},
		owner, s.replyLease.Milliseconds(), dueMember(channel, chatID, updateID)).Slice()
	if err != nil {
		return nil, 0, false, fmt.Errorf("redis: take replies %s:%s: %w", channel, updateID, err)
	}
	switch {
	case len(res) == 1 && res[0] == int64(0):
		return nil, 0, false, nil
	case len(res) == 1 && res[0] == int64(-1):
		return nil, 0, true, nil
	case len(res) == 3 && res[0] == int64(1):
		r, _ := res[1].(string)
		n, _ := res[2].(string)
		sent, err = strconv.Atoi(n)
		if err != nil || r == "" {
			return nil, 0, false, fmt.Errorf("redis: take replies %s:%s: unreadable record %v", channel, updateID, res)
		}
		return []byte(r), sent, false, nil
	}
	return nil, 0, false, fmt.Errorf("redis: take replies %s:%s: unexpected reply %v", channel, updateID, res)
}

// DueReplies lists up to limit updates whose replies were not all sent and
// whose sender's lease ran out (a process that died, or lost Redis, while
// sending them), each as {channel, chat id, update id}. Each may be taken over
// with TakeReplies.
func (s *Store) DueReplies(ctx context.Context, limit int) ([][3]string, error) {
	members, err := dueScript.Run(ctx, s.client, []string{s.prefix + "outdue"}, max(limit, 1)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: due replies: %w", err)
	}
	out := make([][3]string, 0, len(members))
	for _, m := range members {
		parts := strings.SplitN(m, dueSep, 3)
		if len(parts) != 3 {
			continue
		}
		out = append(out, [3]string{parts[0], parts[1], parts[2]})
	}
	return out, nil
}

// dueSep separates the parts of a due set's member; no channel, chat or update id holds it.
const dueSep = "\x1f"

func dueMember(channel, chatID, updateID string) string {
	return channel + dueSep + chatID + dueSep + updateID
}

// MarkSeen records updateID as handled on channel, for updates that carry no
// chat, and reports whether this call was the first to do so.
func (s *Store) MarkSeen(ctx context.Context, channel, updateID string) (first bool, err error) {
	if err := checkChannel(channel); err != nil {
		return false, fmt.Errorf("redis: mark seen %s:%s: %w", channel, updateID, err)
	}
	if updateID == "" {
		return false, fmt.Errorf("redis: mark seen %s: empty update id: %w", channel, ErrInvalidKey)
	}
	first, err = s.client.SetNX(ctx, s.seenKey(channel, updateID), "1", s.seenTTL).Result()
	if err != nil {
		return false, fmt.Errorf("redis: mark seen %s:%s: %w", channel, updateID, err)
	}
	return first, nil
}

// Offset returns the stored long-polling offset of botKey, 0 when none.
func (s *Store) Offset(ctx context.Context, botKey string) (int64, error) {
	if botKey == "" {
		return 0, fmt.Errorf("redis: get offset: empty bot key: %w", ErrInvalidKey)
	}
	v, err := s.client.Get(ctx, s.prefix+"offset:"+botKey).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis: get offset %s: %w", botKey, err)
	}
	return v, nil
}

// SetOffset raises botKey's offset to offset; a smaller value is ignored, so
// a slow replica can never move the offset back and replay updates.
func (s *Store) SetOffset(ctx context.Context, botKey string, offset int64) error {
	if botKey == "" {
		return fmt.Errorf("redis: set offset: empty bot key: %w", ErrInvalidKey)
	}
	err := setOffsetScript.Run(ctx, s.client, []string{s.prefix + "offset:" + botKey}, strconv.FormatInt(offset, 10)).Err()
	if err != nil {
		return fmt.Errorf("redis: set offset %s: %w", botKey, err)
	}
	return nil
}

// TryLock takes the named lock for ttl if nobody holds it. When ok, unlock
// releases it, but only while it is still ours; it returns ErrLockLost when
// the lock had expired or passed on. ttl must be at least a millisecond.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (unlock func(context.Context) error, ok bool, err error) {
	if name == "" {
		return nil, false, fmt.Errorf("redis: lock: empty name: %w", ErrInvalidKey)
	}
	if ttl < time.Millisecond {
		return nil, false, fmt.Errorf("redis: lock %s: ttl %v below 1ms", name, ttl)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, false, fmt.Errorf("redis: lock %s: token: %w", name, err)
	}
	token := hex.EncodeToString(raw[:])
	key := s.prefix + "lock:" + name
	ok, err = s.client.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis: lock %s: %w", name, err)
	}
	if !ok {
		return nil, false, nil
	}
	unlock = func(ctx context.Context) error {
		n, err := unlockScript.Run(ctx, s.client, []string{key}, token).Int64()
		if err != nil {
			return fmt.Errorf("redis: unlock %s: %w", name, err)
		}
		if n == 0 {
			return fmt.Errorf("redis: unlock %s: %w", name, ErrLockLost)
		}
		return nil
	}
	return unlock, true, nil
}

// scanCount is the SCAN COUNT hint and so the size of one HGET pipeline.
const scanCount = 200

// Dialogs calls fn once for each dialog of channel, with nil data for an
// emptied dialog, in no particular order. It walks the keys with SCAN, so
// dialogs saved or expiring meanwhile may or may not be seen; each chat is
// passed at most once. An error from fn stops the walk and is returned as is.
func (s *Store) Dialogs(ctx context.Context, channel string, fn func(chatID string, data []byte) error) error {
	if err := checkChannel(channel); err != nil {
		return fmt.Errorf("redis: scan dialogs %s: %w", channel, err)
	}
	keyPrefix := s.prefix + "dlg:" + channel + ":"
	pattern := escapeGlob(keyPrefix) + "*"
	done := make(map[string]struct{})
	var cursor uint64
	for {
		keys, next, err := s.client.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return fmt.Errorf("redis: scan dialogs %s: %w", channel, err)
		}
		fresh := keys[:0]
		for _, k := range keys {
			if _, ok := done[k]; !ok {
				done[k] = struct{}{}
				fresh = append(fresh, k)
			}
		}
		if len(fresh) > 0 {
			cmds := make([]*goredis.StringCmd, len(fresh))
			_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for i, k := range fresh {
					cmds[i] = p.HGet(ctx, k, "d")
				}
				return nil
			})
			if err != nil && !errors.Is(err, goredis.Nil) {
				return fmt.Errorf("redis: read dialogs %s: %w", channel, err)
			}
			for i, k := range fresh {
				d, err := cmds[i].Result()
				if errors.Is(err, goredis.Nil) {
					continue // expired between SCAN and HGET
				}
				if err != nil {
					return fmt.Errorf("redis: read dialog %s: %w", k, err)
				}
				var data []byte
				if d != "" {
					data = []byte(d)
				}
				if err := fn(strings.TrimPrefix(k, keyPrefix), data); err != nil {
					return err
				}
			}
		}
		cursor = next
		if cursor == 0 {
			return nil
		}
	}
}

// Ping checks that Redis answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// dialogKeys returns the dialog key and, when updateID is set, the seen key.
func (s *Store) dialogKeys(channel, chatID, updateID string) ([]string, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if chatID == "" {
		return nil, fmt.Errorf("empty chat id: %w", ErrInvalidKey)
	}
	dlg := s.prefix + "dlg:" + channel + ":" + chatID
	if updateID == "" {
		return []string{dlg}, nil
	}
	return []string{dlg, s.seenKey(channel, updateID)}, nil
}

func (s *Store) seenKey(channel, updateID string) string {
	return s.prefix + "seen:" + channel + ":" + updateID
}

func (s *Store) outKey(channel, updateID string) string {
	return s.prefix + "out:" + channel + ":" + updateID
}

func (s *Store) outByKey(channel, updateID string) string {
	return s.prefix + "outby:" + channel + ":" + updateID
}

// checkChannel rejects channels that would make key prefixes ambiguous: with
// a ':' inside, channel "a" would also scan the dialogs of channel "a:b".
func checkChannel(channel string) error {
	if channel == "" || strings.Contains(channel, ":") {
		return fmt.Errorf("channel %q must be non-empty and without ':': %w", channel, ErrInvalidKey)
	}
	return nil
}

// escapeGlob quotes the characters SCAN MATCH treats as pattern syntax.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
