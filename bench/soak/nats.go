package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/bantin/bantin/bench/internal/benchutil"
)

// The soak re-executes itself as its nats-server (benchutil.EnvNATSStore,
// benchutil.StartNATSChild), so that the server is a process of its own,
// as the NATS StatefulSet is in production. What is the soak's own is the
// heap profiling of that child.

// envNATSProfile, when set for the child, names the heap profile it writes
// as it stops; on SIGUSR1 it writes one to that name + ".q1".
const envNATSProfile = "BANTIN_SOAK_NATS_PROFILE"

// serveNATS is the child's side of benchutil.EnvNATSStore, writing heap
// profiles when envNATSProfile is set.
func serveNATS(store string) error {
	var hooks benchutil.ServeHooks
	if profile := os.Getenv(envNATSProfile); profile != "" {
		write := func(path string) func() {
			return func() {
				if err := writeHeapProfile(path); err != nil {
					fmt.Fprintln(os.Stderr, err)
				}
			}
		}
		hooks = benchutil.ServeHooks{OnUSR1: write(profile + ".q1"), OnStop: write(profile)}
	}
	return benchutil.ServeNATS(store, hooks)
}

// natsChild is the soak's nats-server child.
type natsChild struct{ *benchutil.NATSChild }

// startNATSChild starts the nats-server child storing in store. With a
// profile name, the child writes heap profiles there (envNATSProfile).
func startNATSChild(store, profile string) (natsChild, error) {
	var env []string
	if profile != "" {
		env = append(env, envNATSProfile+"="+profile)
	}
	c, err := benchutil.StartNATSChild(store, env...)
	return natsChild{c}, err
}

// profileQ1 asks the child for its first-quartile heap profile.
func (c natsChild) profileQ1() { _ = c.Signal(syscall.SIGUSR1) }
