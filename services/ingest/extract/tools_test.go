package extract

import (
	"context"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/testenv"
)

// TestToolsRunUnderMemoryLimit runs pdftotext as the fallback does: under
// the default limit it reads the page, under a limit far below what it
// needs it fails with an error naming it rather than taking the memory.
func TestToolsRunUnderMemoryLimit(t *testing.T) {
	pdftotext := testenv.Tool(t, "pdftotext", "poppler-utils")
	data := minimalPDF("BT /F1 12 Tf 72 700 Td (Bao cao kinh te xa hoi) Tj ET", true)
	ctx := context.Background()

	out, err := runTool(ctx, data, pdftotext, "-enc", "UTF-8", "{}", "-")
	if err != nil {
		t.Fatalf("pdftotext under the default limit (%d MiB): %v", toolMemory>>20, err)
	}
	if !strings.Contains(string(out), "Bao cao kinh te xa hoi") {
		t.Errorf("pdftotext printed %q", out)
	}

	_, err = runToolLimited(ctx, 4<<20, data, pdftotext, "-enc", "UTF-8", "{}", "-")
	if err == nil {
		t.Fatal("pdftotext under a 4 MiB address-space limit succeeded: the limit does not apply")
	}
	if !strings.Contains(err.Error(), "pdftotext") {
		t.Errorf("error %q does not name the tool", err)
	}
}
