package publish

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"
)

// Atom (RFC 4287) wire format. Only what bantin writes is modelled; all text
// goes through encoding/xml, which escapes it, so digest text can never
// become markup in the feed.

const contentTypeAtom = "application/atom+xml; charset=utf-8"

type atomFeed struct {
	XMLName   xml.Name       `xml:"http://www.w3.org/2005/Atom feed"`
	Lang      string         `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
	ID        string         `xml:"id"`
	Title     atomText       `xml:"title"`
	Subtitle  *atomText      `xml:"subtitle,omitempty"`
	Updated   string         `xml:"updated"`
	Links     []atomLink     `xml:"link"`
	Author    *atomPerson    `xml:"author,omitempty"`
	Generator *atomGenerator `xml:"generator,omitempty"`
	Entries   []atomEntry    `xml:"entry"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      atomText       `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published,omitempty"`
	Authors    []atomPerson   `xml:"author"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Summary    *atomText      `xml:"summary,omitempty"`
	Content    *atomText      `xml:"content,omitempty"`
}

// atomText is an Atom text construct; Type is "text" or "html" (html is
// carried escaped, never as CDATA).
type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Body string `xml:",chardata"`
}

type atomLink struct {
	Rel   string `xml:"rel,attr,omitempty"`
	Type  string `xml:"type,attr,omitempty"`
	Href  string `xml:"href,attr"`
	Title string `xml:"title,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomGenerator struct {
	URI  string `xml:"uri,attr,omitempty"`
	Name string `xml:",chardata"`
}

// atomTime formats t as an RFC 3339 date-time in UTC.
func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// feedUpdated is when the feed last changed: its newest entry's Updated, or
// the Unix epoch for an empty feed, so that the output stays deterministic.
func feedUpdated(v *feedView) time.Time {
	if v.updated.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return v.updated
}

// newAtomFeed adapts the view to Atom.
func (x *Index) newAtomFeed(v *feedView) *atomFeed {
	f := &atomFeed{
		Lang:    "vi",
		ID:      v.topic.urn(),
		Title:   atomText{Type: "text", Body: v.title},
		Updated: atomTime(feedUpdated(v)),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: x.feedURL(v, "atom", v.page)},
			{Rel: "alternate", Type: "text/html", Href: x.baseURL + v.topic.pagePath()},
		},
		Author:    &atomPerson{Name: x.title, URI: x.baseURL + "/"},
		Generator: &atomGenerator{Name: "bantin"},
		Entries:   make([]atomEntry, 0, len(v.entries)),
	}
	if x.hub != "" {
		f.Links = append(f.Links, atomLink{Rel: "hub", Href: x.hub})
	}
	// RFC 5005 paging: first, previous and next pages of an archive.
	if v.page > 0 {
		f.Links = append(f.Links,
			atomLink{Rel: "first", Type: "application/atom+xml", Href: x.feedURL(v, "atom", 0)},
			atomLink{Rel: "previous", Type: "application/atom+xml", Href: x.feedURL(v, "atom", v.page-1)})
	}
	if v.more {
		f.Links = append(f.Links, atomLink{Rel: "next", Type: "application/atom+xml", Href: x.feedURL(v, "atom", v.page+1)})
	}
	for i := range v.entries {
		f.Entries = append(f.Entries, newAtomEntry(&v.entries[i]))
	}
	return f
}

func newAtomEntry(e *digestView) atomEntry {
	a := atomEntry{
		ID:        e.URN,
		Title:     atomText{Type: "text", Body: e.Title},
		Updated:   atomTime(e.Updated),
		Published: atomTime(e.Published),
		Authors:   []atomPerson{{Name: e.Author}},
		Links:     []atomLink{{Rel: "alternate", Type: "text/html", Href: e.Link}},
		Content:   &atomText{Type: "html", Body: e.ContentHTML},
	}
	if e.Digest.ID != "" && e.Link != e.PageURL {
		a.Links = append(a.Links, atomLink{Rel: "related", Type: "text/html", Href: e.PageURL, Title: "Bản tin"})
	}
	if e.AttachmentURL != "" {
		a.Links = append(a.Links,
			atomLink{Rel: "related", Type: e.AttachmentType, Href: e.AttachmentURL, Title: e.AttachmentName},
			atomLink{Rel: "enclosure", Type: e.AttachmentType, Href: e.AttachmentURL, Title: e.AttachmentName},
		)
	}
	for _, c := range e.Categories {
		a.Categories = append(a.Categories, atomCategory{Term: c})
	}
	if e.Digest.Summary != "" {
		a.Summary = &atomText{Type: "text", Body: e.Digest.Summary}
	}
	return a
}

// renderAtom renders the view as an Atom document.
func (x *Index) renderAtom(v *feedView) ([]byte, error) {
	return marshalXML(x.newAtomFeed(v))
}

// marshalXML writes v as an indented UTF-8 XML document.
func marshalXML(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}
