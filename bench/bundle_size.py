#!/usr/bin/env python3
"""Prints what the browser downloads for a page besides its HTML, compressed with brotli at
quality 11 (as the server serves it precompressed): the bundle, `tariff.<hash>.wasm` (the
enhancer of `src/enhance.rs`) with its JS glue, and the stylesheet. Every page needs the same
files (the pages are rendered on the server and not hydrated), so there is one line for them, one
per file, and the target of issue 15 (at most 250 KB with brotli).

Usage: bundle_size.py PKG_DIR. Exit 1 when the bundle's files are missing.
"""

import glob
import os
import subprocess
import sys

pkg = sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg"
TARGET_KB = 250


def brotli_bytes(data):
    try:
        import brotli  # type: ignore

        return len(brotli.compress(data, quality=11))
    except ImportError:
        out = subprocess.run(["brotli", "-c", "-q", "11"], input=data, check=True, capture_output=True).stdout
        return len(out)


def one(*patterns):
    for pattern in patterns:
        found = [p for p in glob.glob(os.path.join(pkg, pattern)) if not p.endswith((".br", ".gz"))]
        if len(found) == 1:
            return found[0]
    return None


def kb(n):
    return f"{n / 1024:7.1f} KB"


files = [one("tariff.*.wasm", "tariff_bg.wasm", "tariff.wasm"), one("tariff.*.js", "tariff.js"), one("*.css")]
if not all(files):
    sys.exit(f"the bundle is not in {pkg} (wasm, JS, CSS: {files}): build it first")
total_raw = 0
total_br = 0
for path in files:
    with open(path, "rb") as f:
        data = f.read()
    size = brotli_bytes(data)
    total_raw += len(data)
    total_br += size
    print(f"          {os.path.basename(path):<40} {len(data):>10} bytes   brotli {kb(size)}")
verdict = "met" if total_br <= TARGET_KB * 1024 else "NOT met"
print(f"          every page (wasm + JS + CSS)             {total_raw:>10} bytes   brotli {kb(total_br)}"
      f"   (target ≤ {TARGET_KB} KB: {verdict})")
