#!/usr/bin/env python3
"""Prints what the browser downloads to hydrate each page, compressed with brotli at quality 11
(as the server serves it precompressed).

With a `--split` build (see `src/ui/app.rs`) a page needs the main module (`tariff.<hash>.wasm`
with its JS glue), the stylesheet, the split loader (`__wasm_split.<hash>.js`) and the modules
the split manifest names for the page's route, as one file when `scripts/page_packs.py` packed
them (`page_packs.json`); without a split build, every page needs the whole bundle.
Prints one line per page and the total of every file under pkg/.

Usage: bundle_size.py PKG_DIR
"""

import glob
import json
import os
import subprocess
import sys

pkg = sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg"
_sizes = {}


def brotli_size(path):
    if path not in _sizes:
        with open(path, "rb") as f:
            data = f.read()
        try:
            import brotli  # type: ignore

            _sizes[path] = len(brotli.compress(data, quality=11))
        except ImportError:
            out = subprocess.run(["brotli", "-c", "-q", "11"], input=data, check=True, capture_output=True).stdout
            _sizes[path] = len(out)
    return _sizes[path]


def one(pattern):
    found = [p for p in glob.glob(os.path.join(pkg, pattern)) if not p.endswith((".br", ".gz"))]
    return found[0] if len(found) == 1 else None


def kb(n):
    return f"{n / 1024:7.1f} KB"


main = [p for p in (one("tariff.*.wasm") or one("tariff.wasm"), one("tariff.*.js") or one("tariff.js"),
                    one("*.css")) if p]
loader = one("__wasm_split.*.js")
manifest_path = one("__wasm_split_manifest*.json")
frame = main + ([loader] if loader else [])
frame_br = sum(brotli_size(p) for p in frame)
frame_raw = sum(os.path.getsize(p) for p in frame)
print(f"          frame (main wasm + JS + CSS + split loader) {frame_raw:>10} bytes   brotli {kb(frame_br)}")

if manifest_path:
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    # Page packs (scripts/page_packs.py): a page downloads its modules as one file.
    packs_path = os.path.join(pkg, "page_packs.json")
    packs = {}
    if os.path.isfile(packs_path):
        with open(packs_path, encoding="utf-8") as f:
            packs = json.load(f)
    pages = []
    for split, modules in manifest.items():
        if split in packs:
            files = [os.path.join(pkg, packs[split])]
        else:
            files = [os.path.join(pkg, m + ".wasm") for m in modules]
        page_br = frame_br + sum(brotli_size(p) for p in files)
        name = split.strip("_").rsplit("_view_", 1)[0].removesuffix("_route")
        pages.append((page_br, name, len(modules), split in packs))
    for page_br, name, count, packed in sorted(pages, key=lambda p: p[1]):
        how = "in one pack" if packed else "one by one "
        print(f"          page {name:<28} frame + {count:3} modules {how}   brotli {kb(page_br)}")
    largest = max(pages)
    print(f"          largest page: {largest[1]}, {kb(largest[0])} with brotli")

everything = [p for p in glob.glob(os.path.join(pkg, "*")) if p.endswith((".wasm", ".wasmpack", ".js", ".css"))]
total_br = sum(brotli_size(p) for p in everything)
total_raw = sum(os.path.getsize(p) for p in everything)
print(f"          every file of pkg/ ({len(everything)} files)   {total_raw:>10} bytes   brotli {kb(total_br)}")
