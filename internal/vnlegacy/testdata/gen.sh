#!/bin/sh
# Regenerates the legacy-encoding fixtures from independent converters.
# Not run by the tests; the outputs are committed.
#
#   unicode.txt      the bodies of the first 5 articles of the VietNews
#                    sample in the shared corpus (text/vietnews_test_sample.jsonl),
#                    with the capitals that carry a tone mark written small
#                    (TCVN3 table VN3 has no code for them; the .VnTimeH
#                    fonts draw them instead) and typographic quotes,
#                    dashes and ellipses in ASCII
#   tcvn3-iconv.bin  unicode.txt encoded by GNU libc iconv, TCVN5712-1
#   tcvn3-npm.bin    unicode.txt encoded by the npm package
#                    vietnamese-conversion 2.0.0 (MIT), toTCVN3
#   vni-npm.bin      unicode.txt encoded by the same package, toVNI
#
# Usage: BANTIN_CORPUS=/path/to/shared/corpus NODE_PATH=/dir/with/node_modules sh gen.sh
set -eu
cd "$(dirname "$0")"
python3 - "$BANTIN_CORPUS/text/vietnews_test_sample.jsonl" <<'PY'
import json, sys, unicodedata
keep = set("ĂÂÊÔƠƯĐ")
out = []
for line in open(sys.argv[1], encoding="utf-8").readlines()[:5]:
    text = unicodedata.normalize("NFC", json.loads(line)["text"])
    text = "".join(c.lower() if c.isupper() and ord(c) > 127 and c not in keep else c for c in text)
    for a, b in (("“", '"'), ("”", '"'), ("…", "..."), ("–", "-")):
        text = text.replace(a, b)  # no code for them in VN3
    out.append(text)
open("unicode.txt", "w", encoding="utf-8").write("\n\n".join(out) + "\n")
PY
iconv -f UTF-8 -t TCVN5712-1 unicode.txt > tcvn3-iconv.bin
node -e '
const fs = require("fs");
const vc = require("vietnamese-conversion");
const s = fs.readFileSync("unicode.txt", "utf8");
fs.writeFileSync("tcvn3-npm.bin", Buffer.from(vc.toTCVN3(s, "unicode"), "latin1"));
fs.writeFileSync("vni-npm.bin", Buffer.from(vc.toVNI(s, "unicode"), "latin1"));
'
