#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Picks the fuzz inputs worth keeping (make fuzz-merge).

    cover.py CONTROL_FILE CORPUS_DIR [MAX_FILES]

CONTROL_FILE is what `<target> -set_cover_merge=1 -merge_control_file=F
OUT CORPUS_DIR FOUND_DIR...` left: every input with the coverage features
it reaches. The inputs already in CORPUS_DIR are kept; of the others, the
one that reaches the most code edges (features that are program counters)
not yet reached is copied into CORPUS_DIR, named by its SHA-1 as libFuzzer
names inputs, again and again until none reaches anything new or
CORPUS_DIR holds MAX_FILES files (default 48). Hit counts and other
features do not count, so that the corpus stays small.
"""
import hashlib
import os
import shutil
import sys


def main():
    control, corpus = sys.argv[1], sys.argv[2]
    room = int(sys.argv[3]) if len(sys.argv) > 3 else 48
    room -= len(os.listdir(corpus))
    with open(control) as f:
        lines = f.read().splitlines()
    n = int(lines[0])
    files = lines[2:2 + n]
    feats, pcs = {}, set()
    for line in lines[2 + n:]:
        kind, _, rest = line.partition(" ")
        if kind not in ("FT", "COV"):
            continue
        idx, *vals = rest.split()
        if kind == "FT":
            feats[int(idx)] = set(map(int, vals))
        else:
            pcs.update(map(int, vals))
    corpus_abs = os.path.abspath(corpus)
    kept = [i for i in feats
            if os.path.dirname(os.path.abspath(files[i])) == corpus_abs]
    covered = set()
    for i in kept:
        covered |= feats[i] & pcs
    rest = {i: feats[i] & pcs for i in feats if i not in kept}
    added = 0
    while True:
        best = max(rest, key=lambda i: (len(rest[i] - covered),
                                        -os.path.getsize(files[i])),
                   default=None)
        if best is None or not rest[best] - covered or added >= room:
            break
        covered |= rest.pop(best)
        with open(files[best], "rb") as f:
            name = hashlib.sha1(f.read()).hexdigest()
        shutil.copyfile(files[best], os.path.join(corpus, name))
        added += 1
    left = set().union(*rest.values()) - covered if rest else set()
    print(f"{corpus}: {len(kept)} kept, {added} added, "
          f"{len(covered)} edges ({len(left)} more in inputs left out)")


if __name__ == "__main__":
    main()
