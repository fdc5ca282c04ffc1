package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// The proxy in front of webhook replicas goes round the replicas, skips one that is down, and
// answers 502 without trying another when a replica dropped a request it had taken.
func TestRoundRobin_SkipsAReplicaThatIsDown(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
	backend := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			seen = append(seen, name+":"+string(body))
			mu.Unlock()
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := backend("a"), backend("b")
	down, err := localAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	dropping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // dies with the request in hand
	}))
	t.Cleanup(dropping.Close)

	rr, err := startRoundRobin([]string{hostOf(t, a.URL), down, hostOf(t, b.URL)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rr.Close)
	for _, body := range []string{"1", "2", "3", "4"} {
		resp, err := http.Post(rr.URL()+"/telegram/webhook", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("post %s: %s", body, resp.Status)
		}
	}
	if len(got()) != 4 || rr.skipped.Load() == 0 {
		t.Errorf("the replicas got %q with %d attempts skipped; want all 4 posts, each once, on a or b (the one down skipped)", got(), rr.skipped.Load())
	}

	rr2, err := startRoundRobin([]string{hostOf(t, dropping.URL), hostOf(t, a.URL)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rr2.Close)
	rr2.next.Store(1) // the first request goes to the first replica
	before := len(got())
	resp, err := http.Post(rr2.URL()+"/telegram/webhook", "application/json", strings.NewReader("5"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || len(got()) != before || rr2.failed.Load() != 1 {
		t.Errorf("a post dropped half-way: %s, sent on %d times; want 502 and not sent again", resp.Status, len(got())-before)
	}
}

func TestTallyReplies(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	expect := []int{1, 2, 1}
	sent := []time.Time{at(0), at(100), at(200)}
	tests := []struct {
		name    string
		sent    []time.Time
		replies []time.Time
		want    replyTally
	}{
		{"every answer once", sent, []time.Time{at(10), at(110), at(120), at(210)}, replyTally{4, 4, 0, 0}},
		{"doubled before the next step", sent, []time.Time{at(10), at(20), at(110), at(120), at(210)}, replyTally{4, 5, 0, 1}},
		{"doubled late", sent, []time.Time{at(10), at(110), at(120), at(210), at(5000)}, replyTally{4, 5, 0, 1}},
		{"stranded at the last step", sent, []time.Time{at(10), at(110), at(120)}, replyTally{4, 3, 1, 0}},
		{"steps never sent expect nothing", sent[:2], []time.Time{at(10), at(110)}, replyTally{3, 2, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tallyReplies(expect, tt.sent, tt.replies); got != tt.want {
				t.Errorf("tallyReplies = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Parents register with the bot as two serve processes of the real binary, webhooks through the
// round-robin proxy, and nothing is lost or doubled.
func TestLoadtest_Replicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it as two processes")
	}
	exe := filepath.Join(t.TempDir(), "maytinhchoem")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	logs := &syncBuffer{}
	res, err := loadtest(context.Background(), loadOptions{Parents: 6, Think: 20 * time.Millisecond, ServerURL: postgrestest.ServerURL(),
		RedisURL: redisURL(), Log: logs, Replicas: 2, ReplicaCPUs: 1, Mode: "webhook", Executable: exe})
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, logs)
	}
	if err := res.err(); err != nil {
		t.Errorf("%v\n%s", err, logs)
	}
	perParent := 0
	for _, step := range parentScript {
		perParent += step.replies
	}
	if res.Replies.Expected != 6*perParent || res.Registrations != 6 || res.BotCPU <= 0 || !strings.Contains(res.Replicas, "2 serve processes") {
		t.Errorf("replies %+v, %d registrations, bot CPU %s, replicas %q", res.Replies, res.Registrations, res.BotCPU, res.Replicas)
	}
	if res.BotCPUWhileRegistering < 0 || res.BotCPUWhileRegistering > res.BotCPU {
		t.Errorf("bot CPU while the parents registered %s, from start to exit %s: a part of the run cannot cost more than all of it", res.BotCPUWhileRegistering, res.BotCPU)
	}
}

// TestProcCPU: a process's CPU read from /proc (as cpuSoFar reads the replicas') agrees with
// what the kernel reports to the process itself, to the 10 ms ticks /proc counts in.
func TestProcCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	got, err := procCPU(os.Getpid())
	want := processCPU()
	if err != nil {
		t.Fatal(err)
	}
	if got < 50*time.Millisecond || got > want+20*time.Millisecond || got < want-20*time.Millisecond {
		t.Errorf("procCPU = %s, getrusage = %s: want them within 20 ms, after 100 ms of work", got, want)
	}
	if _, err := procCPU(1 << 30); err == nil {
		t.Error("procCPU of a process that does not exist: no error")
	}
	var none *replicaSet
	if got := none.cpuSoFar(); got != 0 {
		t.Errorf("cpuSoFar of no replicas = %s", got)
	}
}
