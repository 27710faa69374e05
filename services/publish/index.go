// Package publish serves digests to readers: an in-memory Index of the
// digests on the DIGESTS stream, rendered as Atom, RSS 2.0 and JSON Feed 1.1
// feeds and as HTML pages.
//
// The Index knows nothing of NATS: whoever follows the stream calls Put for
// every digest it sees, in any order and as often as it likes, and mounts
// Handler on an HTTP server. Every replica that reads the same stream ends
// up serving byte-identical feeds, so their ETags agree behind a load
// balancer.
//
// Feeds and the index page are rendered at most once per change of the
// Index, on the first request after it, and served from cached bytes (plain
// and gzipped) with strong ETags and Last-Modified for conditional GET.
package publish

import (
	"cmp"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// DefaultMaxEntries is how many digests a feed holds when
// IndexOptions.MaxEntries is not set.
const DefaultMaxEntries = 50

// DefaultTitle is the feed and site title when IndexOptions.Title is not set.
const DefaultTitle = "bantin"

// IndexOptions configures an Index.
type IndexOptions struct {
	// BaseURL is the absolute URL the Handler is reachable at, such as
	// "http://127.0.0.1:8080" or "https://news.example/bantin". Links in
	// feeds and pages are built from it, so it must be what readers see.
	BaseURL string
	// Title names the feeds and pages; DefaultTitle when empty.
	Title string
	// MaxEntries is how many of the latest digests each feed and the index
	// page show; DefaultMaxEntries when zero or negative.
	MaxEntries int
	// Location is the time zone pages show times in; Asia/Ho_Chi_Minh
	// (UTC+7) when nil. Feeds always carry UTC times.
	Location *time.Location
	// Logger receives rendering errors; nothing is logged when nil.
	Logger *slog.Logger
	// Review hides digests from every public feed and page until an
	// editor approves them (SetReview).
	Review bool
	// Hub is the WebSub hub feeds advertise with rel="hub"; none when empty.
	Hub string
	// OnServe, when set, is told of every feed or page response served
	// from cache: the output's name and whether it was a 304.
	OnServe func(output string, notModified bool)
}

// Index holds the digests a publish replica serves, rebuilt from the DIGESTS
// stream. It is safe for concurrent use.
type Index struct {
	baseURL    string
	title      string
	maxEntries int
	loc        *time.Location
	log        *slog.Logger
	tmpl       templates

	mu      sync.RWMutex
	digests map[string]model.Digest
	// order holds the digests' keys, oldest first, as of the last read;
	// pending holds, by ID, the keys Put since then, so that replaying a
	// stream in any order costs one sort rather than one insertion per
	// digest. Each digest has its key in exactly one of them.
	order   []sortKey
	pending map[string]sortKey
	// gen counts changes; caches remember the gen they were built at.
	gen uint64
	// folded is each digest's searchable text, folded (vntext.Fold).
	folded map[string]string
	// firstVersion is the lowest version of each digest seen; a later one
	// is a correction. In review mode the review record says instead.
	firstVersion map[string]int
	// reviews holds editors' decisions, by digest id (review mode only).
	reviews map[string]ReviewRecord
	// failures are the newest dead letters, oldest first.
	failures []model.DeadLetter

	reviewMode bool
	hub        string
	onServe    func(string, bool)

	cacheMu sync.Mutex
	caches  map[outputKey]*renditionCache

	viewMu sync.Mutex
	view   *feedView

	atom, rss, json, home *renditionCache
}

// NewIndex returns an empty Index.
func NewIndex(opts IndexOptions) *Index {
	x := &Index{
		baseURL:    strings.TrimRight(opts.BaseURL, "/"),
		title:      opts.Title,
		maxEntries: opts.MaxEntries,
		loc:        opts.Location,
		log:        opts.Logger,
		digests:    make(map[string]model.Digest),
		pending:    make(map[string]sortKey),
		folded:     make(map[string]string),

		firstVersion: make(map[string]int),
		reviews:      make(map[string]ReviewRecord),
		reviewMode:   opts.Review,
		hub:          opts.Hub,
		onServe:      opts.OnServe,
		caches:       make(map[outputKey]*renditionCache),
	}
	if x.title == "" {
		x.title = DefaultTitle
	}
	if x.maxEntries <= 0 {
		x.maxEntries = DefaultMaxEntries
	}
	if x.loc == nil {
		x.loc = vietnamTime()
	}
	x.tmpl = parseTemplates(x.loc)
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	x.atom = &renditionCache{name: "atom", contentType: contentTypeAtom, render: x.renderAtom}
	x.rss = &renditionCache{name: "rss", contentType: contentTypeRSS, render: x.renderRSS}
	x.json = &renditionCache{name: "json", contentType: contentTypeJSONFeed, render: x.renderJSONFeed}
	x.home = &renditionCache{name: "home", contentType: contentTypeHTML, render: x.renderHome}
	return x
}

// vietnamTime is Asia/Ho_Chi_Minh from the system's zone database, or the
// fixed UTC+7 that it has been since 1975 when there is no database.
func vietnamTime() *time.Location {
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*60*60)
}

// Put adds d, or replaces the digest with the same ID when d is a later
// revision: a higher Version, or the same Version with a later UpdatedAt.
// It reports whether the Index changed, so putting the same digest twice, or
// an older revision after a newer one, returns false. Digests without an ID
// are ignored.
func (x *Index) Put(d model.Digest) bool {
	if d.ID == "" {
		return false
	}
	d = cloneDigest(d)
	k := keyOf(&d)

	folded := searchText(&d)

	x.mu.Lock()
	defer x.mu.Unlock()
	if fv, ok := x.firstVersion[d.ID]; !ok || d.Version < fv {
		x.firstVersion[d.ID] = d.Version
	}
	if old, ok := x.digests[d.ID]; ok {
		if !supersedes(&d, &old) {
			return false
		}
		if oldKey := keyOf(&old); !oldKey.t.Equal(k.t) {
			// The revision moves the digest: its key leaves order now,
			// or is overwritten in pending below.
			if i, found := slices.BinarySearchFunc(x.order, oldKey, compareKeys); found {
				x.order = slices.Delete(x.order, i, i+1)
			}
			x.pending[d.ID] = k
		}
	} else {
		x.pending[d.ID] = k
	}
	x.digests[d.ID] = d
	x.folded[d.ID] = folded
	x.gen++
	return true
}

// supersedes reports whether d is a later revision than old.
func supersedes(d, old *model.Digest) bool {
	if d.Version != old.Version {
		return d.Version > old.Version
	}
	return d.UpdatedAt.After(old.UpdatedAt)
}

// Get returns the digest with the given id.
func (x *Index) Get(id string) (model.Digest, bool) {
	x.mu.RLock()
	d, ok := x.digests[id]
	x.mu.RUnlock()
	if !ok {
		return model.Digest{}, false
	}
	return cloneDigest(d), true
}

// getPublic returns the digest with the given id when readers may see it.
func (x *Index) getPublic(id string) (model.Digest, bool) {
	x.mu.RLock()
	d, ok := x.digests[id]
	ok = ok && x.public(&d)
	x.mu.RUnlock()
	if !ok {
		return model.Digest{}, false
	}
	return cloneDigest(d), true
}

// Len returns the number of digests in the Index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.digests)
}

// Latest returns up to n public digests (all of them unless in review mode,
// else the approved ones), newest first: by Source.PublishedAt, or
// CreatedAt when that is unknown, then by ID. It returns nil when n <= 0.
func (x *Index) Latest(n int) []model.Digest {
	ds, _ := x.latest(n)
	for i := range ds {
		ds[i] = cloneDigest(ds[i])
	}
	return ds
}

// latest is Latest without the defensive copies, and with the generation the
// result belongs to. Stored digests are never modified in place, so sharing
// their slices with a renderer is safe.
func (x *Index) latest(n int) ([]model.Digest, uint64) {
	ds, _, gen := x.selectDigests(nil, 0, n)
	return ds, gen
}

// selectDigests returns up to n public digests that keep accepts (all when
// keep is nil), newest first, after skipping offset of them; the number of
// all that match; and the generation the result belongs to.
func (x *Index) selectDigests(keep func(*model.Digest) bool, offset, n int) ([]model.Digest, int, uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.settle()
	var ds []model.Digest
	total := 0
	for i := len(x.order) - 1; i >= 0; i-- {
		d := x.digests[x.order[i].id]
		if !x.public(&d) || (keep != nil && !keep(&d)) {
			continue
		}
		if total >= offset && total < offset+n {
			ds = append(ds, d)
		}
		total++
	}
	return ds, total, x.gen
}

// public reports whether readers may see d. The caller holds x.mu.
func (x *Index) public(d *model.Digest) bool {
	if !x.reviewMode {
		return true
	}
	return x.reviews[d.ID].Status == ReviewApproved
}

// corrected reports whether d is a correction of a version readers saw
// before. The caller holds x.mu (read or write).
func (x *Index) corrected(d *model.Digest) bool {
	if x.reviewMode {
		r, ok := x.reviews[d.ID]
		return ok && r.Status == ReviewApproved && r.FirstVersion > 0 && d.Version > r.FirstVersion
	}
	fv, ok := x.firstVersion[d.ID]
	return ok && d.Version > fv
}

// settle merges the pending keys into order. The caller holds x.mu.
func (x *Index) settle() {
	if len(x.pending) == 0 {
		return
	}
	p := make([]sortKey, 0, len(x.pending))
	for _, k := range x.pending {
		p = append(p, k)
	}
	slices.SortFunc(p, compareKeys)
	clear(x.pending)
	// Merge from the back, in place: new digests, usually the newest, then
	// cost no more than an append.
	n := len(x.order)
	x.order = slices.Grow(x.order, len(p))[:n+len(p)]
	i, j := n-1, len(p)-1
	for w := len(x.order) - 1; j >= 0; w-- {
		if i >= 0 && compareKeys(x.order[i], p[j]) > 0 {
			x.order[w], i = x.order[i], i-1
		} else {
			x.order[w], j = p[j], j-1
		}
	}
}

// generation returns the number of changes so far.
func (x *Index) generation() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.gen
}

// sortKey places a digest in Latest's order.
type sortKey struct {
	t  time.Time
	id string
}

func keyOf(d *model.Digest) sortKey {
	t := d.Source.PublishedAt
	if t.IsZero() {
		t = d.CreatedAt
	}
	return sortKey{t: t, id: d.ID}
}

// compareKeys orders keys oldest first; among equal times the greater ID
// comes first, so that reading backwards gives newest first, then by ID.
func compareKeys(a, b sortKey) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	return cmp.Compare(b.id, a.id)
}

// cloneDigest copies d's slices so that neither the caller nor the Index can
// change what the other holds.
func cloneDigest(d model.Digest) model.Digest {
	d.Bullets = slices.Clone(d.Bullets)
	d.Figures = slices.Clone(d.Figures)
	d.Source.Tags = slices.Clone(d.Source.Tags)
	return d
}

// pageURL is the address of a digest's HTML page.
func (x *Index) pageURL(id string) string {
	return x.baseURL + "/digests/" + url.PathEscape(id)
}
