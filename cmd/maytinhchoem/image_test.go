//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/thuduc/maytinhchoem/bot/telegram/telegramtest"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
	"github.com/thuduc/maytinhchoem/storage/redis/redistest"
)

// The image's contract, tested without Docker (the CI machine has none): the static binary, built
// as the Dockerfile builds it, runs in a root laid out like the image (the binary, the CA
// certificates, the volume directories and /tmp, nothing else), chrooted as the image's user,
// with the image's ENV and the compose file's environment for the bot. The root is read-only but
// for the volumes and /tmp (the compose file's tmpfs), and afterwards nothing outside them has
// changed. There an administrator invites a city official, who /exports a workbook (EXPORT_DIR),
// /subscribes and asks for /summary (its chart in /tmp); the bot restarts with its jobs on and the
// daily summary, caught up at start, writes its chart into REPORTS_DIR and sends it; the
// healthcheck subcommand answers as compose's health check asks it; /metrics is on METRICS_ADDR
// and not on HTTP_ADDR.
//
// What differs from compose, and why: DATABASE_URL and REDIS_URL name the test's servers (the
// compose service names do not resolve here); HTTP_ADDR and METRICS_ADDR are free loopback ports
// (the test shares the machine's network); WEBHOOK_URL is the bot itself, without the proxy;
// TELEGRAM_API_URL is the emulator; REDIS_KEY_PREFIX isolates the test; CAMPAIGN_FILE (a file in
// the root, as a deployment would mount one) stands the campaign on its 20th day today and runs
// the summary every minute, so that a restart catches one up; and the first run has JOBS=false, so
// that the summary waits for the official's /subscribe and that restart.
func TestImage_RunsEveryFeatureInTheImagesLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it twice")
	}
	img := readDockerfile(t)
	compose := readCompose(t)
	checkIgnoreFiles(t)
	if os.Geteuid() != 0 {
		t.Skip("the image's contract is run chrooted as the image's user, which needs root: run the tests as root (CI does)")
	}
	start := time.Now()
	defer func() { t.Logf("image contract checked in %s", time.Since(start).Round(100*time.Millisecond)) }()

	root := t.TempDir()
	buildImageRoot(t, img, root)
	writeCampaignNearToday(t, root, "config")

	emu := telegramtest.New(telegramtest.Options{Token: demoToken, Limits: telegramtest.Limits{Disabled: true}})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); emu.Close() })
	h := &harness{t: t, emu: emu, emuURL: srv.URL, logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot log:\n%s", h.logs.String())
		}
	})
	httpAddr, metricsAddr := freeAddr(t), freeAddr(t)
	// The .env a deployer writes for the compose file.
	dotEnv := map[string]string{
		"TELEGRAM_TOKEN":     demoToken,
		"WEBHOOK_URL":        "http://" + httpAddr + "/telegram/webhook",
		"WEBHOOK_SECRET":     "image-contract-secret",
		"ADMIN_TELEGRAM_IDS": "9301",
		"POSTGRES_PASSWORD":  "not-used-here",
		"SITE_ADDRESS":       "bot.example.org",
	}
	_, prefix := redistest.New(t)
	env := compose.botEnvironment(t, dotEnv)
	for k, v := range map[string]string{
		"DATABASE_URL":     byIP(t, postgrestest.NewDatabaseURL(t)),
		"REDIS_URL":        byIP(t, redisURL()),
		"HTTP_ADDR":        httpAddr,
		"METRICS_ADDR":     metricsAddr,
		"TELEGRAM_API_URL": srv.URL,
		"REDIS_KEY_PREFIX": prefix,
		"CAMPAIGN_FILE":    "/config/campaign.json",
		"LOG_LEVEL":        "debug",
	} {
		env[k] = v
	}
	full := img.environment(env)
	exportDir, reportsDir := filepath.Join(root, full["EXPORT_DIR"]), filepath.Join(root, full["REPORTS_DIR"])
	writable := append(slices.Clone(img.volumes), compose.tmpfs...)
	before := snapshotRoot(t, root, writable)
	// Any write into a writable place moves its mtime off this.
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, dir := range writable {
		if err := os.Chtimes(filepath.Join(root, dir), past, past); err != nil {
			t.Fatal(err)
		}
	}
	changed := func(dir string) bool {
		fi, err := os.Stat(filepath.Join(root, dir))
		return err == nil && fi.ModTime().After(past)
	}

	// 1. Jobs off: the dialogs, /export and /summary.
	bot := startImage(t, img, root, h, withEnv(full, "JOBS", "false"), "serve")
	waitServing(t, bot, h.emu, httpAddr, 1)
	admin, city := h.parent(9301, "vi"), h.parent(9302, "vi")
	city.say("/start "+invite(t, admin, "city_official"), 1)
	city.say("/export", 1)
	book := city.press("x:xlsx", 1)
	if book.Document == "" || len(book.FileData) == 0 {
		t.Fatalf("/export sent %+v", book)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(book.FileData))
	if err != nil {
		t.Fatalf("the /export workbook does not open: %v", err)
	}
	if sheets := wb.GetSheetList(); len(sheets) < 4 {
		t.Errorf("the workbook has the sheets %q", sheets)
	}
	wb.Close()
	if !changed(full["EXPORT_DIR"]) {
		t.Errorf("/export wrote nothing into EXPORT_DIR (%s)", full["EXPORT_DIR"])
	}
	if got := city.say("/subscribe", 1); got.Text == "" {
		t.Errorf("/subscribe answered %+v", got)
	}
	city.say("/summary", 2)
	checkChart(t, find(t, h.emu.Messages(city.chat)[city.seen-2:], isFile))
	if !changed("/tmp") {
		t.Error("/summary's chart did not go through /tmp")
	}
	healthcheck(t, img, root, full)
	checkMetrics(t, httpAddr, metricsAddr)
	bot.stop(t)

	// 2. Restarted with the jobs on (the image's default): the day's summary is caught up, its
	// chart written into REPORTS_DIR and sent.
	bot = startImage(t, img, root, h, full, "serve")
	waitServing(t, bot, h.emu, httpAddr, 2)
	got := city.waitNew(2)
	checkChart(t, find(t, got, isFile))
	if text := find(t, got, isText); !strings.Contains(text.Text, "20/30") {
		t.Errorf("the daily summary = %q, want day 20/30 of the campaign", text.Text)
	}
	var charts []string
	_ = filepath.WalkDir(reportsDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".png") {
			fi, _ := d.Info()
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != 0o600 || int(st.Uid) != img.uid {
				t.Errorf("%s: mode %s, owner %d, want 0600 and the image's user", path, fi.Mode().Perm(), st.Uid)
			}
			charts = append(charts, path)
		}
		return nil
	})
	if len(charts) == 0 {
		t.Errorf("no chart in REPORTS_DIR (%s)", full["REPORTS_DIR"])
	}
	healthcheck(t, img, root, full)
	// The image's binary is the serve-only build: the commands that link the emulators and the
	// seed generator are not in it.
	if out, err := imageCommand(img, root, full, "demo").CombinedOutput(); err == nil || !strings.Contains(string(out), "serve-only build") {
		t.Errorf("demo in the image: %v, %q; want the serve-only build's refusal", err, out)
	}
	bot.stop(t)

	// Nothing was left in EXPORT_DIR, and nothing changed outside the writable places.
	if left, _ := os.ReadDir(exportDir); len(left) > 0 {
		t.Errorf("EXPORT_DIR keeps %d files after sending them", len(left))
	}
	after := snapshotRoot(t, root, writable)
	for path, was := range before {
		if now, ok := after[path]; !ok || now != was {
			t.Errorf("the bot changed %s outside the volumes: %+v, was %+v", path, now, was)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("the bot wrote %s outside the volumes", path)
		}
	}
}

// dockerfile is what the test reads from the Dockerfile.
type dockerfile struct {
	buildFlags []string          // go build's flags
	env        map[string]string // ENV
	volumes    []string          // VOLUME
	uid, gid   int               // USER
	copies     []imageCopy       // the final stage's COPY --from=build
}

// imageCopy is one COPY into the image.
type imageCopy struct {
	src, dst string
	uid, gid int
}

// readDockerfile reads the Dockerfile's build line, its final stage's files, ENV, VOLUME and USER,
// and checks what the test assumes about them.
func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	img := dockerfile{env: map[string]string{}}
	final := false
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		switch instr, args := fields[0], fields[1:]; {
		case instr == "FROM":
			final = args[0] == "scratch"
		case instr == "RUN" && strings.Contains(line, " go build "):
			const want = `RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -tags serveonly `
			if !strings.HasPrefix(line, want) {
				t.Fatalf("the Dockerfile builds with %q; the test builds with %q: keep them together", line, want)
			}
			img.buildFlags = []string{"-trimpath", "-ldflags=-s -w", "-tags", "serveonly"}
		case !final:
		case instr == "COPY":
			c := imageCopy{uid: 0, gid: 0}
			for len(args) > 0 && strings.HasPrefix(args[0], "--") {
				if owner, ok := strings.CutPrefix(args[0], "--chown="); ok {
					u, g, _ := strings.Cut(owner, ":")
					c.uid, _ = strconv.Atoi(u)
					c.gid, _ = strconv.Atoi(g)
				}
				args = args[1:]
			}
			c.src, c.dst = args[0], args[1]
			img.copies = append(img.copies, c)
		case instr == "ENV":
			for _, kv := range args {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("ENV %q: the test reads only ENV k=v ...", kv)
				}
				img.env[k] = v
			}
		case instr == "VOLUME":
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "VOLUME")), &img.volumes); err != nil {
				t.Fatalf("VOLUME: %v", err)
			}
		case instr == "ENTRYPOINT" || instr == "CMD":
			want := map[string]string{"ENTRYPOINT": `["/maytinhchoem"]`, "CMD": `["serve"]`}[instr]
			if got := strings.Join(args, " "); got != want {
				t.Fatalf("the image's %s is %s; the test runs %s", instr, got, want)
			}
		case instr == "USER":
			u, g, _ := strings.Cut(args[0], ":")
			img.uid, _ = strconv.Atoi(u)
			img.gid, _ = strconv.Atoi(g)
		}
	}
	if img.buildFlags == nil || img.uid == 0 || img.gid == 0 {
		t.Fatalf("the Dockerfile has no go build line or no non-root USER: %+v", img)
	}
	for _, name := range []string{"EXPORT_DIR", "REPORTS_DIR"} {
		if !slices.Contains(img.volumes, img.env[name]) {
			t.Errorf("the image's %s=%q is not one of its VOLUMEs %q", name, img.env[name], img.volumes)
		}
	}
	return img
}

// environment is what the image's process sees: Docker's PATH and HOME, the image's ENV, then env.
func (img dockerfile) environment(env map[string]string) map[string]string {
	out := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/"}
	for k, v := range img.env {
		out[k] = v
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// buildImageRoot lays root out as the image: the binary built with the Dockerfile's flags, the CA
// certificates, the directories it copies in with their owners; read-only (0555) where the
// image's user does not own it.
func buildImageRoot(t *testing.T, img dockerfile, root string) {
	t.Helper()
	for _, c := range img.copies {
		dst := filepath.Join(root, c.dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o555); err != nil {
			t.Fatal(err)
		}
		switch {
		case c.dst == "/maytinhchoem":
			cmd := exec.Command("go", append(append([]string{"build"}, img.buildFlags...), "-o", dst, ".")...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			if err := os.Chmod(dst, 0o555); err != nil {
				t.Fatal(err)
			}
		case c.dst == "/etc/ssl/certs/ca-certificates.crt":
			b, err := os.ReadFile(c.src)
			if err != nil {
				t.Skipf("the image's CA certificates come from %s, which this machine lacks: %v", c.src, err)
			}
			if err := os.WriteFile(dst, b, 0o444); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(c.src, "/layout/"):
			mode := fs.FileMode(0o700)
			if c.dst == "/tmp" {
				mode = 0o777 | fs.ModeSticky
			}
			if err := os.Mkdir(dst, 0); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dst, mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dst, c.uid, c.gid); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("the Dockerfile copies %s to %s: teach the test how the image lays it out", c.src, c.dst)
		}
	}
	if err := os.Chmod(root, 0o555); err != nil {
		t.Fatal(err)
	}
}

// writeCampaignNearToday writes root/dir/campaign.json: the default campaign standing on its 20th
// day today, in a time zone where it is about noon now (far from the day's edges), with the daily
// summary every minute and caught up until 23:59.
func writeCampaignNearToday(t *testing.T, root, dir string) {
	t.Helper()
	var c map[string]any
	b, err := os.ReadFile("../../campaign/default_thu_duc_2021.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	offset := 12 - time.Now().UTC().Hour() // hours east of UTC: -11..12
	zone := "Etc/GMT"
	if offset != 0 {
		zone = fmt.Sprintf("Etc/GMT%+d", -offset) // Etc/GMT-7 is UTC+7
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	shift := today.Sub(time.Date(2021, 9, 20, 0, 0, 0, 0, time.UTC))
	move := func(v any) string {
		d, err := time.Parse(time.DateOnly, v.(string))
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(shift).Format(time.DateOnly)
	}
	c["time_zone"] = zone
	c["start"], c["end"] = move(c["start"]), move(c["end"])
	for _, m := range c["milestones"].([]any) {
		m := m.(map[string]any)
		m["date"] = move(m["date"])
		if end, ok := m["end"]; ok {
			m["end"] = move(end)
		}
	}
	c["schedule"] = map[string]any{"summary": "* * * * *", "catch_up_until": "23:59"}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	wards, err := os.ReadFile(filepath.Join("../../campaign", c["wards_csv"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(root, dir)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"campaign.json": out, c["wards_csv"].(string): wards} {
		if err := os.WriteFile(filepath.Join(d, name), b, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(d, 0o555); err != nil {
		t.Fatal(err)
	}
}

// composeFile is what the test reads from docker-compose.yml: the bot service's lines.
type composeFile struct {
	text     string
	services map[string][]string
	tmpfs    []string // the bot's tmpfs mounts
}

// readCompose reads docker-compose.yml crudely (by indentation) and checks the deployment's
// promises: no default database password, EXPORT_DIR and REPORTS_DIR on the image's volumes with
// REPORTS_DIR a named volume (shared by the replicas), webhooks when there are several replicas,
// and the metrics port published nowhere.
func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	c := composeFile{text: string(b), services: map[string][]string{}}
	var name, top string
	for line := range strings.Lines(c.text) {
		line = strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		switch indent := len(line) - len(strings.TrimLeft(line, " ")); {
		case indent == 0:
			top, name = strings.TrimSuffix(trimmed, ":"), ""
		case indent == 2 && top == "services":
			name = strings.TrimSuffix(trimmed, ":")
		case name != "":
			c.services[name] = append(c.services[name], line)
		}
	}
	if c.services["bot"] == nil {
		t.Fatal("docker-compose.yml has no bot service")
	}
	for _, ref := range regexp.MustCompile(`\$\{POSTGRES_PASSWORD[^}]*\}`).FindAllString(c.text, -1) {
		if !strings.HasPrefix(ref, "${POSTGRES_PASSWORD:?") {
			t.Errorf("docker-compose.yml reads %s: the database password must have no default (${POSTGRES_PASSWORD:?...})", ref)
		}
	}
	raw := c.block("bot", "environment")
	for _, name := range []string{"EXPORT_DIR", "REPORTS_DIR", "METRICS_ADDR"} {
		if !slices.ContainsFunc(raw, func(l string) bool { return strings.HasPrefix(l, name+":") }) {
			t.Errorf("the bot's environment in docker-compose.yml does not declare %s", name)
		}
	}
	c.tmpfs = c.block("bot", "tmpfs")
	// The replicas and the mode, with the compose file's own defaults.
	env := c.botEnvironment(t, map[string]string{"POSTGRES_PASSWORD": "x", "SITE_ADDRESS": "x"})
	if mode, replicas := env["TELEGRAM_MODE"], c.interpolate(t, c.value("bot", "replicas"), nil); replicas != "1" && mode != "webhook" {
		t.Errorf("docker-compose.yml runs %s replicas by %s: several replicas need webhooks (pollers take each other's updates away)", replicas, mode)
	}
	volumes := c.block("bot", "volumes")
	if !slices.ContainsFunc(volumes, func(v string) bool {
		src, dst, _ := strings.Cut(v, ":")
		return dst == env["REPORTS_DIR"] && !strings.ContainsAny(src[:1], "./~")
	}) {
		t.Errorf("REPORTS_DIR (%s) is not a named volume of the bot in docker-compose.yml (%q): the replicas must share it", env["REPORTS_DIR"], volumes)
	}
	_, metricsPort, _ := strings.Cut(env["METRICS_ADDR"], ":")
	for service := range c.services {
		if metricsPort == "" {
			break
		}
		for _, p := range c.block(service, "ports") {
			if strings.Contains(p, ":"+metricsPort) || strings.HasPrefix(p, metricsPort+":") {
				t.Errorf("docker-compose.yml publishes %s of %s: the metrics port stays on the compose network", p, service)
			}
		}
	}
	if c.block("bot", "ports") != nil {
		t.Error("the bot publishes ports in docker-compose.yml: only the proxy does")
	}
	return c
}

// block returns the items (list items without "- ", map items as "k: v") under key in service,
// with quotes removed.
func (c composeFile) block(service, key string) []string {
	var out []string
	in, depth := false, 0
	for _, line := range c.services[service] {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		trimmed := strings.TrimSpace(line)
		if in && indent <= depth {
			in = false
		}
		if trimmed == key+":" {
			in, depth = true, indent
			continue
		}
		if in {
			item := strings.TrimPrefix(trimmed, "- ")
			if k, v, ok := strings.Cut(item, ": "); ok {
				item = k + ": " + strings.Trim(v, `"'`)
			} else {
				item = strings.Trim(item, `"'`)
			}
			out = append(out, item)
		}
	}
	return out
}

// value returns the value of key anywhere in service's block ("" when absent).
func (c composeFile) value(service, key string) string {
	for _, line := range c.services[service] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return ""
}

// botEnvironment is the bot's environment as compose makes it from dotEnv.
func (c composeFile) botEnvironment(t *testing.T, dotEnv map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, item := range c.block("bot", "environment") {
		k, v, _ := strings.Cut(item, ": ")
		env[k] = c.interpolate(t, v, dotEnv)
	}
	return env
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?:(:-|:\?)([^}]*))?\}`)

// interpolate reads ${NAME}, ${NAME:-default} and ${NAME:?error} as compose does.
func (c composeFile) interpolate(t *testing.T, s string, vars map[string]string) string {
	t.Helper()
	return interpolation.ReplaceAllStringFunc(s, func(ref string) string {
		m := interpolation.FindStringSubmatch(ref)
		v := vars[m[1]]
		switch {
		case v != "":
			return v
		case m[2] == ":?":
			t.Errorf("compose refuses to start without %s: %s", m[1], m[3])
		}
		return m[3]
	})
}

// checkIgnoreFiles checks that secrets and local data stay out of git and of the build context.
func checkIgnoreFiles(t *testing.T) {
	t.Helper()
	for file, want := range map[string][]string{
		"../../.gitignore":    {".env"},
		"../../.dockerignore": {".env", ".data/", ".git/"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Error(err)
			continue
		}
		lines := strings.Fields(string(b))
		for _, w := range want {
			if !slices.Contains(lines, w) && !slices.Contains(lines, "/"+w) && !slices.Contains(lines, strings.TrimSuffix(w, "/")) {
				t.Errorf("%s does not ignore %s", filepath.Base(file), w)
			}
		}
	}
}

// fileState is what snapshotRoot keeps of a path.
type fileState struct {
	mode     fs.FileMode
	size     int64
	mtime    time.Time
	uid, gid uint32
}

// snapshotRoot lists root's paths outside the writable directories.
func snapshotRoot(t *testing.T, root string, writable []string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(path, root), "/")
		if slices.Contains(writable, rel) {
			return fs.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		out[rel] = fileState{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime(), uid: st.Uid, gid: st.Gid}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// imageProcess is the binary running in the image's root.
type imageProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited, with err set
	err    error
}

// imageCommand runs the image's entrypoint with args in root, as the image's user, with env.
func imageCommand(img dockerfile, root string, env map[string]string, args ...string) *exec.Cmd {
	cmd := &exec.Cmd{Path: "/maytinhchoem", Args: append([]string{"/maytinhchoem"}, args...), Dir: "/"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: uint32(img.uid), Gid: uint32(img.gid)},
		Pdeathsig:  syscall.SIGKILL,
	}
	return cmd
}

// startImage starts the image's entrypoint with args, its output going to h's log.
func startImage(t *testing.T, img dockerfile, root string, h *harness, env map[string]string, args ...string) *imageProcess {
	t.Helper()
	cmd := imageCommand(img, root, env, args...)
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot chroot or change user here (a container without CAP_SYS_CHROOT or CAP_SETUID?): %v", err)
		}
		t.Fatalf("start the image's binary: %v", err)
	}
	p := &imageProcess{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// stop stops the process as docker stop does (SIGTERM) and wants it to exit 0.
func (p *imageProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("the bot exited with %v after SIGTERM", p.err)
		}
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Error("the bot did not stop within 15 s of SIGTERM")
	}
}

// waitServing waits for /readyz on httpAddr and for the bot's n-th setWebhook.
func waitServing(t *testing.T, p *imageProcess, emu *telegramtest.Server, httpAddr string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("the bot stopped at start: %v", p.err)
		default:
		}
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && emu.Calls("setWebhook") >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the bot did not become ready within 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// healthcheck runs compose's health check (the healthcheck subcommand) in the image.
func healthcheck(t *testing.T, img dockerfile, root string, env map[string]string) {
	t.Helper()
	out, err := imageCommand(img, root, env, "healthcheck").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ready" {
		t.Errorf("healthcheck: %v, %q", err, out)
	}
}

// checkMetrics wants /metrics on metricsAddr and not on httpAddr.
func checkMetrics(t *testing.T, httpAddr, metricsAddr string) {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("METRICS_ADDR: %v", err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body.String(), "maytinhchoem_updates_total") {
		t.Errorf("METRICS_ADDR /metrics: %s", resp.Status)
	}
	resp, err = http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HTTP_ADDR /metrics answered %s, want 404", resp.Status)
	}
}

// byIP names localhost in rawURL by its address: the image's root has no /etc/hosts.
func byIP(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() == "localhost" {
		u.Host = net.JoinHostPort("127.0.0.1", u.Port())
	}
	return u.String()
}

// withEnv returns env with k set to v.
func withEnv(env map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range env {
		if key != k {
			out[key] = val
		}
	}
	return out
}
