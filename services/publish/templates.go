package publish

import (
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

// templates are the parsed HTML templates: one set per page, each with the
// shared layout, and the fragment that is the content of feed entries.
type templates struct {
	home, digest, notFound, list, failures, review, login *template.Template
	content, daily, failure                               *template.Template
}

// parseTemplates parses the embedded templates. They are part of the
// binary, so failing to parse them is a bug that every test catches, not a
// runtime condition.
func parseTemplates(loc *time.Location) templates {
	funcs := template.FuncMap{
		"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		// localtime is how Vietnamese readers write a time: 15:34 01/12/2023.
		"localtime": func(t time.Time) string { return t.In(loc).Format("15:04 02/01/2006") },
		// pages names source pages the Vietnamese way: "trang 3", "các trang 1, 2, 5".
		"pages": pageList,
	}
	page := func(name string) *template.Template {
		return template.Must(template.New(name).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name))
	}
	fragment := func(name string) *template.Template {
		return template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/"+name))
	}
	return templates{
		home:     page("home.html"),
		digest:   page("digest.html"),
		notFound: page("notfound.html"),
		list:     page("list.html"),
		failures: page("failures.html"),
		review:   page("review.html"),
		login:    page("login.html"),
		content:  fragment("content.html"),
		daily:    fragment("daily.html"),
		failure:  fragment("failure.html"),
	}
}

// pageList names source pages: "trang 3", "các trang 1, 2, 5".
func pageList(pages []int) string {
	if len(pages) == 1 {
		return fmt.Sprintf("trang %d", pages[0])
	}
	parts := make([]string, len(pages))
	for i, p := range pages {
		parts[i] = fmt.Sprint(p)
	}
	return "các trang " + strings.Join(parts, ", ")
}
