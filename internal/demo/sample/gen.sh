#!/bin/sh
# Regenerates the demo's attachment PDFs from their HTML sources in src/
# with LibreOffice (Debian: libreoffice-writer-nogui, fonts-liberation2).
# Liberation Serif (metric-compatible with Times New Roman, which official
# Vietnamese documents use) has every Vietnamese glyph, and LibreOffice
# writes it with a ToUnicode map, so ledongthuc/pdf and pdftotext read the
# text back intact.
set -eu
cd "$(dirname "$0")"
command -v soffice >/dev/null || { echo "gen.sh: soffice not found (apt-get install libreoffice-writer-nogui fonts-liberation2)" >&2; exit 1; }
fc-list | grep -q "Liberation Serif" || { echo "gen.sh: font Liberation Serif not found (apt-get install fonts-liberation2)" >&2; exit 1; }
# A private profile keeps the run independent of (and from locking) the
# user's LibreOffice settings.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for src in src/*.html; do
	pdf=$(basename "$src" .html).pdf
	rm -f "$pdf"
	soffice -env:UserInstallation="file://$profile" --headless \
		--infilter="HTML (StarWriter)" --convert-to pdf:writer_pdf_Export \
		--outdir . "$src" >"$profile/log" 2>&1 || true
	[ -s "$pdf" ] || { cat "$profile/log" >&2; echo "gen.sh: $src was not converted" >&2; exit 1; }
	echo "wrote $pdf"
done
