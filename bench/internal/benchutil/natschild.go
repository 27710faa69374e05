package benchutil

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

// EnvNATSStore, when set in the environment, makes a benchmark binary a
// nats-server instead: JetStream on a file store in that directory, its
// client URL printed as the first line of stdout, until SIGTERM or until
// its stdin closes (the benchmark that started it is gone). A benchmark
// re-executes itself with it (StartNATSChild), so that the server is a
// process of its own, as the NATS StatefulSet is in production, with no
// binary beyond the benchmark's. Its main calls ServeNATS first thing when
// the variable is set.
const EnvNATSStore = "BANTIN_BENCH_NATS_STORE"

// ServeHooks are what a benchmark's nats-server child does beyond serving.
type ServeHooks struct {
	// OnUSR1, when set, is called on each SIGUSR1.
	OnUSR1 func()
	// OnStop, when set, is called as the child stops, before the server
	// shuts down.
	OnStop func()
}

// ServeNATS is the child's side of EnvNATSStore: it serves JetStream
// storing in store until SIGTERM, an interrupt or the end of its stdin.
func ServeNATS(store string, hooks ServeHooks) error {
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
	usr1 := make(chan os.Signal, 1)
	if hooks.OnUSR1 != nil {
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	orphaned := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(orphaned)
	}()
	if _, err := fmt.Println(ns.ClientURL()); err != nil {
		ns.Shutdown()
		return fmt.Errorf("telling the benchmark the client URL: %w", err)
	}
wait:
	for {
		select {
		case <-usr1:
			hooks.OnUSR1()
		case <-sigs:
			break wait
		case <-orphaned:
			break wait
		}
	}
	if hooks.OnStop != nil {
		hooks.OnStop()
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	return nil
}

// NATSChild is a nats-server running as a child process (ServeNATS).
type NATSChild struct {
	cmd   *exec.Cmd
	stdin io.Closer
	// URL is the server's client URL.
	URL string
}

// StartNATSChild re-executes this binary with EnvNATSStore=store and the
// extra environment env ("KEY=value"), and waits for the child's client
// URL.
func StartNATSChild(store string, env ...string) (*NATSChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary to run nats-server from: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), EnvNATSStore+"="+store), env...)
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
	c := &NATSChild{cmd: cmd, stdin: stdin}
	// The child exits, closing stdout, when it cannot start.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("reading nats-server's client URL (its errors are above; does main call benchutil.ServeNATS when %s is set?): %w", EnvNATSStore, err)
	}
	c.URL = strings.TrimSpace(line)
	return c, nil
}

// PID is the child's process id.
func (c *NATSChild) PID() int { return c.cmd.Process.Pid }

// Signal sends sig to the child.
func (c *NATSChild) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// CPU is the child's user+system CPU time so far (ProcCPU).
func (c *NATSChild) CPU() (time.Duration, error) { return ProcCPU(strconv.Itoa(c.PID())) }

// RSS is the child's resident set size in MiB (VmRSS).
func (c *NATSChild) RSS() (float64, error) { return VmRSS(strconv.Itoa(c.PID())) }

// Stop asks the server to shut down, killing it after 30s.
func (c *NATSChild) Stop() error {
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

// clockTick is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// ProcCPU is the user+system CPU time of process pid ("self" for this one)
// so far, from utime and stime in /proc/PID/stat: a resolution of 10 ms.
func ProcCPU(pid string) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("reading CPU time (Linux only): %w", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// the fields after the last ')' start with field 3, state.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in /proc/%s/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	// utime and stime are fields 14 and 15: f[11] and f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat has %d fields after the name, want at least 13", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		t, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc/%s/stat CPU time %q: %w", pid, s, err)
		}
		ticks += t
	}
	return time.Duration(ticks) * clockTick, nil
}

// VmRSS is the resident set size of process pid ("self" for this one), in
// MiB, from /proc/PID/status.
func VmRSS(pid string) (float64, error) {
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
