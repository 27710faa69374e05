package cli

import (
	"flag"

	"github.com/bantin/bantin/services/ingest"
)

// ingestRoleOptions are the flags of the running ingest role (ingest, all):
// what it does on its own besides answering the API.
type ingestRoleOptions struct {
	sourcesFile string
	watchDir    string
}

func ingestRoleFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.ingestRole.sourcesFile, "sources", "", "YAML file of sites to poll for new articles and attachments (listing pages, RSS/Atom feeds, selectors); see examples/sources.yaml")
	fs.StringVar(&o.ingestRole.watchDir, "watch", "", "folder whose new files are ingested and moved to DIR/done, or to DIR/failed with NAME.reason.txt")
}

// ingestRoleConfig is ingestConfig plus the sources and the watched folder.
func (o *options) ingestRoleConfig() (ingest.Config, error) {
	cfg := o.ingestConfig()
	if o.ingestRole.sourcesFile != "" {
		srcs, err := ingest.LoadSources(o.ingestRole.sourcesFile)
		if err != nil {
			return cfg, err
		}
		cfg.Sources = srcs
	}
	cfg.WatchDir = o.ingestRole.watchDir
	return cfg, nil
}
