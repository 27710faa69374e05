// Package publish serves digests to readers: an in-memory Index of the
// digests on the DIGESTS stream, rendered as Atom, RSS 2.0 and JSON Feed 1.1
// feeds and as HTML pages.
//
// The Index knows nothing of NATS: whoever follows the stream calls PutAt
// (or Put) for every digest it sees, in any order and as often as it likes,
// and mounts Handler on an HTTP server. Every replica that reads the same
// stream ends up serving byte-identical feeds, so their ETags agree behind
// a load balancer.
//
// Its memory is bounded but for a slim entry a digest (ordering, topics,
// meetings, review state and search words, a few hundred bytes): with a
// Loader, it keeps the full form of the digests the daily roll-up shows
// and of those read recently, and reads any other again from the stream,
// by the sequence PutAt was given, when a page or feed needs it.
//
// Feeds and the index page are rendered at most once per change of the
// Index, on the first request after it, and served from cached bytes (plain
// and gzipped) with strong ETags and Last-Modified for conditional GET. The
// cache of topic outputs is bounded by bytes (IndexOptions.OutputCacheBytes).
package publish

import (
	"bytes"
	"cmp"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	// Loader reads a digest again by the stream sequence PutAt was given.
	// Without one, the Index keeps every digest in memory.
	Loader Loader
	// CacheSize is how many full digests that the Loader can read again
	// stay in memory, least recently used out first; 50 × MaxEntries
	// (the daily roll-up's reach) + DefaultCacheSize when zero or
	// negative. Feeds and pages are correct at any size, only slower
	// when it is smaller than what they show.
	CacheSize int
	// OutputCacheBytes bounds the rendered topic feeds and pages (every
	// page, format and limit of a site, body, tag or day, and the pages
	// past the first of everything) kept for conditional GET, counting
	// their plain and gzipped bytes, least recently used out first;
	// DefaultOutputCacheBytes when zero or negative. An output evicted is
	// rendered again, to the same bytes and ETag, when asked for.
	OutputCacheBytes int64
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

	mu sync.RWMutex
	// entries holds every digest's slim entry, by ID; full keeps the
	// full form of a bounded number of them, load reads the others again.
	entries map[string]*entry
	full    *fullStore
	load    Loader
	// loads counts digests read again with load, for tests.
	loads atomic.Int64
	// order holds the digests' keys, oldest first, as of the last read;
	// pending holds, by ID, the keys Put since then, so that replaying a
	// stream in any order costs one sort rather than one insertion per
	// digest. Each digest has its key in exactly one of them.
	order   []sortKey
	pending map[string]sortKey
	// gen counts changes; caches remember the gen they were built at.
	gen uint64
	// lex numbers the search syllables; strs interns sites and tags.
	lex  lexicon
	strs map[string]string
	// scratch is where PutAt encodes search words.
	scratch []byte
	// reviews holds editors' decisions, by digest id (review mode only).
	reviews map[string]ReviewRecord
	// failures are the newest dead letters, oldest first.
	failures []model.DeadLetter

	reviewMode bool
	hub        string
	onServe    func(string, bool)

	// outputs caches topic feeds and pages, bounded by bytes.
	outputs *outputCache

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
		entries:    make(map[string]*entry),
		load:       opts.Loader,
		pending:    make(map[string]sortKey),
		lex:        lexicon{ids: make(map[string]uint64)},
		strs:       make(map[string]string),
		reviews:    make(map[string]ReviewRecord),
		reviewMode: opts.Review,
		hub:        opts.Hub,
		onServe:    opts.OnServe,
		outputs:    newOutputCache(opts.OutputCacheBytes),
	}
	if x.title == "" {
		x.title = DefaultTitle
	}
	if x.maxEntries <= 0 {
		x.maxEntries = DefaultMaxEntries
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = dailyReach*x.maxEntries + DefaultCacheSize
	}
	x.full = newFullStore(opts.CacheSize)
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
// are ignored. A digest Put stays in memory in full; see PutAt.
func (x *Index) Put(d model.Digest) bool { return x.PutAt(d, 0) }

// PutAt is Put for a digest read from the stream at sequence seq, which
// the Index gives its Loader to read d again after dropping its full form
// from memory. With seq 0, or without a Loader, d stays in memory.
func (x *Index) PutAt(d model.Digest, seq uint64) bool {
	if d.ID == "" {
		return false
	}
	d = cloneDigest(d)
	e, words := newEntry(&d, seq)
	keep := seq == 0 || x.load == nil

	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.entries[d.ID]
	if ok {
		if d.Version < old.firstVersion {
			old.firstVersion = d.Version
		}
		if !supersedes(e, old) {
			if old.seq == 0 && seq != 0 && !keep && e.version == old.version && e.updatedAt.Equal(old.updatedAt) {
				// The stream's copy of a revision Put before (an
				// editor's edit): it can now leave memory.
				old.seq = seq
				x.full.add(seq, d, false)
			}
			return false
		}
		e.firstVersion = old.firstVersion
		if !old.key.t.Equal(e.key.t) {
			// The revision moves the digest: its key leaves order now,
			// or is overwritten in pending below.
			if i, found := slices.BinarySearchFunc(x.order, old.key, compareKeys); found {
				x.order = slices.Delete(x.order, i, i+1)
			}
			x.pending[d.ID] = e.key
		}
	} else {
		e.firstVersion = d.Version
		x.pending[d.ID] = e.key
	}
	e.site = x.intern(d.Source.Site)
	e.tags = x.internAll(d.Source.Tags)
	// Encoded in a scratch buffer, then copied: a slice grown by appends
	// would keep up to twice its length for good.
	x.scratch, _ = x.lex.encode(x.scratch[:0], words, true)
	e.words = bytes.Clone(x.scratch)
	x.entries[d.ID] = e
	x.full.add(seq, d, keep)
	x.gen++
	return true
}

// supersedes reports whether e is a later revision than old.
func supersedes(e, old *entry) bool {
	if e.version != old.version {
		return e.version > old.version
	}
	return e.updatedAt.After(old.updatedAt)
}

// Get returns the digest with the given id, reading it again from the
// stream when it is not in memory; false when there is none or it cannot
// be read (which is logged).
func (x *Index) Get(id string) (model.Digest, bool) {
	x.mu.RLock()
	e, ok := x.entries[id]
	var r ref
	if ok {
		r = e.ref()
	}
	x.mu.RUnlock()
	if !ok {
		return model.Digest{}, false
	}
	d, err := x.fetchOne(r)
	if err != nil {
		x.log.Error("reading a digest failed", "id", id, "err", err)
		return model.Digest{}, false
	}
	return cloneDigest(d), true
}

// version returns the version of the digest id the Index holds.
func (x *Index) version(id string) (int, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.entries[id]
	if !ok {
		return 0, false
	}
	return e.version, true
}

// getPublic returns the digest with the given id when readers may see it.
func (x *Index) getPublic(id string) (model.Digest, bool, error) {
	x.mu.RLock()
	e, ok := x.entries[id]
	ok = ok && x.public(id)
	var r ref
	if ok {
		r = e.ref()
	}
	x.mu.RUnlock()
	if !ok {
		return model.Digest{}, false, nil
	}
	d, err := x.fetchOne(r)
	if err != nil {
		return model.Digest{}, false, err
	}
	return cloneDigest(d), true, nil
}

// Len returns the number of digests in the Index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}

// Latest returns up to n public digests (all of them unless in review mode,
// else the approved ones), newest first: by Source.PublishedAt, or
// CreatedAt when that is unknown, then by ID. It returns nil when n <= 0,
// and when a digest cannot be read again (which is logged).
func (x *Index) Latest(n int) []model.Digest {
	ds, _, _, err := x.selectDigests(nil, 0, n)
	if err != nil {
		x.log.Error("reading the latest digests failed", "err", err)
		return nil
	}
	for i := range ds {
		ds[i] = cloneDigest(ds[i])
	}
	return ds
}

// selectDigests returns up to n public digests that keep accepts (all when
// keep is nil), newest first, after skipping offset of them; the number of
// all that match; and the generation the result belongs to. Stored digests
// are never modified in place, so sharing their slices with a renderer is
// safe.
func (x *Index) selectDigests(keep func(*entry) bool, offset, n int) ([]model.Digest, int, uint64, error) {
	refs, total, gen := x.selectRefs(keep, offset, n)
	ds, err := x.fetch(refs)
	if err != nil {
		return nil, 0, 0, err
	}
	return ds, total, gen, nil
}

// selectRefs is selectDigests without fetching the digests.
func (x *Index) selectRefs(keep func(*entry) bool, offset, n int) ([]ref, int, uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.settle()
	var refs []ref
	total := 0
	for i := len(x.order) - 1; i >= 0; i-- {
		e := x.entries[x.order[i].id]
		if !x.public(e.key.id) || (keep != nil && !keep(e)) {
			continue
		}
		if total >= offset && total < offset+n {
			refs = append(refs, e.ref())
		}
		total++
	}
	return refs, total, x.gen
}

// public reports whether readers may see the digest id. The caller holds
// x.mu.
func (x *Index) public(id string) bool {
	if !x.reviewMode {
		return true
	}
	return x.reviews[id].Status == ReviewApproved
}

// corrected reports whether d is a correction of a version readers saw
// before. The caller holds x.mu (read or write).
func (x *Index) corrected(d *model.Digest) bool {
	if x.reviewMode {
		r, ok := x.reviews[d.ID]
		return ok && r.Status == ReviewApproved && r.FirstVersion > 0 && d.Version > r.FirstVersion
	}
	e, ok := x.entries[d.ID]
	return ok && d.Version > e.firstVersion
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
	if len(x.pending) > 1024 {
		// A map keeps its buckets when cleared: let a replay's go.
		x.pending = make(map[string]sortKey)
	} else {
		clear(x.pending)
	}
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
