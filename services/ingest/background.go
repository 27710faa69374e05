package ingest

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// background is what the ingest role does on its own, besides answering
// requests: polling sources and watching a folder, with their metrics.
type background struct {
	poller *poller
	events *prometheus.CounterVec
	bytes  *prometheus.CounterVec
	delays *prometheus.GaugeVec
}

// initBackground sets up polling and the per-source metrics.
func (s *Service) initBackground(reg prometheus.Registerer) error {
	for i := range s.cfg.Sources {
		if err := s.cfg.Sources[i].check(); err != nil {
			return fmt.Errorf("source %s: %w", s.cfg.Sources[i].Name, err)
		}
	}
	delays := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bantin_ingest_crawl_delay_seconds",
		Help: "The robots.txt Crawl-delay in force per host (after the 60 s cap), by host; 0: none.",
	}, []string{"host"})
	bg := &background{
		poller: &poller{s: s, robots: newRobotsCache(s.reader.fetch, "bantin", s.log, delays)},
		delays: delays,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_ingest_source_events_total",
			Help: "What polling a source did, by source and event: fetched (200), unchanged (304 or same bytes), new (reports ingested), failed, robots_skipped.",
		}, []string{"source", "event"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_ingest_source_bytes_total",
			Help: "Bytes downloaded while polling a source, by source.",
		}, []string{"source"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{bg.events, bg.bytes, bg.delays} {
			if err := reg.Register(c); err != nil {
				return fmt.Errorf("registering ingest source metrics: %w", err)
			}
		}
	}
	s.bg = bg
	return nil
}

// record adds one poll's counts to the metrics.
func (bg *background) record(source string, st PollStats) {
	for event, n := range map[string]int{
		"fetched": st.Fetched, "unchanged": st.Unchanged, "new": st.New,
		"failed": st.Failed, "robots_skipped": st.Skipped,
	} {
		bg.events.WithLabelValues(source, event).Add(float64(n))
	}
	bg.bytes.WithLabelValues(source).Add(float64(st.Bytes))
}

// runBackground polls the configured sources and watches the configured
// folder until ctx is done.
func (s *Service) runBackground(ctx context.Context) error {
	var wg sync.WaitGroup
	if len(s.cfg.Sources) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runSources(ctx, s.bg.poller)
		}()
	}
	var watchErr error
	if s.cfg.WatchDir != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			watchErr = s.Watch(ctx, s.cfg.WatchDir)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	return watchErr
}
