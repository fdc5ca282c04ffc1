package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Lease elects one holder among processes (the one Telegram poller of a bot token): Hold takes it
// when nobody holds it and keeps it while its holder renews it within ttl; a holder that dies
// lets it expire, and another takes it over then.
type Lease struct {
	client goredis.UniversalClient
	key    string
	token  string
	ttl    time.Duration
}

// holdScript renews the lease (KEYS[1]) when ARGV[1] holds it, else takes it when it is free; it
// returns 1 when ARGV[1] holds it for ARGV[2] ms from now, 0 when someone else does.
var holdScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// NewLease returns this process's claim on the lease name, held for ttl after each Hold.
func (s *Store) NewLease(name string, ttl time.Duration) (*Lease, error) {
	if name == "" {
		return nil, fmt.Errorf("redis: lease: empty name: %w", ErrInvalidKey)
	}
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("redis: lease %s: ttl %v below 1ms", name, ttl)
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	return &Lease{client: s.client, key: s.prefix + "lease:" + name, token: hex.EncodeToString(raw[:]), ttl: ttl}, nil
}

// Hold takes the lease or renews it, and reports whether this process holds it now (for ttl).
func (l *Lease) Hold(ctx context.Context) (bool, error) {
	n, err := holdScript.Run(ctx, l.client, []string{l.key}, l.token, l.ttl.Milliseconds()).Int64()
	if err != nil {
		return false, fmt.Errorf("redis: hold lease: %w", err)
	}
	return n == 1, nil
}

// Release gives the lease up when this process holds it, so a stand-by takes over at once.
func (l *Lease) Release(ctx context.Context) error {
	if err := unlockScript.Run(ctx, l.client, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("redis: release lease: %w", err)
	}
	return nil
}
