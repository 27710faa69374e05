package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

// deadPrefix names the originals of dead-lettered messages in the
// ATTACHMENTS object store.
const deadPrefix = "dead/"

// StreamOf is the stream that carries subject, by bantin's subject prefixes
// ("" when it is none of bantin's).
func StreamOf(subject string) string {
	switch {
	case strings.HasPrefix(subject, model.SubjectReportPrefix):
		return model.StreamReports
	case strings.HasPrefix(subject, model.SubjectOCRPrefix):
		return model.StreamOCR
	case strings.HasPrefix(subject, model.SubjectDigestPrefix):
		return model.StreamDigests
	}
	return ""
}

// OriginalKey is where the original of the message at seq on stream is
// kept once dead-lettered.
func OriginalKey(stream string, seq uint64) string {
	return fmt.Sprintf("%s%s-%d.json", deadPrefix, stream, seq)
}

// FileDead files a dead letter. When original (the message as received)
// is given and dl names its subject and stream sequence, the bytes are
// kept in the object store under OriginalKey and dl.Original points there,
// so the message can be replayed after its work queue dropped it. The dead
// letter's Nats-Msg-Id is derived from the stream and sequence, so the
// worker and the MaxDeliver advisory listener filing for the same message
// yield one dead letter.
func (b *Bus) FileDead(ctx context.Context, dl model.DeadLetter, original []byte) error {
	dl.SchemaVersion = model.SchemaVersion
	if dl.Time.IsZero() {
		dl.Time = time.Now().UTC()
	}
	stream := StreamOf(dl.Subject)
	var opts []jetstream.PublishOpt
	if stream != "" && dl.Sequence != 0 {
		opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("dead:%s:%d", stream, dl.Sequence)))
		if original != nil && b.Attachments != nil {
			key := OriginalKey(stream, dl.Sequence)
			if _, err := b.Attachments.PutBytes(ctx, key, original); err != nil {
				return fmt.Errorf("keeping the original of %s #%d: %w", stream, dl.Sequence, err)
			}
			dl.Original = key
		}
	}
	data, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encoding dead letter: %w", err)
	}
	if _, err := b.JS.Publish(ctx, model.DeadSubject(dl.Stage), data, opts...); err != nil {
		return fmt.Errorf("publishing dead letter for %s: %w", firstNonEmpty(dl.Name, dl.ReportID, dl.Subject), err)
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// DeadEntry is one dead letter and its sequence on DEADLETTER, its id for
// `bantin dead show` and `retry`.
type DeadEntry struct {
	Seq    uint64           `json:"seq"`
	Letter model.DeadLetter `json:"dead_letter"`
}

// ErrDeadNotFound is returned for a dead-letter id that is not on the stream.
var ErrDeadNotFound = errors.New("no such dead letter (list them with `bantin dead list`)")

// ListDead returns every dead letter on DEADLETTER, oldest first.
func (b *Bus) ListDead(ctx context.Context) ([]DeadEntry, error) {
	s, err := b.JS.Stream(ctx, model.StreamDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", model.StreamDeadLetter, err)
	}
	state := s.CachedInfo().State
	if state.Msgs == 0 {
		return nil, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", model.StreamDeadLetter, err)
	}
	var out []DeadEntry
	for {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", model.StreamDeadLetter, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", model.StreamDeadLetter, err)
		}
		e := DeadEntry{Seq: meta.Sequence.Stream}
		if err := json.Unmarshal(msg.Data(), &e.Letter); err != nil {
			e.Letter = model.DeadLetter{Reason: "unreadable", Error: fmt.Sprintf("decoding dead letter: %v", err)}
		}
		out = append(out, e)
		if uint64(len(out)) >= state.Msgs || meta.Sequence.Stream >= state.LastSeq {
			return out, nil
		}
	}
}

// GetDead returns the dead letter at seq.
func (b *Bus) GetDead(ctx context.Context, seq uint64) (DeadEntry, error) {
	s, err := b.JS.Stream(ctx, model.StreamDeadLetter)
	if err != nil {
		return DeadEntry{}, fmt.Errorf("opening stream %s: %w", model.StreamDeadLetter, err)
	}
	msg, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadEntry{}, fmt.Errorf("dead letter %d: %w", seq, ErrDeadNotFound)
	}
	if err != nil {
		return DeadEntry{}, fmt.Errorf("reading dead letter %d: %w", seq, err)
	}
	e := DeadEntry{Seq: seq}
	if err := json.Unmarshal(msg.Data, &e.Letter); err != nil {
		return e, fmt.Errorf("decoding dead letter %d: %w", seq, err)
	}
	return e, nil
}

// OriginalOf returns the kept original message of a dead letter.
func (b *Bus) OriginalOf(ctx context.Context, dl model.DeadLetter) ([]byte, error) {
	if dl.Original == "" {
		return nil, errors.New("the dead letter keeps no original message")
	}
	data, err := b.Attachments.GetBytes(ctx, dl.Original)
	if err != nil {
		return nil, fmt.Errorf("loading original %s: %w", dl.Original, err)
	}
	return data, nil
}

// Requeue republishes the kept original of the dead letter e on its
// subject. Its Nats-Msg-Id is "retry:<seq>", so retrying the same dead
// letter twice queues it once; the DIGESTED bucket keeps a report that was
// digested meanwhile from being digested again.
func (b *Bus) Requeue(ctx context.Context, e DeadEntry) error {
	data, err := b.OriginalOf(ctx, e.Letter)
	if err != nil {
		return err
	}
	if StreamOf(e.Letter.Subject) == "" {
		return fmt.Errorf("dead letter %d: subject %q is not one of bantin's work queues", e.Seq, e.Letter.Subject)
	}
	if _, err := b.JS.Publish(ctx, e.Letter.Subject, data, jetstream.WithMsgID(fmt.Sprintf("retry:%d", e.Seq))); err != nil {
		return fmt.Errorf("republishing dead letter %d on %s: %w", e.Seq, e.Letter.Subject, err)
	}
	return nil
}

// RemoveDead deletes the dead letter e and its kept original: it was
// retried (a new failure files a new dead letter).
func (b *Bus) RemoveDead(ctx context.Context, e DeadEntry) error {
	s, err := b.JS.Stream(ctx, model.StreamDeadLetter)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", model.StreamDeadLetter, err)
	}
	if err := s.DeleteMsg(ctx, e.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("removing dead letter %d: %w", e.Seq, err)
	}
	if e.Letter.Original != "" {
		if err := b.Attachments.Delete(ctx, e.Letter.Original); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("removing original %s: %w", e.Letter.Original, err)
		}
	}
	return nil
}
