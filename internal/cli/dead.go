package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/services/ingest"
)

// deadCommand is `bantin dead list|show|retry`: the DEADLETTER stream for
// operators.
func deadCommand() *command {
	var all, asJSON bool
	return &command{
		name:  "dead",
		usage: "list | show ID | retry ID… | retry --all",
		short: "Inspect and replay dead letters: reports a stage gave up on, with the reason.",
		long: "list prints every dead letter on the DEADLETTER stream (ID, time, stage, reason, attempts, name).\n" +
			"show ID prints one as JSON, with the pointer to its original (the kept message or raw attachment).\n" +
			"retry ID… (or --all) replays them: a summarize-stage letter republishes the kept report on its\n" +
			"subject; an ingest-stage letter extracts the kept attachment again (or fetches its URL again).\n" +
			"A replayed letter is removed; if it fails again, a new one is filed.\n" +
			"Example: bantin dead list --nats nats://nats:4222 && bantin dead retry 42 --nats nats://nats:4222",
		flags: func(fs *flag.FlagSet, o *options) {
			natsFlags(fs, o, false)
			ingestFlags(fs, o)
			fs.BoolVar(&all, "all", false, "retry: every dead letter")
			fs.BoolVar(&asJSON, "json", false, "list: one JSON object per line")
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) == 0 {
				return errUsage
			}
			b, err := o.connect(ctx, o.natsURL, "bantin-dead")
			if err != nil {
				return err
			}
			defer b.Close()
			switch {
			case args[0] == "list" && len(args) == 1:
				return deadList(ctx, o, b, asJSON)
			case args[0] == "show" && len(args) == 2:
				return deadShow(ctx, o, b, args[1])
			case args[0] == "retry" && len(args) == 2 && (args[1] == "--all" || args[1] == "-all"):
				// `bantin dead retry --all`: the flag after the verb.
				return deadRetry(ctx, o, b, nil, true)
			case args[0] == "retry" && (all != (len(args) > 1)):
				return deadRetry(ctx, o, b, args[1:], all)
			}
			return errUsage
		},
	}
}

func parseDeadID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("dead letter id %q: want the number in the first column of `bantin dead list`", s)
	}
	return id, nil
}

func deadList(ctx context.Context, o *options, b *bus.Bus, asJSON bool) error {
	list, err := b.ListDead(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(o.stdout)
		for _, e := range list {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(list) == 0 {
		fmt.Fprintln(o.stdout, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tSTAGE\tREASON\tATTEMPTS\tNAME")
	for _, e := range list {
		dl := e.Letter
		name := firstNonEmptyString(dl.Name, dl.Source.AttachmentURL, dl.Source.ArticleURL, dl.ReportID, dl.Subject)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", e.Seq, dl.Time.Format("2006-01-02 15:04:05"), dl.Stage, dl.Reason, dl.Attempts, name)
	}
	return tw.Flush()
}

func deadShow(ctx context.Context, o *options, b *bus.Bus, arg string) error {
	id, err := parseDeadID(arg)
	if err != nil {
		return err
	}
	e, err := b.GetDead(ctx, id)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(o.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(e)
}

func deadRetry(ctx context.Context, o *options, b *bus.Bus, args []string, all bool) error {
	var entries []bus.DeadEntry
	if all {
		list, err := b.ListDead(ctx)
		if err != nil {
			return err
		}
		entries = list
	} else {
		for _, a := range args {
			id, err := parseDeadID(a)
			if err != nil {
				return err
			}
			e, err := b.GetDead(ctx, id)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
	}
	svc, err := ingest.New(o.ingestConfig(), ingest.Deps{Bus: b, Log: o.log})
	if err != nil {
		return err
	}
	defer svc.Close()
	var failed int
	for _, e := range entries {
		outcome, err := replayDead(ctx, b, svc, e)
		if err != nil {
			failed++
			fmt.Fprintf(o.stdout, "%d: not retried: %v\n", e.Seq, err)
			continue
		}
		if err := b.RemoveDead(ctx, e); err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "%d: %s\n", e.Seq, outcome)
	}
	fmt.Fprintf(o.stdout, "%d retried, %d not\n", len(entries)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d dead letters could not be retried", failed)
	}
	return nil
}

// replayDead starts e's report again from the furthest point its dead
// letter keeps: the original message, the raw attachment, or the URL.
func replayDead(ctx context.Context, b *bus.Bus, svc *ingest.Service, e bus.DeadEntry) (string, error) {
	dl := e.Letter
	if dl.Original != "" {
		if err := b.Requeue(ctx, e); err != nil {
			return "", err
		}
		return "requeued on " + dl.Subject, nil
	}
	if dl.ReportID != "" {
		raw, err := b.Attachments.GetBytes(ctx, dl.ReportID)
		if err == nil {
			src := dl.Source
			if src.AttachmentName == "" {
				src.AttachmentName = dl.Name
			}
			return ingestOutcome(svc.IngestBytes(ctx, raw, src))
		}
	}
	if u := firstNonEmptyString(dl.Source.AttachmentURL, dl.Source.ArticleURL); u != "" {
		res, err := svc.IngestURL(ctx, u)
		if err != nil {
			return "", err
		}
		var outs []string
		for _, r := range res.Reports {
			outs = append(outs, r.Outcome)
		}
		return "fetched again: " + strings.Join(outs, ", "), nil
	}
	return "", errors.New("it keeps no original message, attachment or URL to start from")
}

func ingestOutcome(r ingest.Result) (string, error) {
	if r.Outcome == ingest.OutcomeDead {
		return "extracted again: dead again (" + r.Reason + ": " + r.Error + ")", nil
	}
	return "extracted again: " + r.Outcome, nil
}

func firstNonEmptyString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
