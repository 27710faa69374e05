// Command feeds measures requests/s of /feeds/all.atom served by bantin's
// publish role (the production HTTP server of internal/httpx with the
// publish Index, 50 digests) next to the same bytes served as a static
// file by net/http's FileServer, both in this process, loaded by wrk in a
// second process with keep-alive and many concurrent connections. Both
// are measured for full 200 responses and for conditional requests that
// get 304 Not Modified, alternating, several repetitions, medians.
//
//	go run ./bench/feeds [-connections 64] [-duration 5s] [-reps 3]
//
// Needs wrk (Debian package wrk). Run it from the repository root.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/bench/internal/benchutil"
	"github.com/bantin/bantin/internal/httpx"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/publish"
)

const sampleDigest = "services/summarize/extractive/testdata/bao-cao-ktxh-thang-11.digest.json"

func main() {
	conns := flag.Int("connections", 64, "concurrent keep-alive connections of wrk")
	threads := flag.Int("threads", 2, "wrk threads")
	dur := flag.Duration("duration", 5*time.Second, "length of one wrk run")
	reps := flag.Int("reps", 3, "repetitions; the median is reported")
	digests := flag.Int("digests", 50, "digests in the index (the feed shows at most 50)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/feeds [flags]   (from the repository root; needs wrk, Debian package wrk)\n\nRequests/s of bantin's /feeds/all.atom vs the same bytes from http.FileServer, 200 and 304.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*conns, *threads, *dur, *reps, *digests); err != nil {
		fmt.Fprintln(os.Stderr, "bench/feeds:", err)
		os.Exit(1)
	}
}

func run(conns, threads int, dur time.Duration, reps, n int) error {
	if err := benchutil.NeedTools(map[string]string{"wrk": "wrk"}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// bantin: the role's HTTP server and the publish index.
	reg := prometheus.NewRegistry()
	srv := httpx.New("127.0.0.1:0", reg, log)
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	idx := publish.NewIndex(publish.IndexOptions{BaseURL: "http://" + addr})
	if err := fill(idx, n); err != nil {
		return err
	}
	srv.Mux.Handle("/", idx.Handler())
	go srv.Run(ctx)
	bantinURL := "http://" + addr + "/feeds/all.atom"

	// Static: the same bytes as a file.
	body, bantinHdr, err := fetch(bantinURL)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bantin-bench-feeds-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "feeds"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "feeds", "all.atom"), body, 0o644); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	static := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go static.Serve(ln)
	defer static.Close()
	staticURL := "http://" + ln.Addr().String() + "/feeds/all.atom"
	_, staticHdr, err := fetch(staticURL)
	if err != nil {
		return err
	}

	fmt.Printf("machine: %s\n", benchutil.Machine())
	fmt.Printf("feed: %d bytes, %d digests; wrk -t%d -c%d -d%v, %d repetitions, alternating\n\n", len(body), n, threads, conns, dur, reps)

	type target struct {
		name, url string
		headers   []string
	}
	targets := []target{
		{"bantin 200", bantinURL, nil},
		{"static 200", staticURL, nil},
		{"bantin 304", bantinURL, []string{"If-None-Match: " + bantinHdr.Get("ETag"), "If-Modified-Since: " + bantinHdr.Get("Last-Modified")}},
		{"static 304", staticURL, []string{"If-Modified-Since: " + staticHdr.Get("Last-Modified")}},
	}
	for _, t := range targets {
		if err := expect(t.url, t.headers, t.name); err != nil {
			return err
		}
	}
	res := map[string][]float64{}
	for rep := 0; rep < reps; rep++ {
		for _, t := range targets {
			rps, err := wrk(t.url, t.headers, conns, threads, dur)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			res[t.name] = append(res[t.name], rps)
		}
		fmt.Printf("rep %d: bantin %.0f, static %.0f, bantin 304 %.0f, static 304 %.0f requests/s\n", rep+1,
			res["bantin 200"][rep], res["static 200"][rep], res["bantin 304"][rep], res["static 304"][rep])
	}
	m := func(k string) float64 { return benchutil.Median(res[k]) }
	fmt.Printf("\n| response (median of %d) | bantin req/s | static FileServer req/s | ratio | target |\n|---|---|---|---|---|\n", reps)
	fmt.Printf("| 200, %d bytes | %.0f | %.0f | %.2f | ≥ 0.8 |\n", len(body), m("bantin 200"), m("static 200"), m("bantin 200")/m("static 200"))
	fmt.Printf("| 304 Not Modified | %.0f | %.0f | %.2f | ≥ 1.0 |\n", m("bantin 304"), m("static 304"), m("bantin 304")/m("static 304"))
	return nil
}

// fill puts n digests made from the sample digest into idx.
func fill(idx *publish.Index, n int) error {
	b, err := os.ReadFile(sampleDigest)
	if err != nil {
		return fmt.Errorf("reading %s: %w (run from the repository root)", sampleDigest, err)
	}
	base := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		var d model.Digest
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("decoding %s: %w", sampleDigest, err)
		}
		d.ID = fmt.Sprintf("%016x", 0xbe00000000000000+uint64(i))
		d.ReportID = d.ID + "0000"
		d.Title = fmt.Sprintf("%s (%d)", d.Title, i+1)
		d.CreatedAt = base.Add(time.Duration(i) * time.Hour)
		d.UpdatedAt = d.CreatedAt
		idx.Put(d)
	}
	return nil
}

func fetch(url string) ([]byte, http.Header, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s %v", url, resp.Status, err)
	}
	return b, resp.Header, nil
}

// expect checks that one request gets the status the target is named for.
func expect(url string, headers []string, name string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if want := name[len(name)-3:]; strconv.Itoa(resp.StatusCode) != want {
		return fmt.Errorf("%s: got %s, want %s", name, resp.Status, want)
	}
	return nil
}

var rpsRE = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var non2xxRE = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)

// wrk runs wrk against url and returns requests/s.
func wrk(url string, headers []string, conns, threads int, dur time.Duration) (float64, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(dur.Seconds())) + "s"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	if m := non2xxRE.FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("wrk saw %s error responses:\n%s", m[1], out)
	}
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Requests/sec in wrk's output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
