package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
)

// natsCommand is `bantin nats init`: the JetStream topology as a one-off
// step (a Kubernetes Job, an upgrade), before or beside the workers, which
// also create it at start.
func natsCommand() *command {
	var wait time.Duration
	return &command{
		name:  "nats",
		usage: "init",
		short: "Create or update bantin's streams, consumers and buckets on a NATS server (idempotent).",
		long: "init creates the streams REPORTS, OCR, DIGESTS and DEADLETTER, the durable consumers\n" +
			"\"summarize\" on REPORTS and \"ocr\" on OCR, the key-value bucket DIGESTED and the object store ATTACHMENTS, or updates them to\n" +
			"the given --replicas, --ack-wait and --max-deliver. Running it again changes nothing.\n" +
			"It retries for --wait while the server or cluster is not ready (a Job started beside NATS).\n" +
			"Example: bantin nats init --nats nats://nats:4222 --replicas 3",
		flags: func(fs *flag.FlagSet, o *options) {
			natsFlags(fs, o, false)
			summarizeFlags(fs, o)
			fs.DurationVar(&wait, "wait", 2*time.Minute, "how long to retry while NATS is unreachable or its JetStream cluster not ready")
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) != 1 || args[0] != "init" {
				return errUsage
			}
			return natsInit(ctx, o, wait)
		},
	}
}

func natsInit(ctx context.Context, o *options, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var lastErr error
	for attempt := 1; ; attempt++ {
		b, err := o.connect(ctx, o.natsURL, "bantin-nats-init")
		if err == nil {
			defer b.Close()
			if _, err = b.EnsureSummarizeConsumer(ctx); err == nil {
				if _, err = b.EnsureOCRConsumer(ctx); err == nil {
					return printTopology(ctx, o, b)
				}
			}
		}
		lastErr = err
		o.log.Warn("nats init not done yet; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("setting up JetStream within --wait %s: %w", wait, lastErr)
		case <-time.After(2 * time.Second):
		}
	}
}

func printTopology(ctx context.Context, o *options, b *bus.Bus) error {
	for _, name := range []string{model.StreamReports, model.StreamOCR, model.StreamDigests, model.StreamDeadLetter} {
		s, err := b.JS.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("reading stream %s: %w", name, err)
		}
		info := s.CachedInfo()
		fmt.Fprintf(o.stdout, "stream %s: replicas %d, %d messages\n", name, info.Config.Replicas, info.State.Msgs)
	}
	for _, sc := range [][2]string{{model.StreamReports, model.ConsumerSummarize}, {model.StreamOCR, model.ConsumerOCR}} {
		c, err := b.JS.Consumer(ctx, sc[0], sc[1])
		if err != nil {
			return fmt.Errorf("reading consumer %s on %s: %w", sc[1], sc[0], err)
		}
		ci := c.CachedInfo()
		fmt.Fprintf(o.stdout, "consumer %s on %s: ack wait %s, max deliver %d, %d pending\n",
			ci.Name, sc[0], ci.Config.AckWait, ci.Config.MaxDeliver, ci.NumPending)
	}
	fmt.Fprintf(o.stdout, "key-value %s and object store %s: ready\n", model.BucketDigested, model.BucketAttachment)
	return nil
}
