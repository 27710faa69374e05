// Command bantin turns the reports attached to Vietnamese meeting articles
// into short digests served as feeds. See `bantin help`.
package main

import (
	"context"
	"os"

	"github.com/bantin/bantin/internal/cli"
)

func main() { os.Exit(cli.Run(context.Background(), os.Args[1:])) }
