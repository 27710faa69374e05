package bus

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

func TestSetupKeepsOperatorLimits(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	// An operator tunes REPORTS, DEADLETTER and the DIGESTED bucket.
	tune := map[string]func(*jetstream.StreamConfig){
		model.StreamReports: func(c *jetstream.StreamConfig) {
			c.MaxAge, c.MaxBytes, c.Duplicates = 7*24*time.Hour, 1<<30, time.Hour
			c.Subjects = append(c.Subjects, "legacy.reports.>")
		},
		model.StreamDeadLetter:       func(c *jetstream.StreamConfig) { c.MaxAge, c.MaxMsgs = 30*24*time.Hour, 10000 },
		"KV_" + model.BucketDigested: func(c *jetstream.StreamConfig) { c.MaxBytes = 64 << 20 },
	}
	for name, f := range tune {
		s, err := b.JS.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.CachedInfo().Config
		f(&cfg)
		if _, err := b.JS.UpdateStream(ctx, cfg); err != nil {
			t.Fatalf("operator update of %s: %v", name, err)
		}
	}
	// Every role runs setup again at start.
	if _, err := Open(ctx, b.NC, Topology{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		check func(jetstream.StreamConfig) bool
	}{
		{model.StreamReports, func(c jetstream.StreamConfig) bool {
			return c.MaxAge == 7*24*time.Hour && c.MaxBytes == 1<<30 && c.Duplicates == time.Hour &&
				slices.Contains(c.Subjects, "legacy.reports.>") && slices.Contains(c.Subjects, model.SubjectReportPrefix+">")
		}},
		{model.StreamDeadLetter, func(c jetstream.StreamConfig) bool { return c.MaxAge == 30*24*time.Hour && c.MaxMsgs == 10000 }},
		{"KV_" + model.BucketDigested, func(c jetstream.StreamConfig) bool { return c.MaxBytes == 64<<20 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.JS.Stream(ctx, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if cfg := s.CachedInfo().Config; !tt.check(cfg) {
				t.Errorf("operator's settings lost after setup: %+v", cfg)
			}
		})
	}
}

func TestMergeStreamConfig(t *testing.T) {
	have := jetstream.StreamConfig{Name: "REPORTS", Subjects: []string{"a.>"}, Replicas: 1, MaxAge: time.Hour}
	tests := []struct {
		name        string
		want        jetstream.StreamConfig
		changed     bool
		subjects    []string
		replicas    int
		keepsMaxAge bool
	}{
		{"same", jetstream.StreamConfig{Subjects: []string{"a.>"}, Replicas: 1, MaxAge: 90 * time.Hour}, false, []string{"a.>"}, 1, true},
		{"new subject", jetstream.StreamConfig{Subjects: []string{"b.>"}, Replicas: 1}, true, []string{"a.>", "b.>"}, 1, true},
		{"replicas", jetstream.StreamConfig{Subjects: []string{"a.>"}, Replicas: 3}, true, []string{"a.>"}, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := mergeStreamConfig(have, tt.want)
			if changed != tt.changed || !slices.Equal(got.Subjects, tt.subjects) || got.Replicas != tt.replicas || (got.MaxAge == time.Hour) != tt.keepsMaxAge {
				t.Errorf("merge = %+v changed=%v", got, changed)
			}
		})
	}
	if len(have.Subjects) != 1 {
		t.Errorf("merge modified its input: %v", have.Subjects)
	}
}
