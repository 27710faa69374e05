package cli

import "flag"

// CommandFlags returns the flags `bantin NAME` accepts, exactly as the
// command registers them, so that configuration written elsewhere (the
// Kubernetes manifests under deploy/k8s) can be checked against the binary.
// ok is false when bantin has no such command.
func CommandFlags(name string) (fs *flag.FlagSet, ok bool) {
	for _, c := range commands() {
		if c.name == name {
			fs, _ := c.flagSet(nil)
			return fs, true
		}
	}
	return nil, false
}

// EnvName is the environment variable twin of a flag: --ack-wait is
// BANTIN_ACK_WAIT.
func EnvName(flagName string) string { return envName(flagName) }
