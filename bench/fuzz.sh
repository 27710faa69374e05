#!/usr/bin/env bash
# bench/fuzz.sh: run every fuzz target of bantin for a bounded time each and
# print a Markdown table of the results (for RELIABILITY.md).
#
#   bench/fuzz.sh            # 20s per target
#   FUZZTIME=2m bench/fuzz.sh
#
# A crasher is written by `go test` under the package's testdata/fuzz/ and
# is then run as an ordinary test by `go test ./...`: fix it and commit it.
set -u
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-20s}"
targets=(
  ./services/ingest/article:FuzzParse
  ./services/ingest/extract:FuzzExtract
  ./services/ingest/extract:FuzzParagraphs
  ./services/ingest/extract:FuzzPDF
  ./services/ingest/extract:FuzzDOCX
  ./services/ingest/extract:FuzzText
  ./internal/vnlegacy:FuzzDecode
  ./internal/vnlegacy:FuzzRepair
  ./internal/vntext:FuzzSplitSentences
  ./internal/vntext:FuzzFigures
  ./internal/vntext:FuzzParseNumber
  ./services/summarize/extractive:FuzzSummarize
  ./services/publish:FuzzFeeds
)
echo "Fuzzing run of $(date -u +%Y-%m-%d), ${FUZZTIME} per target, $(nproc) cores, $(go version | cut -d' ' -f3)"
echo
echo "| package | target | execs | new interesting | result |"
echo "| --- | --- | ---: | ---: | --- |"
failed=0
for t in "${targets[@]}"; do
  pkg="${t%%:*}" name="${t##*:}"
  log="$(mktemp)"
  if go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" >"$log" 2>&1; then
    result="no crash"
  else
    result="**failed**: $(grep -m1 -E 'Failing input written|--- FAIL|panic' "$log" | tr '|' '/')"
    failed=$((failed + 1))
  fi
  last="$(grep -E '^fuzz: elapsed' "$log" | tail -1)"
  execs="$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")"
  interesting="$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")"
  echo "| ${pkg#./} | ${name} | ${execs:-?} | ${interesting:-?} | ${result} |"
  rm -f "$log"
done
exit "$failed"
