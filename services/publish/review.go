package publish

import (
	"time"

	"github.com/bantin/bantin/internal/model"
)

// Review statuses.
const (
	// ReviewApproved: readers see the digest.
	ReviewApproved = "approved"
	// ReviewRejected: readers never see it.
	ReviewRejected = "rejected"
)

// ReviewRecord is an editor's decision on a digest, as kept in the review
// key-value bucket (key: digest id) that every replica watches.
type ReviewRecord struct {
	Status string `json:"status"`
	// Version is the digest version the decision was made on.
	Version int `json:"version"`
	// FirstVersion is the version readers first saw; later versions are
	// corrections. Zero until the digest is first approved.
	FirstVersion int       `json:"first_version,omitempty"`
	DecidedAt    time.Time `json:"decided_at"`
}

// SetReview records an editor's decision on the digest id, or forgets it
// when rec.Status is empty. It reports whether the Index changed.
func (x *Index) SetReview(id string, rec ReviewRecord) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.reviews[id]
	switch {
	case rec.Status == "" && !ok:
		return false
	case rec.Status == "":
		delete(x.reviews, id)
	case ok && old == rec:
		return false
	default:
		x.reviews[id] = rec
	}
	x.gen++
	return true
}

// Review returns the decision on the digest id, if any.
func (x *Index) Review(id string) (ReviewRecord, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	r, ok := x.reviews[id]
	return r, ok
}

// Drafts returns up to n digests that wait for an editor, newest first;
// nil when they cannot be read again from the stream (which is logged).
func (x *Index) Drafts(n int) []model.Digest {
	x.mu.Lock()
	x.settle()
	var refs []ref
	for i := len(x.order) - 1; i >= 0 && len(refs) < n; i-- {
		id := x.order[i].id
		if _, decided := x.reviews[id]; !decided {
			refs = append(refs, x.entries[id].ref())
		}
	}
	x.mu.Unlock()
	ds, err := x.fetch(refs)
	if err != nil {
		x.log.Error("reading the drafts failed", "err", err)
		return nil
	}
	for i := range ds {
		ds[i] = cloneDigest(ds[i])
	}
	return ds
}
