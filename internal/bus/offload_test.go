package bus

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/model"
)

// TestEncodedBound checks that encodedBound is never below the real
// encoding's length, for the text that expands most under encoding/json.
func TestEncodedBound(t *testing.T) {
	tests := []struct {
		name  string
		paras []model.Paragraph
	}{
		{"none", nil},
		{"empty paragraph", []model.Paragraph{{}}},
		{"vietnamese", []model.Paragraph{{Page: 3, Text: "Thu ngân sách nhà nước đạt 18.245,6 tỷ đồng."}}},
		{"control characters", []model.Paragraph{{Page: 1, Text: strings.Repeat("\x01\x1f", 100)}}},
		{"html characters", []model.Paragraph{{Text: strings.Repeat("<&>", 100)}}},
		{"line and paragraph separators", []model.Paragraph{{Text: strings.Repeat("\u2028\u2029", 100)}}},
		{"invalid UTF-8", []model.Paragraph{{Text: strings.Repeat("\xff\xfe", 100)}}},
		{"quotes and backslashes", []model.Paragraph{{Text: strings.Repeat(`"\`, 100)}}},
		{"largest page number", []model.Paragraph{{Page: math.MaxInt, Text: "x"}, {Page: math.MinInt, Text: ""}}},
		{"many short paragraphs", func() []model.Paragraph {
			ps := make([]model.Paragraph, 1000)
			for i := range ps {
				ps[i] = model.Paragraph{Page: 1 << 40, Text: "\x00"}
			}
			return ps
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.paras)
			if err != nil {
				t.Fatal(err)
			}
			if got := encodedBound(tt.paras); got < len(data) {
				t.Errorf("encodedBound = %d, below the encoding's %d bytes", got, len(data))
			}
		})
	}
}

// TestOffloadNearTheLimit checks the reports OffloadText must encode to
// decide: text over the bound that still fits stays inline, text that
// does not fit goes to the object store.
func TestOffloadNearTheLimit(t *testing.T) {
	b := startBus(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		bytes   int
		offload bool
	}{
		{"fits, though six times its size would not", MaxInlineText / 2, false},
		{"just over the limit", MaxInlineText + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &model.Report{ID: "near-" + tt.name, Paragraphs: []model.Paragraph{{Text: strings.Repeat("a", tt.bytes)}}}
			if encodedBound(r.Paragraphs) <= MaxInlineText {
				t.Fatalf("the case does not exercise the encoding: bound %d", encodedBound(r.Paragraphs))
			}
			if err := b.OffloadText(ctx, r); err != nil {
				t.Fatal(err)
			}
			if got := r.TextRef != ""; got != tt.offload {
				t.Errorf("offloaded = %v, want %v (text_ref %q)", got, tt.offload, r.TextRef)
			}
		})
	}
}
