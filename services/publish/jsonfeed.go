package publish

import (
	"encoding/json"
	"fmt"
)

// JSON Feed 1.1 (https://jsonfeed.org/version/1.1) wire format.
// encoding/json escapes <, > and & in strings, so digest text stays inert
// even for a consumer that pastes it into a page.

const (
	contentTypeJSONFeed = "application/feed+json; charset=utf-8"
	jsonFeedVersion     = "https://jsonfeed.org/version/1.1"
	// feedDescription describes every feed, in the readers' language.
	feedDescription = "Tóm tắt các báo cáo, tài liệu đính kèm bài viết trên báo và cổng thông tin địa phương"
)

type jsonFeed struct {
	Version     string       `json:"version"`
	Title       string       `json:"title"`
	HomePageURL string       `json:"home_page_url,omitempty"`
	FeedURL     string       `json:"feed_url,omitempty"`
	NextURL     string       `json:"next_url,omitempty"`
	Description string       `json:"description,omitempty"`
	Language    string       `json:"language,omitempty"`
	Authors     []jsonAuthor `json:"authors,omitempty"`
	Hubs        []jsonHub    `json:"hubs,omitempty"`
	Items       []jsonItem   `json:"items"`
}

type jsonHub struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type jsonItem struct {
	ID            string           `json:"id"`
	URL           string           `json:"url,omitempty"`
	Title         string           `json:"title,omitempty"`
	ContentHTML   string           `json:"content_html"`
	Summary       string           `json:"summary,omitempty"`
	DatePublished string           `json:"date_published,omitempty"`
	DateModified  string           `json:"date_modified,omitempty"`
	Authors       []jsonAuthor     `json:"authors,omitempty"`
	Tags          []string         `json:"tags,omitempty"`
	Language      string           `json:"language,omitempty"`
	Attachments   []jsonAttachment `json:"attachments,omitempty"`
	Bantin        *jsonBantin      `json:"_bantin,omitempty"`
}

type jsonAuthor struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

type jsonAttachment struct {
	URL      string `json:"url"`
	MIMEType string `json:"mime_type"`
	Title    string `json:"title,omitempty"`
}

// jsonBantin is a JSON Feed extension (custom keys start with "_") with
// what a bot needs beyond a reader's view: the digest page and review state.
type jsonBantin struct {
	About        string `json:"about"`
	DigestID     string `json:"digest_id"`
	DigestURL    string `json:"digest_url"`
	ReportID     string `json:"report_id,omitempty"`
	Site         string `json:"site,omitempty"`
	Backend      string `json:"backend,omitempty"`
	NeedsReview  bool   `json:"needs_review"`
	ReviewReason string `json:"review_reason,omitempty"`
	Version      int    `json:"version"`
	Corrected    bool   `json:"corrected,omitempty"`
}

// newJSONFeed adapts the view to JSON Feed 1.1.
func (x *Index) newJSONFeed(v *feedView) *jsonFeed {
	f := &jsonFeed{
		Version:     jsonFeedVersion,
		Title:       v.title,
		HomePageURL: x.baseURL + v.topic.pagePath(),
		FeedURL:     x.feedURL(v, "json", v.page),
		Description: feedDescription,
		Language:    "vi",
		Authors:     []jsonAuthor{{Name: x.title, URL: x.baseURL + "/"}},
		Items:       make([]jsonItem, 0, len(v.entries)),
	}
	if x.hub != "" {
		f.Hubs = []jsonHub{{Type: "WebSub", URL: x.hub}}
	}
	if v.more {
		f.NextURL = x.feedURL(v, "json", v.page+1)
	}
	for i := range v.entries {
		e := &v.entries[i]
		it := jsonItem{
			ID:            e.URN,
			URL:           e.Link,
			Title:         e.Title,
			ContentHTML:   e.ContentHTML,
			Summary:       e.Digest.Summary,
			DatePublished: atomTime(e.Published),
			DateModified:  atomTime(e.Updated),
			Authors:       []jsonAuthor{{Name: e.Author}},
			Tags:          e.Categories,
			Language:      e.Digest.Language,
		}
		if e.Digest.ID != "" {
			it.Bantin = &jsonBantin{
				About:        "https://github.com/bantin/bantin",
				DigestID:     e.Digest.ID,
				DigestURL:    e.PageURL,
				ReportID:     e.Digest.ReportID,
				Site:         e.Digest.Source.Site,
				Backend:      e.Digest.Backend,
				NeedsReview:  e.Digest.NeedsReview,
				ReviewReason: e.Digest.ReviewReason,
				Version:      e.Digest.Version,
				Corrected:    e.Corrected,
			}
		}
		if e.AttachmentURL != "" {
			it.Attachments = []jsonAttachment{{URL: e.AttachmentURL, MIMEType: e.AttachmentType, Title: e.AttachmentName}}
		}
		f.Items = append(f.Items, it)
	}
	return f
}

// renderJSONFeed renders the view as a JSON Feed document.
func (x *Index) renderJSONFeed(v *feedView) ([]byte, error) {
	b, err := json.MarshalIndent(x.newJSONFeed(v), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding json feed: %w", err)
	}
	return append(b, '\n'), nil
}
