package summarize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

// MaxDeliveriesSubject is the advisory JetStream sends when a message of
// REPORTS reached the summarize consumer's MaxDeliver without an ack.
const MaxDeliveriesSubject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + model.StreamReports + "." + model.ConsumerSummarize

// advisoryQueue makes one worker of many handle each advisory.
const advisoryQueue = "bantin-summarize-dead"

// maxDeliveriesAdvisory is the part of the advisory bantin reads.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// watchMaxDeliveries dead-letters reports that hit MaxDeliver without the
// worker seeing their last delivery fail: the worker crashed, hung past
// AckWait, or nak'ed during shutdown on the last attempt. Such a message
// stays in the work queue forever, undelivered; the listener files it
// (with the original kept, so `bantin dead retry` can replay it) and
// removes it. The dead letter's id is derived from the stream sequence, so
// the worker's own dead letter for the same message is not doubled.
func (s *Service) watchMaxDeliveries() (stop func(), err error) {
	sub, err := s.bus.NC.QueueSubscribe(MaxDeliveriesSubject, advisoryQueue, func(m *nats.Msg) {
		var adv maxDeliveriesAdvisory
		if err := json.Unmarshal(m.Data, &adv); err != nil || adv.StreamSeq == 0 {
			s.log.Warn("ignoring unreadable max-deliveries advisory", "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.deadLetterUndelivered(ctx, adv); err != nil {
			s.log.Error("dead-lettering a report that hit max deliveries", "stream_seq", adv.StreamSeq, "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribing to %s: %w", MaxDeliveriesSubject, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

func (s *Service) deadLetterUndelivered(ctx context.Context, adv maxDeliveriesAdvisory) error {
	stream, err := s.bus.JS.Stream(ctx, model.StreamReports)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", model.StreamReports, err)
	}
	msg, err := stream.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // acked or terminated meanwhile: nothing left to file
	}
	if err != nil {
		return fmt.Errorf("fetching report #%d: %w", adv.StreamSeq, err)
	}
	dl := model.DeadLetter{
		Stage: "summarize", Reason: "max_deliveries", Subject: msg.Subject, Sequence: adv.StreamSeq, Attempts: adv.Deliveries,
		Error: fmt.Sprintf("delivered %d times without an ack: the worker crashed, was killed or timed out each time (check the summarize logs and --timeout/--ack-wait); replay with `bantin dead retry`", adv.Deliveries),
	}
	var r model.Report
	if err := json.Unmarshal(msg.Data, &r); err == nil && r.ID != "" {
		dl.ReportID, dl.Name, dl.Source = r.ID, r.Title(), r.Source
		if _, ok, err := s.bus.DigestedID(ctx, r.ID); err == nil && ok {
			// Digested by a delivery whose ack was lost: not a failure.
			return deleteMsg(ctx, stream, adv.StreamSeq)
		}
	}
	if err := s.bus.FileDead(ctx, dl, msg.Data); err != nil {
		return err
	}
	s.handled.WithLabelValues("dead").Inc()
	s.log.Warn("report dead-lettered after max deliveries", "report_id", dl.ReportID, "stream_seq", adv.StreamSeq, "deliveries", adv.Deliveries)
	return deleteMsg(ctx, stream, adv.StreamSeq)
}

func deleteMsg(ctx context.Context, stream jetstream.Stream, seq uint64) error {
	if err := stream.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("removing report #%d from %s: %w", seq, model.StreamReports, err)
	}
	return nil
}
