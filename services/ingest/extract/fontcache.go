package extract

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ledongthuc/pdf"
)

// Font cache bounds, per document.
const (
	// maxCachedFontBytes bounds the estimated memory of the fonts one
	// document keeps parsed; past it the cache starts over.
	maxCachedFontBytes = 64 << 20
	// maxCachedFonts bounds the number of cache entries.
	maxCachedFonts = 4096
	// maxKeyNodes and maxKeyDepth bound the walk over a font's objects
	// that computes its content key; a font past them is keyed by object.
	maxKeyNodes = 5000
	maxKeyDepth = 10
	// maxKeyStreamBytes bounds the raw stream bytes hashed for one key.
	maxKeyStreamBytes = 16 << 20
)

// unreadFontKey reports whether text extraction never reads the value of
// the font-object key name (the embedded font programs and glyph maps):
// such values are left out of the content key, so fonts that differ only
// there share one parse.
func unreadFontKey(name string) bool {
	switch name {
	case "FontFile", "FontFile2", "FontFile3", "CIDSet", "CIDToGIDMap", "CharSet":
		return true
	}
	return false
}

// fontCache keeps the parsed fonts of one document, shared by the
// goroutines that read its pages: parsing a large ToUnicode CMap per page
// would dominate the run time of long reports.
//
// A font is found first by object: the font dictionary's printed form,
// which names its indirect objects ("/ToUnicode 96 0 R"), so distinct fonts
// do not collide. On a miss it is found by content: a SHA-256 over the
// font's objects, resolved, with the raw bytes of its streams, so the
// copies of one font that pdfunite or a mail-merge give every page are
// parsed once. A parsed font is never changed, so goroutines share it.
//
// The cache is bounded by maxCachedFonts entries and maxCachedFontBytes of
// estimated font size; when a new font would pass either bound, the cache
// is emptied and starts over (a document with that many distinct fonts is
// rare, and starting over costs only parse time, never output).
type fontCache struct {
	// src is what the pdf.Reader reads, for the raw bytes of streams; nil
	// turns content keys off (encrypted files: equal raw bytes in two
	// objects decrypt to different text).
	src io.ReaderAt

	mu        sync.Mutex
	byObject  map[string]*pdfFont
	byName    map[string]*pdfFont // by font resource dictionary and name (named)
	byContent map[[sha256.Size]byte]*pdfFont
	size      int64 // estimated bytes of the fonts held
	maxBytes  int64
	parsed    int // fonts parsed (for tests)
}

// newFontCache returns an empty cache for a document read from src (nil:
// fonts are found by object only).
func newFontCache(src io.ReaderAt) *fontCache {
	return &fontCache{
		src:       src,
		byObject:  map[string]*pdfFont{},
		byName:    map[string]*pdfFont{},
		byContent: map[[sha256.Size]byte]*pdfFont{},
		maxBytes:  maxCachedFontBytes,
	}
}

// named returns the font called name in the font resource dictionary
// fonts (a page's or a form's /Font), as get(fonts.Key(name)) does. Pages
// that share their resources, or have equal ones, find it by the
// dictionary's printed form (which names each font's object, "/F1 5 0 R")
// without resolving and printing the font dictionary again.
func (c *fontCache) named(fonts pdf.Value, name string) *pdfFont {
	if fonts.Kind() != pdf.Dict {
		return c.get(fonts.Key(name))
	}
	id := fonts.String() + "\x00" + name
	c.mu.Lock()
	f, ok := c.byName[id]
	c.mu.Unlock()
	if ok {
		return f
	}
	f = c.get(fonts.Key(name))
	c.mu.Lock()
	if len(c.byName) >= maxCachedFonts {
		clear(c.byName)
	}
	c.byName[id] = f
	c.mu.Unlock()
	return f
}

// get returns the font for a font dictionary, parsing it only when no
// font with the same objects or the same content was parsed before. A
// panic of the parser (a corrupt font) passes through and nothing is
// cached, as if the cache were not there.
func (c *fontCache) get(v pdf.Value) *pdfFont {
	if v.Kind() != pdf.Dict {
		return nil
	}
	id := v.String()
	c.mu.Lock()
	f, ok := c.byObject[id]
	c.mu.Unlock()
	if ok {
		return f
	}
	var key [sha256.Size]byte
	keyed := false
	if c.src != nil {
		key, keyed = fontKey(v, c.src)
	}
	if keyed {
		c.mu.Lock()
		f, ok = c.byContent[key]
		if ok {
			c.addLocked(id, nil, f, 0)
		}
		c.mu.Unlock()
		if ok {
			return f
		}
	}
	f = newPDFFont(v)
	var kp *[sha256.Size]byte
	if keyed {
		kp = &key
	}
	c.mu.Lock()
	c.parsed++
	c.addLocked(id, kp, f, f.memSize())
	c.mu.Unlock()
	return f
}

// addLocked stores f under id and, when key is not nil, under key; size is
// what f adds to the cache's estimate (0 for a font already held). c.mu
// must be held.
func (c *fontCache) addLocked(id string, key *[sha256.Size]byte, f *pdfFont, size int64) {
	if size > c.maxBytes {
		return // one font larger than the whole cache: do not keep it
	}
	if c.size+size > c.maxBytes || len(c.byObject)+1 > maxCachedFonts || len(c.byContent)+1 > maxCachedFonts {
		clear(c.byObject)
		clear(c.byContent)
		c.size = 0
		if key == nil {
			return // an alias of a font the reset dropped: let it be parsed again
		}
	}
	c.byObject[id] = f
	if key != nil {
		c.byContent[*key] = f
	}
	c.size += size
}

// memSize estimates the bytes a parsed font holds.
func (f *pdfFont) memSize() int64 {
	n := int64(256) + 8*int64(len(f.widths)) + 48*int64(len(f.cidWidths)) + 64*int64(len(f.glyphs))
	for _, m := range []*cmap{f.toUnicode, f.codeSpace} {
		if m == nil {
			continue
		}
		n += 96*int64(len(m.chars)) + 32*int64(len(m.space))
		for _, r := range m.ranges {
			n += 64 + 2*int64(len(r.base))
			for _, s := range r.array {
				n += 16 + int64(len(s))
			}
		}
	}
	return n
}

// fontKey computes the content key of a font dictionary: a SHA-256 over a
// canonical form of the dictionary and every object it reaches (sorted
// keys, references resolved, streams as their header and raw bytes),
// leaving out unreadFontKeys. ok is false when the font is too large or
// too deep to key, or a stream's bytes cannot be located; then the font is
// cached by object only.
func fontKey(v pdf.Value, src io.ReaderAt) (key [sha256.Size]byte, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // a corrupt object: key by object
		}
	}()
	k := keyWriter{h: sha256.New(), src: src, ok: true}
	k.value(v, 0)
	if !k.ok {
		return key, false
	}
	k.h.Sum(key[:0])
	return key, true
}

// keyWriter writes the canonical form of PDF objects into a hash.
type keyWriter struct {
	h           hash.Hash
	src         io.ReaderAt
	nodes       int
	streamBytes int64
	ok          bool
	buf         [9]byte
	copyBuf     []byte
}

func (k *keyWriter) tag(t byte, n uint64) {
	k.buf[0] = t
	binary.BigEndian.PutUint64(k.buf[1:], n)
	k.h.Write(k.buf[:])
}

func (k *keyWriter) str(t byte, s string) {
	k.tag(t, uint64(len(s)))
	io.WriteString(k.h, s)
}

func (k *keyWriter) value(v pdf.Value, depth int) {
	k.nodes++
	if !k.ok || k.nodes > maxKeyNodes || depth > maxKeyDepth {
		k.ok = false
		return
	}
	switch v.Kind() {
	case pdf.Null:
		k.tag('z', 0)
	case pdf.Bool:
		n := uint64(0)
		if v.Bool() {
			n = 1
		}
		k.tag('b', n)
	case pdf.Integer:
		k.tag('i', uint64(v.Int64()))
	case pdf.Real:
		k.tag('r', math.Float64bits(v.Float64()))
	case pdf.String:
		k.str('s', v.RawString())
	case pdf.Name:
		k.str('n', v.Name())
	case pdf.Array:
		n := v.Len()
		k.tag('a', uint64(n))
		for i := 0; i < n && k.ok; i++ {
			k.value(v.Index(i), depth+1)
		}
	case pdf.Dict:
		k.dict(v, 'd', depth)
	case pdf.Stream:
		k.dict(v, 'S', depth)
		k.raw(v)
	default:
		k.ok = false
	}
}

// dict writes a dictionary (or a stream's header) with sorted keys.
func (k *keyWriter) dict(v pdf.Value, t byte, depth int) {
	keys := v.Keys()
	sort.Strings(keys)
	k.tag(t, uint64(len(keys)))
	for _, name := range keys {
		if !k.ok {
			return
		}
		k.str('k', name)
		if unreadFontKey(name) {
			k.tag('x', 0) // present, not read: its value does not count
			continue
		}
		k.value(v.Key(name), depth+1)
	}
}

// raw hashes the undecoded bytes of stream v. The library does not expose
// them, but the printed form of a stream ends with "@offset", the offset
// of its data in the file, and /Length is its length.
func (k *keyWriter) raw(v pdf.Value) {
	s := v.String()
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		k.ok = false
		return
	}
	off, err := strconv.ParseInt(s[at+1:], 10, 64)
	n := v.Key("Length").Int64()
	if err != nil || off < 0 || n < 0 || k.streamBytes+n > maxKeyStreamBytes {
		k.ok = false
		return
	}
	k.streamBytes += n
	k.tag('R', uint64(n))
	if n == 0 {
		return
	}
	if k.copyBuf == nil {
		k.copyBuf = make([]byte, 8192)
	}
	if got, err := io.CopyBuffer(k.h, io.NewSectionReader(k.src, off, n), k.copyBuf); err != nil || got != n {
		k.ok = false
	}
}
