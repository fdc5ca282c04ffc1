package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// noPGEnv clears the PG* variables lib/pq fills a connection string from, so that the machine's
// own do not change where a test's URL points.
func noPGEnv(t *testing.T) {
	for _, name := range []string{"PGHOST", "PGHOSTADDR", "PGPORT", "PGSERVICE", "PGSERVICEFILE", "PGDATABASE"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
}

// The demo runs only on a database of this machine unless told otherwise: on a real campaign's
// database it would send the families' messages to its emulator.
func TestDemoDatabase_LocalOrRefused(t *testing.T) {
	noPGEnv(t)
	for _, tc := range []struct {
		url   string
		local bool
	}{
		{"", true}, // the private cluster
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", true},
		{"postgres://postgres@127.0.0.2/postgres", true},
		{"postgres://u@localhost/demo", true},
		{"postgres://u@LOCALHOST./demo", true},
		{"postgres://u@[::1]:5432/demo", true},
		{"postgres:///demo", true}, // lib/pq's default host, localhost
		{"postgres://postgres@/postgres?host=%2Fwork%2F.data%2Fdemo-postgres&port=5432", true},
		{"host=/var/run/postgresql dbname=demo", true},
		{"host=@abstract dbname=demo", true},
		{"postgres://u:p@db.example.com:5432/campaign?sslmode=require", false},
		{"postgres://u@10.0.0.5/campaign", false},
		{"postgres://u@192.168.1.20/campaign", false},
		{"postgres://u@[2001:db8::1]/campaign", false},
		{"postgres://u@127.0.0.1.nip.io/campaign", false},
		{"postgres://u@localhost.example.com/campaign", false},
		{"postgres://u@127.0.0.1,db.example.com/campaign", false},   // it may fail over to the remote one
		{"host=localhost hostaddr=10.0.0.5 dbname=campaign", false}, // hostaddr is where it connects
		{"host=db.example.com hostaddr=127.0.0.1 dbname=demo", true},
	} {
		err := checkDemoDatabase(tc.url, false, false)
		if tc.local && err != nil {
			t.Errorf("%q refused: %v", tc.url, err)
		}
		if !tc.local {
			if err == nil {
				t.Errorf("%q (not on this machine) accepted", tc.url)
				continue
			}
			for _, want := range []string{"not at this machine", "outbox", "real families would never get them", "-allow-remote-db"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q: refusal %q does not say %q", tc.url, err, want)
				}
			}
			if strings.Contains(err.Error(), ":p@") {
				t.Errorf("%q: the refusal shows the password: %v", tc.url, err)
			}
			if err := checkDemoDatabase(tc.url, true, false); err != nil {
				t.Errorf("%q with -allow-remote-db: %v", tc.url, err)
			}
		}
	}
	if err := checkDemoDatabase("postgres://u@[bad", false, false); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("a malformed URL = %v", err)
	}

	// The driver takes a host the URL leaves out from PGHOST: so does the check.
	t.Setenv("PGHOST", "db.example.com")
	if err := checkDemoDatabase("postgres:///campaign", false, false); err == nil {
		t.Error("PGHOST=db.example.com with postgres:///campaign accepted")
	}
}

// -reset deletes everything, so it never runs on a database elsewhere, -allow-remote-db or not;
// runDemo refuses before it listens or connects to anything.
func TestDemoDatabase_ResetOnlyHere(t *testing.T) {
	noPGEnv(t)
	const remote = "postgres://u@db.example.invalid/campaign"
	for _, allow := range []bool{false, true} {
		err := checkDemoDatabase(remote, allow, true)
		if err == nil || !strings.Contains(err.Error(), "-reset") || !strings.Contains(err.Error(), "db.example.invalid") {
			t.Errorf("-reset on %s (allow-remote-db %v) = %v", remote, allow, err)
		}
	}
	if err := checkDemoDatabase("postgres://postgres@127.0.0.1/demo", false, true); err != nil {
		t.Errorf("-reset on a local database: %v", err)
	}
	if err := checkDemoDatabase("", false, true); err != nil {
		t.Errorf("-reset on the private cluster: %v", err)
	}
	// resetDemoDatabase checks again itself, before it connects.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := resetDemoDatabase(ctx, remote); err == nil || !strings.Contains(err.Error(), "not on this machine") {
		t.Errorf("resetDemoDatabase(%s) = %v", remote, err)
	}

	for _, args := range [][]string{{"-reset"}, {"-reset", "-allow-remote-db"}, nil} {
		var stdout bytes.Buffer
		start := time.Now()
		err := runDemo(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), mapEnv(map[string]string{"DATABASE_URL": remote}), &stdout, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "db.example.invalid") || time.Since(start) > 2*time.Second {
			t.Errorf("demo %v on %s = %v after %s, want a refusal at once", args, remote, err, time.Since(start))
		}
		if stdout.Len() != 0 {
			t.Errorf("demo %v on %s printed %q before refusing", args, remote, stdout.String())
		}
	}
}

func mapEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDemoPageHosts(t *testing.T) {
	got := demoPageHosts(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080})
	want := []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("hosts of 127.0.0.1:8080 = %v, want %v", got, want)
	}
	got = demoPageHosts(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80})
	for _, h := range []string{"127.0.0.1:80", "127.0.0.1", "localhost", "[::1]"} {
		if !strings.Contains(" "+strings.Join(got, " ")+" ", " "+h+" ") {
			t.Errorf("hosts of 127.0.0.1:80 = %v, lack %s", got, h)
		}
	}
	got = demoPageHosts(&net.TCPAddr{IP: net.IPv4zero, Port: 8080})
	if !strings.Contains(strings.Join(got, " "), "127.0.0.1:8080") || !strings.Contains(strings.Join(got, " "), "localhost:8080") {
		t.Errorf("hosts of 0.0.0.0:8080 = %v", got)
	}
	for _, h := range got {
		if strings.Contains(h, "example") || !strings.HasSuffix(h, ":8080") {
			t.Errorf("hosts of 0.0.0.0:8080 = %v", got)
		}
	}
}

func TestDemoLinks_CarryTheToken(t *testing.T) {
	var out bytes.Buffer
	writeDemoLinks(&out, "http://127.0.0.1:8080", "TOKEN234567", []string{"telegram:1"})
	links := regexp.MustCompile(`http://\S+`).FindAllString(out.String(), -1)
	if len(links) != 3 {
		t.Fatalf("links = %q in\n%s", links, out.String())
	}
	for _, l := range links {
		if !strings.Contains(l, "token=TOKEN234567") {
			t.Errorf("link %s lacks the token", l)
		}
	}
	for _, want := range []string{"http://127.0.0.1:8080/?token=TOKEN234567 ", "http://127.0.0.1:8080/zalo/?token=TOKEN234567 ", "http://127.0.0.1:8080/?user=1&token=TOKEN234567 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if msg := seedConflictMessage(3200); !strings.Contains(msg, "-reset -seed 3200") || !strings.Contains(msg, "deletes everything") {
		t.Errorf("seed conflict message = %q", msg)
	}
}

// startDemo runs the demo on a database until the test stops it, and returns what it prints (a
// syncBuffer of e2e_test.go) once it has printed its links, and the stop.
func startDemo(t *testing.T, dbURL string, args ...string) (*syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, append([]string{"-addr", "127.0.0.1:0", "-date", "2021-09-10T10:00"}, args...),
			mapEnv(map[string]string{"DATABASE_URL": dbURL, "LOG_LEVEL": "error"}), &out, io.Discard)
	}()
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && ctx.Err() == nil {
				t.Errorf("demo: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the demo did not stop")
		}
	}
	deadline := time.After(60 * time.Second)
	for !strings.Contains(out.String(), "keep these links to yourself") {
		select {
		case err := <-done:
			t.Fatalf("demo %v ended: %v\n%s", args, err, out.String())
		case <-deadline:
			stop()
			t.Fatalf("demo %v printed no links in a minute:\n%s", args, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return &out, stop
}

// The real demo: its printed links carry this run's token, its pages' API answers nobody without
// it, nor any other Host, nor a POST that is not JSON, and the Bot API no longer takes the fixed
// demo token; -seed on a used database says to add -reset, and -reset empties it.
func TestDemo_SafeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo against PostgreSQL")
	}
	dbURL := postgrestest.NewDatabaseURL(t)
	out, stop := startDemo(t, dbURL, "-seed", "30")
	m := regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+)/\?token=([A-Z2-7]{26}) `).FindStringSubmatch(out.String())
	if m == nil {
		stop()
		t.Fatalf("no link with a token in:\n%s", out.String())
	}
	base, token := m[1], m[2]
	for _, want := range []string{base + "/zalo/?token=" + token + " ", base + "/?user=1&token=" + token + " ", "Seeded "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out.String())
		}
	}
	call := func(method, path, host string, header map[string]string, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	tok := map[string]string{"X-Demo-Token": token, "Content-Type": "application/json"}
	form := map[string]string{"X-Demo-Token": token, "Content-Type": "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		what, method, path, host string
		header                   map[string]string
		body                     string
		want                     int
	}{
		{"the page without the token", "GET", "/", "", nil, "", 200},
		{"the administrator's chat without the token", "GET", "/api/chat?user=1", "", nil, "", 403},
		{"sending as the administrator without the token", "POST", "/api/send", "", map[string]string{"Content-Type": "application/json"}, `{"user":1,"text":"/export"}`, 403},
		{"a chat without the token", "GET", "/api/messages?user=1&since=0", "", nil, "", 403},
		{"a file without the token", "GET", "/api/file?id=x", "", nil, "", 403},
		{"Zalo's people without the token", "GET", "/zalo/api/people", "", nil, "", 403},
		{"a Zalo file without the token", "GET", "/zalo/media/x", "", nil, "", 403},
		{"the chat with the token", "GET", "/api/chat?user=4242", "", tok, "", 200},
		{"a send with the token", "POST", "/api/send", "", tok, `{"user":4242,"text":"/start"}`, 200},
		{"Zalo's people with the token", "GET", "/zalo/api/people?token=" + token, "", nil, "", 200},
		{"a form post with the token", "POST", "/api/send", "", form, `user=4242&text=hi`, 415},
		{"a Zalo form post with the token", "POST", "/zalo/api/send", "", form, `user=1&text=hi`, 415},
		{"another Host, with the token", "GET", "/api/chat?user=4242", "rebind.example:80", tok, "", 421},
		{"the page under another Host", "GET", "/", "rebind.example:80", nil, "", 421},
		{"localhost as Host", "GET", "/api/chat?user=4242", strings.Replace(strings.TrimPrefix(base, "http://"), "127.0.0.1", "localhost", 1), tok, "", 200},
		{"the Bot API with the old fixed demo token", "GET", "/bot" + demoToken + "/getMe", "", nil, "", 401},
	} {
		if got := call(tc.method, tc.path, tc.host, tc.header, tc.body); got != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", tc.what, tc.method, tc.path, got, tc.want)
		}
	}
	stop()

	// -seed on the used database leaves it and says how to start again.
	out, stop = startDemo(t, dbURL, "-seed", "30")
	stop()
	if !strings.Contains(out.String(), "-reset -seed 30") || strings.Contains(out.String(), "Seeded ") {
		t.Errorf("-seed on a used database:\n%s", out.String())
	}
	// -reset empties it, and -seed fills it anew.
	out, stop = startDemo(t, dbURL, "-reset", "-seed", "30")
	stop()
	if !strings.Contains(out.String(), "-reset: emptied schema public of database") || !strings.Contains(out.String(), "Seeded ") {
		t.Errorf("-reset -seed on a used database:\n%s", out.String())
	}
}
