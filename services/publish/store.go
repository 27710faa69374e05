package publish

import (
	"bytes"
	"container/list"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

// Loader reads again the digest that PutAt was given with the stream
// sequence seq. The publish service reads it from the DIGESTS stream.
type Loader func(ctx context.Context, seq uint64) (model.Digest, error)

// DefaultCacheSize is how many full digests an Index with a Loader keeps
// in memory beyond those needed by the daily roll-up (50 × MaxEntries)
// when IndexOptions.CacheSize is not set: room for pages readers open.
const DefaultCacheSize = 500

// loadTimeout bounds the reading of the digests one page or feed needs.
const loadTimeout = 30 * time.Second

// entry is what the Index keeps of every digest, whether or not its full
// form is in memory: what ordering, revisions, topics, meetings, review
// and search need. About 570 bytes with the map, the order and its share of
// the lexicon, against some 2 KiB for a decoded digest (see
// BenchmarkEntryBytes).
type entry struct {
	key sortKey
	// seq is the stream sequence of this revision, 0 when it was Put
	// without one (then its full form stays in memory).
	seq       uint64
	version   int
	updatedAt time.Time
	// firstVersion is the lowest version seen; a later one is a
	// correction. In review mode the review record says instead.
	firstVersion int
	site         string
	tags         []string
	// bodies has bit i set when issuingBodies[i] is named.
	bodies uint16
	// meeting is meetingKey of the digest, "" when none.
	meeting string
	// words is the folded search text as the dictionary's ids of its
	// syllables, each an unsigned varint.
	words []byte
}

// ref is an entry as a reader sees it after x.mu is released: enough to
// fetch its full form and to group it by day.
type ref struct {
	id  string
	seq uint64
	t   time.Time
}

func (e *entry) ref() ref { return ref{id: e.key.id, seq: e.seq, t: e.key.t} }

// hasBody reports whether the digest names the issuing body slug.
func (e *entry) hasBody(slug string) bool {
	for i, b := range issuingBodies {
		if b.slug == slug {
			return e.bodies&(1<<i) != 0
		}
	}
	return false
}

// bodySlugs returns the slugs of the issuing bodies the digest names, in
// issuingBodies' order, as detectBodies does.
func (e *entry) bodySlugs() []string {
	var out []string
	for i, b := range issuingBodies {
		if e.bodies&(1<<i) != 0 {
			out = append(out, b.slug)
		}
	}
	return out
}

// newEntry builds d's entry, apart from what needs the Index's lock:
// interned strings and the search words. It returns d's search syllables.
func newEntry(d *model.Digest, seq uint64) (*entry, []string) {
	e := &entry{
		key:       keyOf(d),
		seq:       seq,
		version:   d.Version,
		updatedAt: d.UpdatedAt,
		meeting:   meetingKey(d),
	}
	for _, b := range detectBodies(d) {
		for i := range issuingBodies {
			if issuingBodies[i].slug == b {
				e.bodies |= 1 << i
			}
		}
	}
	return e, searchSyllables(d)
}

// searchSyllables are the folded syllables search looks in: of the title,
// summary and bullets.
func searchSyllables(d *model.Digest) []string {
	parts := []string{d.Title, d.Source.ArticleTitle, d.Summary}
	for _, b := range d.Bullets {
		parts = append(parts, b.Text)
	}
	return vntext.Syllables(vntext.Fold(strings.Join(parts, "\n")))
}

// lexicon numbers the folded syllables of every digest, so that an entry
// keeps its search text as varint ids: about 1.1 bytes a syllable on the
// soak's digests and 1.5 on news articles, against 4.4 for the folded text
// itself. Varints are self-delimiting, so a phrase is a run of syllables
// when its encoding occurs at a syllable boundary (see containsSyllables). The
// ids depend on the order digests arrive in, which nothing outside the
// Index sees. It is guarded by the Index's mu.
type lexicon struct {
	ids map[string]uint64
}

// encode appends the ids of words to dst. Unknown words get a new id when
// add is set; otherwise encode reports false, as no digest has them.
func (l *lexicon) encode(dst []byte, words []string, add bool) ([]byte, bool) {
	for _, w := range words {
		id, ok := l.ids[w]
		if !ok {
			if !add {
				return dst, false
			}
			id = uint64(len(l.ids))
			// A syllable is a slice of the whole folded text: clone it so
			// that the text is not kept alive by the key.
			l.ids[strings.Clone(w)] = id
		}
		dst = binary.AppendUvarint(dst, id)
	}
	return dst, true
}

// containsSyllables reports whether the encoded syllables text hold the encoded
// run of whole syllables. A match must start at a syllable boundary: at
// the start, or after a byte that ends a varint (high bit clear). It always
// ends at one, as run's last byte ends a varint.
func containsSyllables(text, run []byte) bool {
	for off := 0; ; {
		i := bytes.Index(text[off:], run)
		if i < 0 {
			return false
		}
		if p := off + i; p == 0 || text[p-1]&0x80 == 0 {
			return true
		}
		off += i + 1
	}
}

// fullStore keeps the full form of a bounded number of digests: an LRU of
// those the Loader can read again, and every one that it cannot (Put
// without a sequence, or an Index without a Loader). It has its own lock,
// taken after the Index's mu when both are held.
type fullStore struct {
	mu   sync.Mutex
	max  int
	lru  list.List // of *fullItem, most recently used first
	byID map[string]*fullItem
	// kept counts the items not in lru.
	kept int
}

type fullItem struct {
	seq  uint64
	d    model.Digest
	elem *list.Element // nil when kept for good
}

func newFullStore(max int) *fullStore {
	return &fullStore{max: max, byID: make(map[string]*fullItem)}
}

// get returns the digest id at sequence seq when it is in memory, marking
// it recently used.
func (s *fullStore) get(id string, seq uint64) (model.Digest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.byID[id]
	if !ok || it.seq != seq {
		return model.Digest{}, false
	}
	if it.elem != nil {
		s.lru.MoveToFront(it.elem)
	}
	return it.d, true
}

// add keeps d, read at seq, replacing any other revision of it; for good
// when keep is set, else in the LRU, evicting the least recently used past
// the bound.
func (s *fullStore) add(seq uint64, d model.Digest, keep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(d.ID)
	it := &fullItem{seq: seq, d: d}
	s.byID[d.ID] = it
	if keep {
		s.kept++
		return
	}
	it.elem = s.lru.PushFront(it)
	for s.lru.Len() > s.max {
		old := s.lru.Remove(s.lru.Back()).(*fullItem)
		delete(s.byID, old.d.ID)
	}
}

func (s *fullStore) removeLocked(id string) {
	it, ok := s.byID[id]
	if !ok {
		return
	}
	delete(s.byID, id)
	if it.elem != nil {
		s.lru.Remove(it.elem)
	} else {
		s.kept--
	}
}

// inMemory returns how many digests the Index holds in full.
func (x *Index) inMemory() int {
	cached, kept := x.full.counts()
	return cached + kept
}

// counts returns how many digests the LRU holds and how many are kept for
// good.
func (s *fullStore) counts() (cached, kept int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Len(), s.kept
}

// fetch returns the full digests of refs, in order: from memory, or read
// again with the Loader. The caller must not hold x.mu.
func (x *Index) fetch(refs []ref) ([]model.Digest, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	ds := make([]model.Digest, len(refs))
	var ctx context.Context
	for i, r := range refs {
		d, ok := x.full.get(r.id, r.seq)
		if !ok && r.seq == 0 {
			// A revision replaced a digest that cannot be read again
			// since refs were taken: show the revision. The caller's
			// generation is stale, so its result is built again soon.
			x.mu.RLock()
			if e, found := x.entries[r.id]; found {
				r = e.ref()
			}
			x.mu.RUnlock()
			d, ok = x.full.get(r.id, r.seq)
		}
		if ok {
			ds[i] = d
			continue
		}
		if x.load == nil || r.seq == 0 {
			return nil, fmt.Errorf("digest %s is neither in memory nor readable again: the index has no loader", r.id)
		}
		if ctx == nil {
			c, cancel := context.WithTimeout(context.Background(), loadTimeout)
			defer cancel()
			ctx = c
		}
		d, err := x.load(ctx, r.seq)
		if err != nil {
			return nil, fmt.Errorf("reading digest %s again from stream sequence %d: %w", r.id, r.seq, err)
		}
		if d.ID != r.id {
			return nil, fmt.Errorf("stream sequence %d holds digest %q, not %s: was the stream replaced? restart publish to rebuild its index", r.seq, d.ID, r.id)
		}
		d = cloneDigest(d)
		ds[i] = d
		x.mu.RLock()
		if e, found := x.entries[r.id]; found && e.seq == r.seq {
			x.full.add(r.seq, d, false)
		}
		x.mu.RUnlock()
		x.loads.Add(1)
	}
	return ds, nil
}

// fetchOne returns the full digest of r.
func (x *Index) fetchOne(r ref) (model.Digest, error) {
	ds, err := x.fetch([]ref{r})
	if err != nil {
		return model.Digest{}, err
	}
	return ds[0], nil
}

// intern returns s, or an equal string the Index already holds, so that
// the sites and tags of thousands of entries share their bytes. The caller
// holds x.mu.
func (x *Index) intern(s string) string {
	if v, ok := x.strs[s]; ok {
		return v
	}
	s = strings.Clone(s)
	x.strs[s] = s
	return s
}

// internAll interns every string of ss, in a new slice.
func (x *Index) internAll(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := slices.Clone(ss)
	for i, s := range out {
		out[i] = x.intern(s)
	}
	return out
}
