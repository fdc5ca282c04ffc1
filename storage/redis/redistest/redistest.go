// Package redistest connects tests to the real Redis the test command starts,
// giving each caller its own key prefix and cleaning it up afterwards.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultURL is used when TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// New returns a client for TEST_REDIS_URL (default DefaultURL) and a key
// prefix unique to this call. When the test ends, every key under the prefix
// is deleted and the client closed. It fails the test, rather than skipping
// it, when Redis is unreachable: a skipped storage test hides a broken setup.
func New(tb testing.TB) (client *goredis.Client, prefix string) {
	tb.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = DefaultURL
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		tb.Fatalf("redistest: TEST_REDIS_URL %q: %v", url, err)
	}
	client = goredis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		tb.Fatalf("redistest: Redis at %s is unreachable (%v); run `bash scripts/test`, which starts it", url, err)
	}

	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		tb.Fatalf("redistest: prefix: %v", err)
	}
	// Hex only, so the prefix needs no escaping in SCAN MATCH.
	prefix = "mtce-test:" + hex.EncodeToString(raw[:]) + ":"

	tb.Cleanup(func() {
		// tb.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		defer func() { _ = client.Close() }()
		if err := deletePrefix(ctx, client, prefix); err != nil {
			tb.Errorf("redistest: delete keys %s*: %v", prefix, err)
		}
	})
	return client, prefix
}

func deletePrefix(ctx context.Context, client *goredis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, prefix+"*", 500).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := client.Unlink(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		cursor = next
		if cursor == 0 {
			return nil
		}
	}
}
