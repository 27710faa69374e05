// Package cli is the bantin command: its subcommands, their flags and
// environment variables, logging, and the mapping of SIGINT/SIGTERM to
// context cancellation. Services never see signals; they see a context.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
)

// command is one subcommand of bantin.
type command struct {
	name  string
	usage string // arguments after the name
	short string
	long  string
	// flags registers the command's flags on fs, storing into o.
	flags func(fs *flag.FlagSet, o *options)
	run   func(ctx context.Context, o *options, args []string) error

	// hidden commands are internal (extract-child) and not listed in help.
	hidden bool
}

// errUsage makes Run print the command's help and exit 2.
var errUsage = errors.New("usage")

func commands() []*command {
	return []*command{
		demoCommand(), allCommand(),
		roleCommand("ingest", "Run the ingest role: the article and upload API, fetching and extraction.",
			"Serves POST /api/articles and POST /api/reports, fetches attachments, extracts their text and\nputs reports on the REPORTS stream. Needs --nats."),
		ocrCommand(),
		roleCommand("summarize", "Run summarize workers: reports from the REPORTS work queue become digests.",
			"Pulls from the durable consumer \"summarize\" on REPORTS (scale replicas on its lag) and\npublishes digests on DIGESTS. Needs --nats."),
		roleCommand("publish", "Run the publish role: Atom, RSS and JSON feeds and web pages of the digests.",
			"Rebuilds its index from the DIGESTS stream at start and follows it, so any number of replicas\nserve identical feeds. Needs --nats."),
		submitCommand(), digestCommand(), evalCommand(),
		natsCommand(), deadCommand(),
		extractChildCommand(),
	}
}

// Run runs bantin with args (without the program name) and returns the
// process exit code. SIGINT and SIGTERM cancel the context given to the
// command, which then shuts down gracefully.
func Run(ctx context.Context, args []string) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			for _, c := range cmds {
				if c.name == args[1] {
					fs, _ := c.flagSet(stdout)
					fs.Usage()
					return 0
				}
			}
		}
		printHelp(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd *command
	for _, c := range cmds {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "bantin: unknown command %q\n\n", args[0])
		printHelp(stderr, cmds)
		return 2
	}
	fs, o := cmd.flagSet(stderr)
	o.stdout, o.stderr = stdout, stderr
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := applyEnv(fs); err != nil {
		fmt.Fprintf(stderr, "bantin %s: %v\n", cmd.name, err)
		return 2
	}
	o.log = newLogger(stderr, o.logFormat, o.logLevel)
	if err := cmd.run(ctx, o, fs.Args()); err != nil {
		if errors.Is(err, errUsage) {
			fs.Usage()
			return 2
		}
		fmt.Fprintf(stderr, "bantin %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

func (c *command) flagSet(out io.Writer) (*flag.FlagSet, *options) {
	o := &options{}
	fs := flag.NewFlagSet("bantin "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	logFlags(fs, o)
	if c.flags != nil {
		c.flags(fs, o)
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: bantin %s [flags] %s\n\n%s\n", c.name, c.usage, c.short)
		if c.long != "" {
			fmt.Fprintf(out, "\n%s\n", c.long)
		}
		fmt.Fprintf(out, "\nFlags (each also read from the environment variable shown):\n")
		printFlags(out, fs)
	}
	return fs, o
}

func printHelp(w io.Writer, cmds []*command) {
	fmt.Fprint(w, `bantin turns the reports attached to meeting articles ("File đính kèm") into short
digests, served as Atom, RSS and JSON feeds and web pages. One binary, several roles.

Usage: bantin <command> [flags] [args]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range cmds {
		if c.hidden {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.short)
	}
	tw.Flush()
	fmt.Fprint(w, `
Start here:   bantin demo          (embedded NATS, all roles, a sample meeting; prints the feed URLs)
Help on one:  bantin help <command>   or   bantin <command> --help
`)
}

// envName is the environment variable that sets a flag: --llm-base-url is
// BANTIN_LLM_BASE_URL.
func envName(flagName string) string {
	return "BANTIN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its
// environment variable, so flags win over the environment.
func applyEnv(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
			}
		}
	})
	return errors.Join(errs...)
}

func printFlags(w io.Writer, fs *flag.FlagSet) {
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	for _, f := range flags {
		def := ""
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s\t[%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
	}
}

func logFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	hopts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}
