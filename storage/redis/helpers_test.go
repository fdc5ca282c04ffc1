package redis_test

import (
	"bufio"
	"net"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// newClient returns a client without retries, closed when the test ends.
func newClient(t *testing.T, opts *goredis.Options) *goredis.Client {
	t.Helper()
	opts.MaxRetries = -1
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// freeAddr returns an address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// loadingServer starts a fake Redis that answers every command the way a real
// one does while it loads its dataset after a restart.
func loadingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					// Commands arrive as RESP arrays; one reply per "*" header line.
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line[0] != '*' {
						continue
					}
					if _, err := conn.Write([]byte("-LOADING Redis is loading the dataset in memory\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// atOnce runs f(0) to f(n-1), each on a goroutine of its own, all at once, and reports every
// error it returns.
func atOnce(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
