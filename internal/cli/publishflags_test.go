package cli

import (
	"io"
	"testing"
	"time"

	"github.com/bantin/bantin/services/publish"
)

// TestPublishMemoryFlags checks that the publish role's memory and
// retention flags, and their environment twins, reach publish.Config, and
// that left alone they give publish's own defaults.
func TestPublishMemoryFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want publish.Config
	}{
		{name: "defaults", want: publish.Config{OutputCacheBytes: publish.DefaultOutputCacheBytes, RetentionCheck: publish.DefaultRetentionCheck}},
		{name: "flags", args: []string{"--cache-digests", "200", "--output-cache-bytes", "1048576", "--retention-check", "10s"},
			want: publish.Config{CacheSize: 200, OutputCacheBytes: 1 << 20, RetentionCheck: 10 * time.Second}},
		{name: "environment", env: map[string]string{"BANTIN_CACHE_DIGESTS": "300", "BANTIN_OUTPUT_CACHE_BYTES": "2097152", "BANTIN_RETENTION_CHECK": "30s"},
			want: publish.Config{CacheSize: 300, OutputCacheBytes: 2 << 20, RetentionCheck: 30 * time.Second}},
	}
	for _, cmdName := range []string{"publish", "all"} {
		for _, tt := range tests {
			t.Run(cmdName+"/"+tt.name, func(t *testing.T) {
				for k, v := range tt.env {
					t.Setenv(k, v)
				}
				var c *command
				for _, cc := range commands() {
					if cc.name == cmdName {
						c = cc
					}
				}
				if c == nil {
					t.Fatalf("no command %s", cmdName)
				}
				fs, o := c.flagSet(io.Discard)
				if err := fs.Parse(tt.args); err != nil {
					t.Fatal(err)
				}
				if err := applyEnv(fs); err != nil {
					t.Fatal(err)
				}
				cfg, err := o.publishConfig("http://bantin.test")
				if err != nil {
					t.Fatal(err)
				}
				if cfg.CacheSize != tt.want.CacheSize || cfg.OutputCacheBytes != tt.want.OutputCacheBytes || cfg.RetentionCheck != tt.want.RetentionCheck {
					t.Errorf("cache %d, output cache %d, retention check %v; want %d, %d, %v",
						cfg.CacheSize, cfg.OutputCacheBytes, cfg.RetentionCheck, tt.want.CacheSize, tt.want.OutputCacheBytes, tt.want.RetentionCheck)
				}
			})
		}
	}
}
