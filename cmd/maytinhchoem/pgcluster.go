package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// pgCluster is a private PostgreSQL cluster in a data folder, made with the system's initdb and
// pg_ctl, for the demo when no DATABASE_URL is given. PostgreSQL refuses to run as root, so as root
// the cluster belongs to the postgres system user.
type pgCluster struct {
	dir    string
	port   int
	binDir string
	asUser string
}

// findPGBin finds the folder of initdb and pg_ctl: on PATH, or under /usr/lib/postgresql/<ver>/bin
// as Debian installs them, newest first.
func findPGBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's initdb and pg_ctl were not found: install the postgresql package (the README's demo command does), or set DATABASE_URL")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startPGCluster makes the cluster in dir if it is not there yet and starts it on a free port.
func startPGCluster(ctx context.Context, dir string) (*pgCluster, error) {
	bin, err := findPGBin()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &pgCluster{dir: abs, binDir: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres system user: install the postgresql package")
		}
		c.asUser = "postgres"
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("pg data folder: %w", err)
	}
	if c.asUser != "" {
		if err := c.run(ctx, "chown", "-R", c.asUser, abs); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(abs, "PG_VERSION")); os.IsNotExist(err) {
		if err := c.run(ctx, filepath.Join(bin, "initdb"), "-D", abs, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
			return nil, fmt.Errorf("initdb: %w", err)
		}
	}
	// A cluster left running by a demo that was killed is stopped first, so the port is ours.
	if _, err := os.Stat(filepath.Join(abs, "postmaster.pid")); err == nil {
		_ = c.run(ctx, filepath.Join(bin, "pg_ctl"), "-D", abs, "-m", "fast", "-w", "stop")
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off", c.port, abs)
	if err := c.run(ctx, filepath.Join(bin, "pg_ctl"), "-D", abs, "-o", opts, "-l", filepath.Join(abs, "server.log"), "-w", "-t", "60", "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start (see %s): %w", filepath.Join(abs, "server.log"), err)
	}
	return c, nil
}

// URL is the cluster's connection string.
func (c *pgCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Stop shuts the cluster down cleanly.
func (c *pgCluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.run(ctx, filepath.Join(c.binDir, "pg_ctl"), "-D", c.dir, "-m", "fast", "-w", "stop")
}

func (c *pgCluster) run(ctx context.Context, name string, args ...string) error {
	var cmd *exec.Cmd
	if c.asUser != "" && name != "chown" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.asUser, "--", name}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = os.TempDir()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
