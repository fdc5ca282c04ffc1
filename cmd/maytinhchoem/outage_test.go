package main

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// tcpProxy stands between the bot and a server so a test can cut the line and restore it.
type tcpProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close() // the server is "down": connections are refused as soon as they open
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

// cut drops every connection and refuses new ones until restore.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

// viaProxy returns rawURL with its host replaced by the proxy's address.
func viaProxy(t *testing.T, rawURL string, p *tcpProxy) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.addr()
	return u.String()
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestServe_RedisOutageLosesNothing(t *testing.T) {
	proxy := newTCPProxy(t, hostOf(t, redisURL()))
	h := newHarness(t, map[string]string{"REDIS_URL": viaProxy(t, redisURL(), proxy)})
	p := h.parent(3001, "vi")
	p.say("/start dangky", 1)
	p.press("r:consent:yes", 1)
	p.say("Nguyễn Thị Lan", 1)

	proxy.cut()
	sorry := p.say("0912345678", 1)
	if !strings.Contains(sorry.Text, "tạm thời") {
		t.Fatalf("reply while Redis is down = %q, want the apology", sorry.Text)
	}
	proxy.restore()
	// The phone number typed during the outage is handled once Redis is back (the poller retries
	// the update), and the name typed before it is still there.
	got := p.waitNew(1) // the phone taken, with the next question
	if !strings.Contains(got[0].Text, "0912 345 678") {
		t.Fatalf("after the outage: %q, want the phone taken", texts(got))
	}
	review := p.answerChild(child{name: "Trần Minh Khang"})
	if !strings.Contains(review.Text, "Nguyễn Thị Lan") {
		t.Errorf("the name typed before the outage is lost:\n%s", review.Text)
	}
	// The apology was sent once, not once per retry.
	n := 0
	for _, m := range h.emu.Messages(p.chat) {
		if strings.Contains(m.Text, "tạm thời") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("apologised %d times, want once", n)
	}
}

func TestServe_PostgresOutageAtSubmitKeepsTheForm(t *testing.T) {
	direct := postgrestest.NewDatabaseURL(t)
	proxy := newTCPProxy(t, hostOf(t, direct))
	h := newHarness(t, map[string]string{"DATABASE_URL": viaProxy(t, direct, proxy)})
	p := h.parent(3002, "vi")
	p.registerUntilReview("Lê Văn An")

	proxy.cut()
	sorry := p.press("r:review:submit", 1)
	if !strings.Contains(sorry.Text, "tạm thời") {
		t.Fatalf("reply while PostgreSQL is down = %q, want the apology", sorry.Text)
	}
	proxy.restore()
	done := p.press("r:review:submit", 1)
	if !strings.Contains(done.Text, "TD-") {
		t.Fatalf("submit after the outage = %q, want a code", done.Text)
	}
	if n := h.count(); n != 1 {
		t.Errorf("registrations = %d, want exactly 1", n)
	}
}
