#!/usr/bin/env bash
# Puts a corpus into data/: a copy that is already on this machine, else a
# download from its official public repository. Checks line counts and the
# SHA-256 of the decompressed text, and writes nothing unless all files pass.
#   scripts/get-data.sh multi30k               # from ../shared/data/multi30k, else online
#   scripts/get-data.sh multi30k --from DIR    # from DIR (train.de.gz, val.en.gz, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/get-data.sh multi30k [--from DIR]" >&2; exit 2; }
[ "${1:-}" = multi30k ] || usage
shift
FROM=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || usage; FROM=$2; shift 2 ;;
    *) usage ;;
  esac
done
DEST=data/multi30k
# file, lines, sha256 of the decompressed text (Multi30k task 1, as released)
FILES="train.de.gz 29000 2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72
train.en.gz 29000 460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6
val.de.gz 1014 660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660
val.en.gz 1014 1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227
test_2016_flickr.de.gz 1000 4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16
test_2016_flickr.en.gz 1000 399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182"
URL=https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw

check() {  # dir: every file present, right line count and digest
  local dir=$1 f n sum
  while read -r f n sum; do
    [ -f "$dir/$f" ] || { echo "$dir/$f: missing"; return 1; }
    [ "$(zcat "$dir/$f" | wc -l)" = "$n" ] || { echo "$dir/$f: not $n lines"; return 1; }
    [ "$(zcat "$dir/$f" | sha256sum | cut -c1-64)" = "$sum" ] || { echo "$dir/$f: checksum differs"; return 1; }
  done <<< "$FILES"
}

if check "$DEST" >/dev/null 2>&1; then echo "get-data: $DEST is complete"; exit 0; fi
tmp=$(mktemp -d "${DEST%/*}/.multi30k.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=""
for cand in "$FROM" ../shared/data/multi30k; do
  [ -n "$cand" ] || continue
  if why=$(check "$cand"); then src=$cand; break; fi
  [ "$cand" = "$FROM" ] && { echo "get-data: --from $FROM: $why" >&2; exit 1; }
done
if [ -n "$src" ]; then
  cp "$src"/*.gz "$tmp"/
  echo "get-data: copied Multi30k from $src"
else
  fetch=""
  command -v curl >/dev/null && fetch="curl -fsSL --retry 2 -o"
  [ -z "$fetch" ] && command -v wget >/dev/null && fetch="wget -q -O"
  [ -n "$fetch" ] || { echo "get-data: no local copy (--from DIR or ../shared/data/multi30k) and neither curl nor wget to download Multi30k" >&2; exit 1; }
  while read -r f _; do
    $fetch "$tmp/$f" "$URL/$f" || { echo "get-data: no local copy (--from DIR or ../shared/data/multi30k) and the download of $URL/$f failed" >&2; exit 1; }
  done <<< "$FILES"
  echo "get-data: downloaded Multi30k from $URL"
fi
why=$(check "$tmp") || { echo "get-data: $why" >&2; exit 1; }
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "get-data: Multi30k train/val/test2016 in $DEST (line counts and checksums verified)"
