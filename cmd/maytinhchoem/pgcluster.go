//go:build !serveonly

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
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
//
// The cluster trusts whoever connects (initdb --auth=trust), so it listens on no TCP port, where
// anyone on the machine could connect as its superuser: only on a unix socket in the data folder,
// which is the owner's alone (0700), or, when that path is too long for a socket, in a private
// temporary folder.
type pgCluster struct {
	dir     string
	sockDir string
	tmpSock bool // sockDir is a temporary folder of its own, removed by Stop
	port    int
	binDir  string
	asUser  string
}

// pgSocketPort names the cluster's socket (.s.PGSQL.5432); no TCP port is opened.
const pgSocketPort = 5432

// maxSocketDir is the longest folder a socket path fits after, with /.s.PGSQL.5432, in the 108
// bytes of a unix socket address.
const maxSocketDir = 90

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
	// A cluster left running by a demo that was killed is stopped first, so the socket is ours.
	if _, err := os.Stat(filepath.Join(abs, "postmaster.pid")); err == nil {
		_ = c.run(ctx, filepath.Join(bin, "pg_ctl"), "-D", abs, "-m", "fast", "-w", "stop")
	}
	c.port, c.sockDir = pgSocketPort, abs
	if len(abs) > maxSocketDir {
		if c.sockDir, err = os.MkdirTemp("", "maytinhchoem-pg-"); err != nil {
			return nil, fmt.Errorf("pg socket folder: %w", err)
		}
		c.tmpSock = true
		if c.asUser != "" {
			if err := c.run(ctx, "chown", c.asUser, c.sockDir); err != nil {
				_ = os.RemoveAll(c.sockDir)
				return nil, err
			}
		}
	}
	opts := fmt.Sprintf("-p %d -c listen_addresses='' -k %s -c unix_socket_permissions=0700 -c fsync=off", c.port, c.sockDir)
	if err := c.run(ctx, filepath.Join(bin, "pg_ctl"), "-D", abs, "-o", opts, "-l", filepath.Join(abs, "server.log"), "-w", "-t", "60", "start"); err != nil {
		if c.tmpSock {
			_ = os.RemoveAll(c.sockDir)
		}
		return nil, fmt.Errorf("pg_ctl start (see %s): %w", filepath.Join(abs, "server.log"), err)
	}
	return c, nil
}

// URL is the cluster's connection string, through its unix socket.
func (c *pgCluster) URL() string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres", RawQuery: url.Values{
		"host": {c.sockDir}, "port": {strconv.Itoa(c.port)}, "sslmode": {"disable"},
	}.Encode()}
	return u.String()
}

// Stop shuts the cluster down cleanly.
func (c *pgCluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := c.run(ctx, filepath.Join(c.binDir, "pg_ctl"), "-D", c.dir, "-m", "fast", "-w", "stop")
	if c.tmpSock {
		_ = os.RemoveAll(c.sockDir)
	}
	return err
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
