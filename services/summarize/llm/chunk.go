package llm

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/model"
)

// estimateTokens estimates the tokens of text for a BPE tokenizer on
// Vietnamese: about one token per three characters (diacritics make
// Vietnamese cost more per character than English), rounded up. It errs
// high, which only makes chunks smaller.
func estimateTokens(text string) int { return (utf8.RuneCountInString(text) + 2) / 3 }

// chunk is a run of whole pages (or paragraphs of one page) rendered with
// page markers.
type chunk struct {
	text        string
	first, last int // pages
}

// render writes paragraphs with "[tr. N]" before the first paragraph of
// each page, so the model can cite pages.
func render(paras []model.Paragraph) string {
	var b strings.Builder
	page := -1
	for _, p := range paras {
		if p.Page != page && p.Page > 0 {
			fmt.Fprintf(&b, "[tr. %d]\n", p.Page)
		}
		page = p.Page
		b.WriteString(strings.TrimSpace(p.Text))
		b.WriteString("\n\n")
	}
	return strings.TrimSpace(b.String())
}

// chunks splits paragraphs into chunks of at most budget tokens, at page
// boundaries where a page fits, else at paragraph boundaries, else (one
// giant paragraph) at line or character boundaries.
func chunks(paras []model.Paragraph, budget int) []chunk {
	// Pages, in order.
	var pages [][]model.Paragraph
	for i, p := range paras {
		if i == 0 || p.Page != paras[i-1].Page {
			pages = append(pages, nil)
		}
		pages[len(pages)-1] = append(pages[len(pages)-1], p)
	}
	var out []chunk
	var cur []model.Paragraph
	flush := func() {
		if len(cur) > 0 {
			out = append(out, chunk{text: render(cur), first: cur[0].Page, last: cur[len(cur)-1].Page})
			cur = nil
		}
	}
	for _, pg := range pages {
		if estimateTokens(render(append(cur[:len(cur):len(cur)], pg...))) <= budget {
			cur = append(cur, pg...)
			continue
		}
		flush()
		if estimateTokens(render(pg)) <= budget {
			cur = append(cur, pg...)
			continue
		}
		// A page larger than the budget: by paragraph, splitting giants.
		for _, p := range pg {
			for _, piece := range splitText(p.Text, budget) {
				q := model.Paragraph{Page: p.Page, Text: piece}
				if estimateTokens(render(append(cur[:len(cur):len(cur)], q))) > budget {
					flush()
				}
				cur = append(cur, q)
			}
		}
	}
	flush()
	return out
}

// splitText cuts text into pieces of at most budget tokens, at line breaks
// or spaces where possible.
func splitText(text string, budget int) []string {
	maxRunes := max(budget*3-20, 50)
	var out []string
	for utf8.RuneCountInString(text) > maxRunes {
		cut := len(text)
		n := 0
		for i := range text {
			if n == maxRunes {
				cut = i
				break
			}
			n++
		}
		if j := strings.LastIndexAny(text[:cut], "\n"); j > cut/2 {
			cut = j
		} else if j := strings.LastIndexByte(text[:cut], ' '); j > cut/2 {
			cut = j
		}
		out = append(out, strings.TrimSpace(text[:cut]))
		text = text[cut:]
	}
	if t := strings.TrimSpace(text); t != "" {
		out = append(out, t)
	}
	return out
}
