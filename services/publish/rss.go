package publish

import (
	"encoding/xml"
	"time"
)

// RSS 2.0 wire format, with the Atom self link and Dublin Core creator that
// validators and readers expect. The prefixed names ("atom:link") are
// declared on the root element: readers that ignore namespaces then still
// tell atom:link from the channel's own link.

const contentTypeRSS = "application/rss+xml; charset=utf-8"

type rssFeed struct {
	XMLName   xml.Name   `xml:"rss"`
	Version   string     `xml:"version,attr"`
	XMLNSAtom string     `xml:"xmlns:atom,attr"`
	XMLNSDC   string     `xml:"xmlns:dc,attr"`
	Channel   rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string     `xml:"title"`
	Link          string     `xml:"link"`
	Description   string     `xml:"description"`
	Language      string     `xml:"language,omitempty"`
	LastBuildDate string     `xml:"lastBuildDate,omitempty"`
	Generator     string     `xml:"generator,omitempty"`
	Docs          string     `xml:"docs,omitempty"`
	AtomLinks     []atomLink `xml:"atom:link"`
	Items         []rssItem  `xml:"item"`
}

type rssItem struct {
	Title       string        `xml:"title"`
	Link        string        `xml:"link"`
	Description string        `xml:"description"`
	Creator     string        `xml:"dc:creator,omitempty"`
	Categories  []string      `xml:"category"`
	Enclosure   *rssEnclosure `xml:"enclosure,omitempty"`
	GUID        rssGUID       `xml:"guid"`
	PubDate     string        `xml:"pubDate,omitempty"`
}

type rssEnclosure struct {
	URL string `xml:"url,attr"`
	// Length is required by RSS 2.0; "0" says it is unknown (RSS Advisory
	// Board best practice), as ingest does not pass the size along.
	Length string `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

// rssTime formats t as RFC 822 (with a four-digit year), in UTC.
func rssTime(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

// newRSSFeed adapts the view to RSS 2.0.
func (x *Index) newRSSFeed(v *feedView) *rssFeed {
	f := &rssFeed{
		Version:   "2.0",
		XMLNSAtom: "http://www.w3.org/2005/Atom",
		XMLNSDC:   "http://purl.org/dc/elements/1.1/",
		Channel: rssChannel{
			Title:         v.title,
			Link:          x.baseURL + v.topic.pagePath(),
			Description:   feedDescription,
			Language:      "vi",
			LastBuildDate: rssTime(feedUpdated(v)),
			Generator:     "bantin",
			Docs:          "https://www.rssboard.org/rss-specification",
			AtomLinks:     []atomLink{{Rel: "self", Type: "application/rss+xml", Href: x.feedURL(v, "rss", v.page)}},
			Items:         make([]rssItem, 0, len(v.entries)),
		},
	}
	if x.hub != "" {
		f.Channel.AtomLinks = append(f.Channel.AtomLinks, atomLink{Rel: "hub", Href: x.hub})
	}
	if v.more {
		f.Channel.AtomLinks = append(f.Channel.AtomLinks, atomLink{Rel: "next", Type: "application/rss+xml", Href: x.feedURL(v, "rss", v.page+1)})
	}
	for i := range v.entries {
		e := &v.entries[i]
		it := rssItem{
			Title:       e.Title,
			Link:        e.Link,
			Description: e.ContentHTML,
			Creator:     e.Author,
			Categories:  e.Categories,
			GUID:        rssGUID{IsPermaLink: false, Value: e.URN},
			PubDate:     rssTime(e.Published),
		}
		if e.AttachmentURL != "" {
			it.Enclosure = &rssEnclosure{URL: e.AttachmentURL, Length: "0", Type: e.AttachmentType}
		}
		f.Channel.Items = append(f.Channel.Items, it)
	}
	return f
}

// renderRSS renders the view as an RSS 2.0 document.
func (x *Index) renderRSS(v *feedView) ([]byte, error) {
	return marshalXML(x.newRSSFeed(v))
}
