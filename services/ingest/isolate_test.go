package ingest

import (
	"context"
	"fmt"
	"testing"

	"github.com/bantin/bantin/services/ingest/extract"
)

// TestReasonOfIsolation checks the dead-letter reasons of what a parsing
// child process reports (see extract.Isolated): a crash and a kill at the
// timeout.
func TestReasonOfIsolation(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"crashed child", fmt.Errorf("extracting text in a child process: %w (signal: killed): out of memory", extract.ErrCrashed), "crashed"},
		{"killed at the timeout", fmt.Errorf("extracting text in a child process: killed after 2m0s: %w", context.DeadlineExceeded), "timeout"},
		{"no text", fmt.Errorf("x: %w", extract.ErrNoText), "no_text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasonOf(tt.err); got != tt.want {
				t.Errorf("reasonOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
