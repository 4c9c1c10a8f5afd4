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


def brotli_bytes(data, quality):
    try:
        import brotli  # type: ignore

        return len(brotli.compress(data, quality=quality))
    except ImportError:
        out = subprocess.run(["brotli", "-c", "-q", str(quality)], input=data, check=True, capture_output=True).stdout
        return len(out)


def brotli_size(path):
    if path not in _sizes:
        with open(path, "rb") as f:
            _sizes[path] = brotli_bytes(f.read(), 11)
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
            index = json.load(f)
        if not isinstance(index, dict) or not isinstance(index.get("packs"), dict):
            sys.exit(f"{packs_path} is not of the format of scripts/page_packs.py: build again")
        packs = index["packs"]
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
    if packs:
        # Client-side navigation from the pricing page (`/`): the partial pack the server builds
        # (src/server/partial_packs.rs) holds only the modules `/` did not load; brotli at the
        # server's quality 9, or the whole pack when that is no larger.
        first = next((s for s in manifest if "pricing_route" in s), None)
        if first:
            print("          after `/`, by client-side navigation (partial pack, brotli q9, or the whole one, q11):")
            had = set(manifest[first])
            moved_whole = moved_partial = 0
            for split, modules in sorted(manifest.items()):
                if split == first or split not in packs:
                    continue
                missing = [m for m in modules if m not in had]
                # The pack format the server builds: a u32 (little-endian) header length, the
                # JSON header [[stem, bytes], ...], then the modules.
                bodies = [open(os.path.join(pkg, m + ".wasm"), "rb").read() for m in missing]
                header = json.dumps([[m, len(b)] for m, b in zip(missing, bodies)], separators=(",", ":")).encode()
                data = len(header).to_bytes(4, "little") + header + b"".join(bodies) if missing else b""
                whole = brotli_size(os.path.join(pkg, packs[split]))
                # The server answers with the whole pack when that is no larger.
                partial = min(brotli_bytes(data, 9), whole) if data else 0
                moved_whole += whole
                moved_partial += partial
                name = split.strip("_").rsplit("_view_", 1)[0].removesuffix("_route")
                print(f"          page {name:<28} {len(missing):3} of {len(modules):3} modules   {kb(partial)} (whole pack {kb(whole)})")
            print(f"          navigation from `/`, every page: {kb(moved_partial)} instead of {kb(moved_whole)}")

everything = [p for p in glob.glob(os.path.join(pkg, "*")) if p.endswith((".wasm", ".wasmpack", ".js", ".css"))]
total_br = sum(brotli_size(p) for p in everything)
total_raw = sum(os.path.getsize(p) for p in everything)
print(f"          every file of pkg/ ({len(everything)} files)   {total_raw:>10} bytes   brotli {kb(total_br)}")
