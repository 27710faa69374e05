package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bantin/bantin/internal/bus"
)

// envNATSStore, when set in the environment, makes the soak binary a
// nats-server instead: JetStream on a file store in that directory, its
// client URL printed as the first line of stdout, until SIGTERM or until
// its stdin closes (the soak that started it is gone). The soak re-executes
// itself with it, so that the server is a process of its own, as the NATS
// StatefulSet is in production, with no binary beyond the soak's.
const envNATSStore = "BANTIN_SOAK_NATS_STORE"

// envNATSProfile, when set for the child, names the heap profile it writes
// as it stops; on SIGUSR1 it writes one to that name + ".q1".
const envNATSProfile = "BANTIN_SOAK_NATS_PROFILE"

// serveNATS is the child's side of envNATSStore.
func serveNATS(store string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: store}, log)
	if err != nil {
		return fmt.Errorf("starting nats-server: %w", err)
	}
	// The handler stays registered until the process exits: a SIGTERM
	// that comes after stdin's end must not find the default (exit at
	// once) in place.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	profile := os.Getenv(envNATSProfile)
	usr1 := make(chan os.Signal, 1)
	if profile != "" {
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	orphaned := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(orphaned)
	}()
	if _, err := fmt.Println(ns.ClientURL()); err != nil {
		ns.Shutdown()
		return fmt.Errorf("telling the soak the client URL: %w", err)
	}
wait:
	for {
		select {
		case <-usr1:
			if err := writeHeapProfile(profile + ".q1"); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		case <-sigs:
			break wait
		case <-orphaned:
			break wait
		}
	}
	if profile != "" {
		if err := writeHeapProfile(profile); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	return nil
}

// natsChild is a nats-server running as a child process (serveNATS).
type natsChild struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
}

// startNATSChild re-executes this binary as a nats-server storing in store
// and waits for its client URL. With a profile name, the child writes heap
// profiles there (envNATSProfile).
func startNATSChild(store, profile string) (*natsChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the soak binary to run nats-server from: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envNATSStore+"="+store)
	if profile != "" {
		cmd.Env = append(cmd.Env, envNATSProfile+"="+profile)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("starting nats-server: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("starting nats-server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting nats-server: %w", err)
	}
	c := &natsChild{cmd: cmd, stdin: stdin}
	// The child exits, closing stdout, when it cannot start.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("reading nats-server's client URL (its errors are above): %w", err)
	}
	c.url = strings.TrimSpace(line)
	return c, nil
}

// pid is the child's process id.
func (c *natsChild) pid() int { return c.cmd.Process.Pid }

// profileQ1 asks the child for its first-quartile heap profile.
func (c *natsChild) profileQ1() { _ = c.cmd.Process.Signal(syscall.SIGUSR1) }

// stop asks the server to shut down, killing it after 30s.
func (c *natsChild) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() {
		err := c.cmd.Wait()
		_ = c.stdin.Close()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("nats-server exited: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
		return errors.New("nats-server did not stop within 30s of SIGTERM; killed")
	}
}

// vmRSS is the resident set size of process pid ("self" for this one), in
// MiB.
func vmRSS(pid string) (float64, error) {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS %q: %w", rest, err)
			}
			return float64(kb) / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS line in /proc/%s/status", pid)
}
