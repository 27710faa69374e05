package publish

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bantin/bantin/internal/testenv"
)

// chromium finds the Debian chromium binary, skipping the test (failing
// under BANTIN_TEST_STRICT=1) when it is not installed.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Skip(t, "headless browser not found: install the Debian package chromium")
	return ""
}

// artifactDir is where screenshots go: $BANTIN_ARTIFACTS, else a temporary
// directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BANTIN_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "publish-browser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating artifact directory: %v", err)
	}
	return dir
}

// TestBrowser drives headless Chromium, at a phone's width, through what
// an editor and a reader do: sign in, approve a draft, find it by searching
// without diacritics, open it and follow its subscribe link.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := chromium(t)
	shots := artifactDir(t)
	ns := startNATS(t)
	b := connect(t, ns)
	r := startReplica(t, ns, Config{Review: true, EditorToken: testEditorToken})
	bacGiang, quangNinh, _ := sampleDigests(t)
	publishDigest(t, b, bacGiang)
	publishDigest(t, b, quangNinh)
	waitFor(t, "the drafts", func() bool { return r.s.Index().Len() == 2 })
	if f := parseFeed(t, r.url+"/feeds/all.atom"); len(f.Items) != 0 {
		t.Fatalf("feed shows %d drafts before review", len(f.Items))
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first call starts the browser and must not carry a timeout.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(412, 915)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, 90*time.Second)
	defer cancelTimeout()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}

	// waitLocation waits for a navigation that a click or submit started.
	waitLocation := func(prefix string) {
		t.Helper()
		waitFor(t, "the browser to reach "+prefix, func() bool {
			loc, err := chromedp.Run(ctx, chromedp.Location())
			return err == nil && strings.HasPrefix(loc, prefix)
		})
	}

	// The editor signs in and approves one draft.
	do("signing in",
		chromedp.Navigate(r.url+"/review"),
		chromedp.WaitVisible(`input[name="token"]`),
		chromedp.SendKeys(`input[name="token"]`, testEditorToken),
		chromedp.Submit(`input[name="token"]`),
		chromedp.WaitVisible(`article.draft`),
		shot("1-review"),
	)
	do("approving the draft", chromedp.Click(`form[action="`+r.url+`/review/`+bacGiang.ID+`/approve"] button`))
	waitFor(t, "the review page to list one draft", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(`main`))
		return err == nil && strings.Contains(s, "Chờ duyệt (1)")
	})
	waitFor(t, "the approved digest in the feed", func() bool {
		f := parseFeed(t, r.url+"/feeds/all.atom")
		return len(f.Items) == 1 && f.Items[0].Title == bacGiang.Title
	})

	// A reader finds it without diacritics.
	do("opening the index",
		chromedp.Navigate(r.url+"/"),
		chromedp.WaitVisible(`input[name="q"]`),
		shot("2-index"),
	)
	indexText := text(`main`)
	do("searching",
		chromedp.SendKeys(`input[name="q"]`, "ke hoach"),
		chromedp.Submit(`input[name="q"]`),
	)
	waitLocation(r.url + "/search?q=ke+hoach")
	do("reading the results", chromedp.WaitVisible(`main article h2 a`), shot("3-search"))
	resultsText := text(`main`)
	if !strings.Contains(indexText, bacGiang.Title) || strings.Contains(indexText, quangNinh.Title) {
		t.Errorf("index shows %q: want the approved digest and not the draft", indexText)
	}
	if !strings.Contains(resultsText, "Tìm kiếm: ke hoach") || !strings.Contains(resultsText, bacGiang.Title) {
		t.Errorf("searching \"ke hoach\" found %q, want %q", resultsText, bacGiang.Title)
	}

	do("opening the digest", chromedp.Click(`main article h2 a`))
	waitLocation(r.url + "/digests/")
	do("reading the digest", chromedp.WaitVisible(`article h1`), shot("4-digest"))
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	digestText := text(`main`)
	sub, err := chromedp.Run(ctx, chromedp.AttributeValue(`footer a.subscribe[type="application/atom+xml"]`, "href"))
	if err != nil {
		t.Fatalf("reading the subscribe link: %v", err)
	}
	subscribe := sub.Value
	if location != r.url+"/digests/"+bacGiang.ID {
		t.Errorf("result led to %s", location)
	}
	for _, want := range []string{bacGiang.Summary, "(tr. 2)", "13,45%"} {
		if !strings.Contains(digestText, want) {
			t.Errorf("digest page lacks %q", want)
		}
	}
	if subscribe == "" {
		t.Fatal("digest page has no Atom subscribe link")
	}
	f := parseFeed(t, subscribe)
	if len(f.Items) != 1 || f.Items[0].GUID != "urn:bantin:digest:"+bacGiang.ID {
		t.Errorf("subscribe link %s gives %d items, want the approved digest", subscribe, len(f.Items))
	}
	t.Logf("screenshots in %s", shots)
}
