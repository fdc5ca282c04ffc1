package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/cmd/maytinhchoem/internal/app"
)

// METRICS_ADDR: ":9090" unless set, "off" for none, refused by name when malformed or when it is
// HTTP_ADDR's own address.
func TestConfiguration_MetricsAddr(t *testing.T) {
	if app.DefaultMetricsAddr != ":9090" {
		t.Errorf("METRICS_ADDR's default is %q; the README, the Dockerfile and the compose file say :9090", app.DefaultMetricsAddr)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string // the address, or "error"
	}{
		{"unset", map[string]string{}, app.DefaultMetricsAddr},
		{"off", map[string]string{"METRICS_ADDR": "off"}, ""},
		{"loopback", map[string]string{"METRICS_ADDR": "127.0.0.1:9100"}, "127.0.0.1:9100"},
		{"any host", map[string]string{"METRICS_ADDR": ":9091"}, ":9091"},
		{"same port, other host", map[string]string{"METRICS_ADDR": "127.0.0.1:8080", "HTTP_ADDR": "10.0.0.7:8080"}, "127.0.0.1:8080"},
		{"no colon", map[string]string{"METRICS_ADDR": "9090"}, "error"},
		{"named port", map[string]string{"METRICS_ADDR": ":prometheus"}, "error"},
		{"port too big", map[string]string{"METRICS_ADDR": ":99999"}, "error"},
		{"http's address", map[string]string{"METRICS_ADDR": ":8080"}, "error"},
		{"http's port on loopback", map[string]string{"METRICS_ADDR": "127.0.0.1:8080"}, "error"},
		{"the default on http's port", map[string]string{"HTTP_ADDR": ":9090", "METRICS_ADDR": ":9090"}, "error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := app.LoadConfig(func(k string) string { return tt.env[k] })
			if tt.want == "error" {
				if err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
					t.Fatalf("METRICS_ADDR=%q: error %v, want one naming METRICS_ADDR", tt.env["METRICS_ADDR"], err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MetricsAddr != tt.want {
				t.Errorf("MetricsAddr = %q, want %q", cfg.MetricsAddr, tt.want)
			}
		})
	}
	// serve stops at start, naming it.
	env := map[string]string{"TELEGRAM_TOKEN": "1:a", "DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "METRICS_ADDR": "localhost"}
	err := run(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("serve with METRICS_ADDR=localhost: %v", err)
	}
}

// /metrics is served on METRICS_ADDR and nowhere on HTTP_ADDR, the webhooks' public listener.
func TestServe_MetricsOnTheirOwnAddress(t *testing.T) {
	httpAddr, metricsAddr := freeAddr(t), freeAddr(t)
	h := newHarness(t, map[string]string{"HTTP_ADDR": httpAddr, "METRICS_ADDR": metricsAddr})
	p := h.parent(1201, "vi")
	p.say("/start", 1)
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	// The update is counted once handled, which may be just after its reply went.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body := get("http://" + metricsAddr + "/metrics")
		if code == http.StatusOK && strings.Contains(body, "maytinhchoem_updates_total") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("METRICS_ADDR /metrics: %d, maytinhchoem_updates_total present: %v", code, strings.Contains(body, "maytinhchoem_updates_total"))
		}
	}
	if code, _ := get("http://" + httpAddr + "/metrics"); code != http.StatusNotFound {
		t.Errorf("HTTP_ADDR /metrics answered %d, want 404", code)
	}
	if code, _ := get("http://" + httpAddr + "/readyz"); code != http.StatusOK {
		t.Errorf("HTTP_ADDR /readyz answered %d", code)
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
