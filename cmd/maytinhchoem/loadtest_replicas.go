//go:build !serveonly

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
	"github.com/thuduc/maytinhchoem/jobs"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	redisstore "github.com/thuduc/maytinhchoem/storage/redis"
)

// The load test's replicas: the bot run as `serve` processes of this very binary, configured by
// their environment as in production, so that what is measured is what an orchestrator runs, a
// kill -9 included. This file also holds what every load test counts to say whether anything was
// lost or doubled.

// restartAfter is how long a killed replica stays down before it is started again, as an
// orchestrator restarts a container.
const restartAfter = 2 * time.Second

// strandedAfter is how long a simulated parent waits for an answer before giving up. A real parent
// might send again after a long silence; the simulated one does not, so that a lost update shows
// as a stranded parent instead of being hidden by a retry.
const strandedAfter = 60 * time.Second

// replicaSet runs the bot as `serve` processes of this binary, each on its own HTTP_ADDR, all on
// one database, one Redis prefix and one channel account. It counts the CPU time of every process
// that has exited, killed ones included.
type replicaSet struct {
	exe string
	// cpus is each process's GOMAXPROCS, 0 for Go's default.
	cpus  int
	env   []string
	slots []*replicaSlot
	// campaignDir holds the load test's campaign file (see writeLoadtestCampaign), removed at stop.
	campaignDir string

	logMu sync.Mutex
	log   io.Writer

	mu     sync.Mutex
	cpu    time.Duration // user+system of the processes that have exited
	starts int
	// crashes are processes that exited without being told to.
	crashes []string
}

// replicaSlot is one replica. Its address stays while its process is killed and started again,
// as a container's does.
type replicaSlot struct {
	n    int
	addr string
	// polling is set while the process's log says it holds the poller lease.
	polling atomic.Bool
	// stopping is set before the process is killed or stopped on purpose.
	stopping atomic.Bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has exited and its CPU time is counted
	tail   []string      // the last lines of its log, to explain a process that stopped
}

// newReplicaSet prepares n replicas of exe (this binary when empty), each on a free local port
// and with cpus as its GOMAXPROCS (0: Go's default, every CPU); start starts them.
//
// A replica of the compose file runs with a limit of one CPU, which Go reads from its cgroup, so
// the load test gives each one CPU by default: on this 2-core machine, three replicas with
// GOMAXPROCS 2 each, beside the emulator, PostgreSQL and Redis, spend 8% more CPU per update
// (`loadtest -replicas 3`, 5 Dec 2026: 0.28 against 0.30 ms while the parents registered),
// mostly their schedulers looking for work on a second core they rarely get.
func newReplicaSet(exe string, n, cpus int, log io.Writer) (*replicaSet, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("replicas: find this binary: %w", err)
		}
	}
	rs := &replicaSet{exe: exe, cpus: cpus, log: log}
	for i := range n {
		addr, err := localAddr()
		if err != nil {
			return nil, err
		}
		rs.slots = append(rs.slots, &replicaSlot{n: i + 1, addr: addr})
	}
	return rs, nil
}

// localAddr is a loopback address with a port free a moment ago, for a server that listens
// there itself.
func localAddr() (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// addrs are the replicas' HTTP_ADDRs, for the proxy in front of them.
func (rs *replicaSet) addrs() []string {
	var out []string
	for _, s := range rs.slots {
		out = append(out, s.addr)
	}
	return out
}

// start starts every replica with settings as its environment and waits until each is ready.
func (rs *replicaSet) start(ctx context.Context, settings map[string]string) error {
	if settings["CAMPAIGN_FILE"] == "" {
		dir, err := os.MkdirTemp("", "loadtest-campaign-")
		if err != nil {
			return err
		}
		rs.campaignDir = dir
		if settings["CAMPAIGN_FILE"], err = writeLoadtestCampaign(dir, time.Now()); err != nil {
			return err
		}
	}
	if rs.cpus > 0 {
		settings["GOMAXPROCS"] = strconv.Itoa(rs.cpus)
	}
	var err error
	if rs.env, err = replicaEnv(settings); err != nil {
		return err
	}
	for _, s := range rs.slots {
		if err := rs.startSlot(s); err != nil {
			return err
		}
	}
	for _, s := range rs.slots {
		if err := rs.waitReady(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// replicaEnv is a serve process's environment: this process's own (PATH, GOMAXPROCS, ...) less
// every variable the bot reads, so that a TELEGRAM_TOKEN or ZALO_* in the shell cannot leak into a
// load test, plus settings.
func replicaEnv(settings map[string]string) ([]string, error) {
	params, err := env.GetFieldParams(&app.Config{})
	if err != nil {
		return nil, err
	}
	read := map[string]bool{}
	for _, p := range params {
		read[p.Key] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !read[k] {
			out = append(out, kv)
		}
	}
	for k, v := range settings {
		out = append(out, k+"="+v)
	}
	return out, nil
}

// startSlot starts the process of s, without waiting for it to be ready.
func (rs *replicaSet) startSlot(s *replicaSlot) error {
	cmd := exec.Command(rs.exe, "serve")
	cmd.Env = append(slices.Clone(rs.env), "HTTP_ADDR="+s.addr)
	out := &replicaLog{set: rs, slot: s}
	cmd.Stdout, cmd.Stderr = out, out
	s.stopping.Store(false)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("replica %d: %w", s.n, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	rs.mu.Lock()
	rs.starts++
	rs.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.polling.Store(false)
		rs.mu.Lock()
		rs.cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if !s.stopping.Load() {
			rs.crashes = append(rs.crashes, fmt.Sprintf("replica %d exited by itself (%v); its last log lines: %s", s.n, err, s.lastLines()))
		}
		rs.mu.Unlock()
		close(exited)
	}()
	return nil
}

// waitReady waits until the replica's /readyz answers 200, as an orchestrator's readiness probe.
func (rs *replicaSet) waitReady(ctx context.Context, s *replicaSlot) error {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := client.Get("http://" + s.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %d is not ready after a minute; its last log lines: %s", s.n, s.lastLines())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("replica %d stopped at start; its last log lines: %s", s.n, s.lastLines())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// kill ends a replica's process with SIGKILL, as the OOM killer or a lost node does: no shutdown,
// no lease given up, nothing flushed.
func (rs *replicaSet) kill(s *replicaSlot) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	s.stopping.Store(true)
	_ = cmd.Process.Kill() // it may have exited by itself: then there is nothing to kill
	<-exited
}

// stop stops every replica as an orchestrator does (SIGTERM, SIGKILL after 30 seconds) and
// returns their CPU time, every process started included.
func (rs *replicaSet) stop() time.Duration {
	for _, s := range rs.slots {
		s.mu.Lock()
		cmd, exited := s.cmd, s.exited
		s.mu.Unlock()
		if cmd == nil {
			continue
		}
		s.stopping.Store(true)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		go func() {
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
			}
		}()
	}
	for _, s := range rs.slots {
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		if exited != nil {
			<-exited
		}
	}
	if rs.campaignDir != "" {
		_ = os.RemoveAll(rs.campaignDir)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.cpu
}

// cpuSoFar is the user and system CPU time the replicas have used so far: the processes that
// exited, killed ones included, plus the running ones' from /proc/<pid>/stat (Linux; in clock
// ticks of 10 ms, so a sum over three processes is good to about 30 ms). 0 on a nil set.
func (rs *replicaSet) cpuSoFar() time.Duration {
	if rs == nil {
		return 0
	}
	for {
		var gone chan struct{} // a process that exited and whose CPU is not counted yet
		rs.mu.Lock()
		total := rs.cpu
		for _, s := range rs.slots {
			s.mu.Lock()
			cmd, exited := s.cmd, s.exited
			s.mu.Unlock()
			if cmd == nil || closed(exited) {
				continue // never started, or counted in rs.cpu
			}
			used, err := procCPU(cmd.Process.Pid)
			if err != nil {
				gone = exited
				break
			}
			total += used
		}
		rs.mu.Unlock()
		if gone == nil {
			return total
		}
		<-gone // its exit adds its CPU to rs.cpu: count again
	}
}

// closed says whether ch is closed, without waiting.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// clockTicks is Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
const clockTicks = 100

// procCPU is the user and system CPU time of the running process pid, every thread of it.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command (field 2) is in parentheses and may hold spaces: fields are counted after it.
	i := strings.LastIndex(string(b), ") ")
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(b)[i+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// poller is the replica that polls Telegram now, nil when none says so.
func (rs *replicaSet) poller() *replicaSlot {
	for _, s := range rs.slots {
		if s.polling.Load() {
			return s
		}
	}
	return nil
}

// killAndRestart kills one replica with SIGKILL and starts it again restartAfter later; in
// polling mode the one that polls, since killing one that stands by would test nothing. It says
// what happened and how long the bot took to recover.
func (rs *replicaSet) killAndRestart(ctx context.Context, polling bool) (string, error) {
	victim, which := rs.slots[0], ""
	if polling {
		if victim = rs.poller(); victim != nil {
			which = " (the poller)"
		} else {
			victim, which = rs.slots[0], " (no replica said it polled)"
		}
	}
	rs.kill(victim)
	killed := time.Now()
	what := fmt.Sprintf("replica %d%s killed with SIGKILL", victim.n, which)
	var tookOver chan string
	if polling {
		tookOver = make(chan string, 1)
		go func() { tookOver <- rs.waitForPoller(ctx, killed) }()
	}
	select {
	case <-ctx.Done():
		return what, ctx.Err()
	case <-time.After(restartAfter):
	}
	if err := rs.startSlot(victim); err != nil {
		return what, err
	}
	if err := rs.waitReady(ctx, victim); err != nil {
		return what, err
	}
	what += fmt.Sprintf(", started again %s later, ready %s after the kill", restartAfter, time.Since(killed).Round(10*time.Millisecond))
	if tookOver != nil {
		what += "; " + <-tookOver
	}
	return what, nil
}

// waitForPoller says which replica took over polling and how long after since; it gives up after
// three times the poller lease.
func (rs *replicaSet) waitForPoller(ctx context.Context, since time.Time) string {
	for time.Since(since) < 3*app.PollerLeaseTTL && ctx.Err() == nil {
		if s := rs.poller(); s != nil {
			return fmt.Sprintf("replica %d polled %s after the kill", s.n, time.Since(since).Round(10*time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Sprintf("no replica said it polled within %s of the kill", 3*app.PollerLeaseTTL)
}

// describe sums up the replicas for the report.
func (rs *replicaSet) describe() (starts int, crashes []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.starts, slices.Clone(rs.crashes)
}

func (s *replicaSlot) lastLines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tail) == 0 {
		return "(none)"
	}
	return "\n\t" + strings.Join(s.tail, "\n\t")
}

// replicaLog reads a replica's log: it follows what the process says about the poller lease,
// keeps the last lines, and passes on warnings and errors (and anything that is not a log line,
// such as a panic) prefixed with the replica's number.
type replicaLog struct {
	set     *replicaSet
	slot    *replicaSlot
	partial []byte
}

func (l *replicaLog) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
}

// line handles one line of the log; the phrases are those of pollAsLeader's messages.
func (l *replicaLog) line(s string) {
	switch {
	case strings.Contains(s, "holds the poller lease"):
		l.slot.polling.Store(true)
	case strings.Contains(s, "stopped polling"):
		l.slot.polling.Store(false)
	}
	l.slot.mu.Lock()
	l.slot.tail = append(l.slot.tail, s)
	if len(l.slot.tail) > 20 {
		l.slot.tail = l.slot.tail[1:]
	}
	l.slot.mu.Unlock()
	if strings.Contains(s, "level=INFO") || strings.Contains(s, "level=DEBUG") {
		return
	}
	l.set.logMu.Lock()
	fmt.Fprintf(l.set.log, "replica %d: %s\n", l.slot.n, s)
	l.set.logMu.Unlock()
}

// roundRobin is the load balancer in front of replicas that serve webhooks. Each request goes to
// the next replica in turn; one that refuses the connection is down and the request goes on to the
// next, as a balancer with health checks skips it. A request a replica took and then dropped (it
// died half-way) is answered 502 and not sent again, since a balancer does not repeat a POST that
// may have been handled: the channel redelivers it, as Telegram and Zalo do.
type roundRobin struct {
	backends  []string
	transport *http.Transport
	next      atomic.Uint64
	// skipped counts attempts on a replica that was down; failed, requests answered 502.
	skipped, failed atomic.Int64

	ln  net.Listener
	srv *http.Server
}

// startRoundRobin serves a round-robin proxy to backends (host:port) on a local port.
func startRoundRobin(backends []string) (*roundRobin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rr := &roundRobin{backends: backends, ln: ln,
		transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.Out.URL.Scheme = "http" }, // RoundTrip picks the host
		Transport: rr,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadGateway) // counted in RoundTrip
		},
	}
	rr.srv = &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rr.srv.Serve(ln) }()
	return rr, nil
}

// URL is where the proxy listens.
func (rr *roundRobin) URL() string { return "http://" + rr.ln.Addr().String() }

func (rr *roundRobin) Close() {
	rr.srv.Close()
	rr.transport.CloseIdleConnections()
}

// RoundTrip sends req to the next replica that accepts the connection.
func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			rr.failed.Add(1)
			return nil, err
		}
	}
	first := rr.next.Add(1)
	var err error
	for k := range uint64(len(rr.backends)) {
		out := req.Clone(req.Context())
		out.URL.Host = rr.backends[(first+k)%uint64(len(rr.backends))]
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		var resp *http.Response
		if resp, err = rr.transport.RoundTrip(out); err == nil {
			return resp, nil
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			break // the replica had the request: it may have handled it
		}
		rr.skipped.Add(1)
	}
	rr.failed.Add(1)
	return nil, err
}

// disruptor does things to the bot's world once the parents are done with given numbers of
// updates: kill a replica, restart PostgreSQL.
type disruptor struct {
	total int
	wg    sync.WaitGroup

	mu   sync.Mutex
	sent int // updates done: sent, or given up by a stranded parent
	plan []disruption
	done []string
	errs []string
	// settled is when the last disruption's action returned.
	settled time.Time
}

// disruption is an action and the number of updates done it waits for. The action says what it
// did.
type disruption struct {
	at int
	do func(context.Context) (string, error)
}

// newDisruptor spreads actions evenly over a run of total updates: one at the half, two at the
// thirds, and so on.
func newDisruptor(total int, actions ...func(context.Context) (string, error)) *disruptor {
	d := &disruptor{total: total}
	for i, do := range actions {
		d.plan = append(d.plan, disruption{at: total * (i + 1) / (len(actions) + 1), do: do})
	}
	return d
}

// advance counts n updates as done and starts the actions whose time has come. An update is done
// when a parent sent it, or gave up before sending it: with parents stranded, the run's middle
// still comes.
func (d *disruptor) advance(ctx context.Context, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent += n
	for len(d.plan) > 0 && d.plan[0].at <= d.sent {
		p, at := d.plan[0], d.sent
		d.plan = d.plan[1:]
		d.wg.Go(func() {
			what, err := p.do(ctx)
			d.mu.Lock()
			defer d.mu.Unlock()
			what = fmt.Sprintf("at update %d of %d (sent or given up): %s", at, d.total, what)
			if err != nil {
				what += fmt.Sprintf(" (%v)", err)
				d.errs = append(d.errs, what)
			}
			d.done = append(d.done, what)
			d.settled = time.Now()
		})
	}
}

// wait waits for the actions started and returns what they did, the ones that failed, and when
// the last one returned; actions the run never reached are reported as failed.
func (d *disruptor) wait() (done, failed []string, settled time.Time) {
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.plan {
		d.errs = append(d.errs, fmt.Sprintf("the disruption planned at update %d of %d never came: only %d were done", p.at, d.total, d.sent))
	}
	return slices.Clone(d.done), slices.Clone(d.errs), d.settled
}

// pgRestartCommand is the command that restarts the local PostgreSQL cluster as its service does,
// or why there is none: no pg_ctlcluster (not a Debian-style installation), or not exactly one
// cluster version in /etc/postgresql.
func pgRestartCommand() ([]string, error) {
	if _, err := exec.LookPath("pg_ctlcluster"); err != nil {
		return nil, errors.New("pg_ctlcluster is not installed")
	}
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) != 1 {
		return nil, errors.New("not exactly one PostgreSQL version in /etc/postgresql")
	}
	return []string{"pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "restart"}, nil
}

// restartPostgres runs command (pgRestartCommand's) and says how long the restart took.
func restartPostgres(ctx context.Context, command []string) (string, error) {
	start := time.Now()
	out, err := exec.CommandContext(ctx, command[0], command[1:]...).CombinedOutput()
	what := fmt.Sprintf("PostgreSQL restarted (%s), %s", strings.Join(command, " "), time.Since(start).Round(10*time.Millisecond))
	if err != nil {
		return what, fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return what, nil
}

// processCPU is the user and system CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// parentRun is what one simulated parent did: when each update of the script went out, and why
// the parent gave up, if they did.
type parentRun struct {
	sent     []time.Time
	stranded string
}

// replyTally compares the answers that steps expect with the bot messages that came.
type replyTally struct {
	Expected, Received, Missing, Doubled int
}

func (t *replyTally) add(u replyTally) {
	t.Expected += u.Expected
	t.Received += u.Received
	t.Missing += u.Missing
	t.Doubled += u.Doubled
}

// tallyReplies counts a parent's answers step by step: each bot message in replies (the times they
// came) answers the last step sent before it. expect is how many answer each step; steps never
// sent expect nothing. A message doubled late, after the next step went out, is counted against
// that step, which changes which step shows it, not the totals.
func tallyReplies(expect []int, sent, replies []time.Time) replyTally {
	var t replyTally
	for i := range sent {
		got := 0
		for _, at := range replies {
			if !at.Before(sent[i]) && (i+1 == len(sent) || at.Before(sent[i+1])) {
				got++
			}
		}
		t.Expected += expect[i]
		t.Received += got
		t.Missing += max(expect[i]-got, 0)
		t.Doubled += max(got-expect[i], 0)
	}
	return t
}

// loadCheck is what every load test run counts, whichever the channel and however the bot runs:
// what a registration costs and whether anything was lost or doubled.
type loadCheck struct {
	Parents int
	// Exchanges is how many updates a parent sends for one registration; UpdatesSent how many all
	// parents sent, stranded ones' included.
	Exchanges, UpdatesSent int
	// BotMessages are the bot's messages (sent or edited) in the parents' chats; APICalls are the
	// calls to the channel's API while the parents registered, a broadcast's messages left out.
	BotMessages, APICalls int
	// BotCPU is the user and system CPU time of the bot, CPUOf says whose it is.
	BotCPU time.Duration
	CPUOf  string
	// BotCPUWhileRegistering is, with replicas, the bot processes' CPU time from the parents'
	// first update to their last reply: BotCPU without the processes' start and stop.
	BotCPUWhileRegistering time.Duration
	// Replicas describes the bot's processes; empty when it runs in this process.
	Replicas    string
	Disruptions []string
	Replies     replyTally
	// Stranded says why each stranded parent gave up.
	Stranded                     []string
	Registrations, DistinctCodes int
	// Broadcast is nil without -broadcast.
	Broadcast *broadcastTally
	// Troubles are what went wrong with the run itself: a replica that exited by itself, a
	// disruption that failed.
	Troubles []string
}

// broadcastTally is how a broadcast to the families went.
type broadcastTally struct {
	// Families were queued; Sent is the broadcast's messages the emulator got, doubled ones too.
	Families, Sent, Missing, Doubled int
	// Took is from its first message to its last; PerSecond its pace over that time, and
	// AfterParents its pace once the parents were done (bulk may then use the whole budget).
	Took                    time.Duration
	PerSecond, AfterParents float64
	// AllPerSecond is every bot message a second while it ran, replies included: what the
	// account sent against Telegram's limit.
	AllPerSecond float64
}

// print writes the figures every run shares, after the channel's own.
func (c loadCheck) print(w io.Writer, limit float64) {
	if c.Replicas != "" {
		fmt.Fprintf(w, "replicas:           %s\n", c.Replicas)
	}
	for _, d := range c.Disruptions {
		fmt.Fprintf(w, "disruption:         %s\n", d)
	}
	parents := float64(max(c.Parents, 1))
	fmt.Fprintf(w, "per registration:   %d updates from the parent, %.1f bot messages, %.1f API calls",
		c.Exchanges, float64(c.BotMessages)/parents, float64(c.APICalls)/parents)
	if len(c.Stranded) > 0 {
		fmt.Fprint(w, " (per parent, the stranded ones included)")
	}
	fmt.Fprintln(w)
	perUpdate := func(d time.Duration) float64 {
		return float64(d.Microseconds()) / 1000 / float64(max(c.UpdatesSent, 1))
	}
	fmt.Fprintf(w, "CPU per update:     %.3f ms (%s)\n", perUpdate(c.BotCPU), c.CPUOf)
	if c.BotCPUWhileRegistering > 0 {
		fmt.Fprintf(w, "                    %.3f ms while the parents registered (the bot's processes from the first update to the last reply: their start and stop left out)\n", perUpdate(c.BotCPUWhileRegistering))
	}
	fmt.Fprintf(w, "replies:            %d expected, %d received: %d missing, %d doubled\n",
		c.Replies.Expected, c.Replies.Received, c.Replies.Missing, c.Replies.Doubled)
	fmt.Fprintf(w, "stranded parents:   %d of %d (no answer within %s)\n", len(c.Stranded), c.Parents, strandedAfter)
	for _, s := range c.Stranded[:min(len(c.Stranded), 5)] {
		fmt.Fprintf(w, "                    %s\n", s)
	}
	if b := c.Broadcast; b != nil {
		fmt.Fprintf(w, "broadcast pace:     %d messages in %s, %.1f/s", b.Sent, b.Took.Round(10*time.Millisecond), b.PerSecond)
		if b.AfterParents > 0 {
			fmt.Fprintf(w, "; %.1f/s once the parents were done", b.AfterParents)
		}
		fmt.Fprintf(w, "; every bot message while it ran: %.1f/s", b.AllPerSecond)
		if limit > 0 {
			fmt.Fprintf(w, " (%.2f of the %.0f/s limit)", b.AllPerSecond/limit, limit)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "broadcast check:    %d families: %d missing, %d doubled\n", b.Families, b.Missing, b.Doubled)
	}
	if p := c.problems(); len(p) > 0 {
		fmt.Fprintf(w, "lost or doubled:    %s\n", strings.Join(p, "; "))
	} else {
		fmt.Fprintf(w, "lost or doubled:    nothing\n")
	}
}

// problems lists what was lost or doubled, and what went wrong with the run; empty when nothing.
func (c loadCheck) problems() []string {
	var p []string
	if c.Registrations != c.Parents || c.DistinctCodes != c.Parents {
		p = append(p, fmt.Sprintf("registrations were not stored exactly once (%d stored, %d distinct codes, %d parents)", c.Registrations, c.DistinctCodes, c.Parents))
	}
	if c.Replies.Missing > 0 {
		p = append(p, fmt.Sprintf("%d replies missing", c.Replies.Missing))
	}
	if c.Replies.Doubled > 0 {
		p = append(p, fmt.Sprintf("%d replies doubled", c.Replies.Doubled))
	}
	if n := len(c.Stranded); n > 0 {
		p = append(p, fmt.Sprintf("%d parents stranded", n))
	}
	if b := c.Broadcast; b != nil && b.Missing > 0 {
		p = append(p, fmt.Sprintf("%d families without the broadcast", b.Missing))
	}
	if b := c.Broadcast; b != nil && b.Doubled > 0 {
		p = append(p, fmt.Sprintf("%d families got the broadcast more than once", b.Doubled))
	}
	return append(p, c.Troubles...)
}

// err is the error a run ends with: nil unless something was lost or doubled, or went wrong.
func (c loadCheck) err() error {
	if p := c.problems(); len(p) > 0 {
		return fmt.Errorf("lost or doubled: %s", strings.Join(p, "; "))
	}
	return nil
}

// settleAfterDisruption is how long after the last disruption a run waits before counting: what a
// dead process had in hand comes back once its lease ends (the poller's, an outbox message's, a
// Zalo event's claim), and a message doubled then must be seen.
const settleAfterDisruption = max(app.PollerLeaseTTL, jobs.DefaultOutboxLease, redisstore.DefaultInboxClaimIdle) + 5*time.Second

// settle waits until a second after the parents finished and, when something was disrupted,
// settleAfterDisruption after it.
func settle(ctx context.Context, disrupted time.Time) {
	until := time.Now().Add(time.Second)
	if !disrupted.IsZero() {
		until = later(until, disrupted.Add(settleAfterDisruption))
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(until)):
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// disruptions are the actions -kill and -pg-restart ask for, for a disruptor.
func disruptions(o loadOptions, replicas *replicaSet) []func(context.Context) (string, error) {
	var out []func(context.Context) (string, error)
	if o.Kill {
		out = append(out, func(ctx context.Context) (string, error) {
			return replicas.killAndRestart(ctx, o.Mode == "polling")
		})
	}
	if o.PGRestart != nil {
		out = append(out, func(ctx context.Context) (string, error) { return restartPostgres(ctx, o.PGRestart) })
	}
	return out
}

// stopBot stops the bot under load, the in-process app (stopApp, then its end on appDone) or the
// replicas, and records the CPU it used; ownCPU is this process's CPU while the parents
// registered.
func (c *loadCheck) stopBot(o loadOptions, replicas *replicaSet, proxy *roundRobin, ownCPU time.Duration, stopApp func(), appDone <-chan error) {
	if replicas == nil {
		c.BotCPU = ownCPU
		c.CPUOf = "this process, user+system while the parents registered: the bot, the emulator and the parents together"
		stopApp()
		<-appDone
		return
	}
	c.BotCPU = replicas.stop()
	c.describeReplicas(o, replicas, proxy, ownCPU)
}

// describeReplicas fills in what the replicas were, their CPU's owner, and any that exited by
// itself; ownCPU is this process's CPU time while the parents registered.
func (c *loadCheck) describeReplicas(o loadOptions, rs *replicaSet, proxy *roundRobin, ownCPU time.Duration) {
	starts, crashes := rs.describe()
	c.Troubles = append(c.Troubles, crashes...)
	mine := "emulator, parents"
	if proxy != nil {
		mine += ", proxy"
		c.Replicas = fmt.Sprintf("%d serve processes, webhooks through a round-robin proxy: %d attempts skipped a replica that was down, %d posts answered 502 (the channel redelivers them)",
			o.Replicas, proxy.skipped.Load(), proxy.failed.Load())
	} else {
		c.Replicas = fmt.Sprintf("%d serve processes, polling: one at a time, elected by the poller lease", o.Replicas)
	}
	c.CPUOf = fmt.Sprintf("the bot's processes (%d started, killed ones included), user+system from start to exit; this process (%s) used %.2f ms more while the parents registered",
		starts, mine, float64(ownCPU.Microseconds())/1000/float64(max(c.UpdatesSent, 1)))
}

// countRegistrations counts the registrations stored, and the distinct codes the parents' chats
// (chatIDs on channel) got.
func (c *loadCheck) countRegistrations(ctx context.Context, env *scratchEnv, channel string, chatIDs []string) error {
	// After -pg-restart the pool's idle connections are dead: each failed ping drops one.
	for tries := 0; ; tries++ {
		err := env.db.Ping(ctx)
		if err == nil {
			break
		}
		if tries == 20 {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	regs := postgres.NewRegistrationStore(env.db, campaign.Default())
	var err error
	if c.Registrations, err = regs.Count(ctx); err != nil {
		return err
	}
	codes := map[string]bool{}
	for _, id := range chatIDs {
		got, err := regs.RegistrationsByChat(ctx, channel, id)
		if err != nil {
			return err
		}
		for _, r := range got {
			codes[r.Code] = true
		}
	}
	c.DistinctCodes = len(codes)
	return nil
}
