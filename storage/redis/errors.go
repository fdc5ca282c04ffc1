package redis

import (
	"context"
	"errors"
	"io"
	"net"

	goredis "github.com/redis/go-redis/v9"
)

// IsUnavailable reports whether err means Redis could not be reached or could
// not serve for now (network error, timeout, closed connection, exhausted
// pool, LOADING, failover in progress), so that retrying later may succeed
// and the user can be told to try again. A cancelled context is not
// unavailability: the caller gave up. A deadline that ran out while talking
// to Redis is.
func IsUnavailable(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, goredis.ErrPoolTimeout),
		errors.Is(err, goredis.ErrPoolExhausted):
		return true
	}
	// net.Error also covers context.DeadlineExceeded and dial errors.
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return goredis.IsLoadingError(err) ||
		goredis.IsReadOnlyError(err) ||
		goredis.IsMasterDownError(err) ||
		goredis.IsClusterDownError(err) ||
		goredis.IsTryAgainError(err) ||
		goredis.IsMaxClientsError(err)
}
