#!/usr/bin/env python3
"""Rewrites the wasm split manifest of a hashed `--split` build from the split loader.

The manifest (`pkg/__wasm_split_manifest.<hash>.json`) names, for each lazily loaded page, the
wasm modules it needs; the server reads it to write `<link rel="preload">` for the page it
renders. cargo-leptos 0.3.8 hashes the modules' names (`chunk_24` → `chunk_24.<hash>`) by plain
substring replacement in the manifest, so `chunk_240` becomes `chunk_24.<hash>0`: a preload of a
file that does not exist, and the real module fetched late. The loader script
(`pkg/__wasm_split.<hash>.js`) is rewritten with whole file names and is right: above each module
it loads it lists, in a comment, the split points that need the module, and each split point's
own module is fetched by its exported loader (`__wasm_split_load_<split point>`; an empty own
module has no file, and its loader fetches nothing). This script rebuilds the manifest from the
comments and the exported loaders (own module first, as the manifest has it) and checks that every
module it names exists. (Its first version read only the comments and so left each page's own
module out.)

Once the manifest is written, the loader's comments are removed: the lists of split points above
each module made up a half of its 245 KB (2.3 KB of its 11.5 KB after brotli), and every page
downloads the loader. A loader without them (this script ran before on this build) leaves the
manifest as it is, after checking that every module it names exists.

Usage: split_manifest.py PKG_DIR. Exit 0 with a one-line summary; 1 when the files are missing or
the loader names a module that is not there. A build without `--split` has no manifest: exit 0.
"""

import glob
import json
import os
import re
import sys

pkg = sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg"
manifests = glob.glob(os.path.join(pkg, "__wasm_split_manifest*.json"))
loaders = glob.glob(os.path.join(pkg, "__wasm_split.*.js"))
if not manifests:
    print(f"split manifest: none in {pkg} (not a --split build)")
    sys.exit(0)
if len(manifests) != 1 or len(loaders) != 1:
    print(f"split manifest: expected one manifest and one loader in {pkg}, found {manifests} {loaders}", file=sys.stderr)
    sys.exit(1)

with open(loaders[0], encoding="utf-8") as f:
    loader = f.read()
with open(manifests[0], encoding="utf-8") as f:
    old = json.load(f)

# /* split_a, split_b */
# const __chunk_24 = makeLoad(() => {
#     const src = fetch(new URL("./chunk_24.<hash>.wasm", import.meta.url));
block = re.compile(r"/\*\s*([^*]*?)\s*\*/\s*const\s+\w+\s*=\s*makeLoad\(\(\)\s*=>\s*\{\s*const\s+src\s*=\s*fetch\(new URL\(\"\./([^\"]+)\.wasm\"")
blocks = block.findall(loader)
if not blocks:
    absent = sorted({m for ms in old.values() for m in ms if not os.path.isfile(os.path.join(pkg, m + ".wasm"))})
    if absent or not any(old.values()):
        print(f"split manifest: the loader has no module lists and the manifest names absent modules {absent}", file=sys.stderr)
        sys.exit(1)
    print(f"split manifest: already repaired ({len(old)} split points); the loader has no comments left")
    sys.exit(0)
needs = {name: [] for name in old}
for names, module in blocks:
    if not os.path.isfile(os.path.join(pkg, module + ".wasm")):
        print(f"split manifest: the loader names {module}.wasm, which is not in {pkg}", file=sys.stderr)
        sys.exit(1)
    for name in (n.strip() for n in names.split(",")):
        if name:
            needs.setdefault(name, []).append(module)

# The split point's own module, which its exported loader fetches before the shared ones:
# export const __wasm_split_load___login_route_view_<n> = wrapAsyncCb(makeLoad(() => {
#     const src = fetch(new URL("./split___login_route_view_<n>.<hash>.wasm", import.meta.url));
own = re.compile(r"export\s+const\s+__wasm_split_load_(\w+)\s*=\s*wrapAsyncCb\(makeLoad\(\(\)\s*=>\s*\{\s*const\s+src\s*=\s*fetch\(new URL\(\"\./([^\"]+)\.wasm\"")
for name, module in own.findall(loader):
    if not os.path.isfile(os.path.join(pkg, module + ".wasm")):
        print(f"split manifest: the loader names {module}.wasm, which is not in {pkg}", file=sys.stderr)
        sys.exit(1)
    if name in needs:
        needs[name].insert(0, module)

missing = sorted(name for name in old if not needs.get(name))
if missing:
    print(f"split manifest: the loader has no modules for {missing}", file=sys.stderr)
    sys.exit(1)
repaired = sum(1 for name in old for m in old[name] if m not in set(needs[name]))
with open(manifests[0], "w", encoding="utf-8") as f:
    json.dump(needs, f, indent=2)
modules = sum(len(v) for v in needs.values())

# The loader without its comments: block comments on lines of their own, and `//` lines.
lines = loader.split("\n")
kept = [line for line in lines if not re.fullmatch(r"\s*(/\*.*\*/|//.*)", line)]
with open(loaders[0] + ".tmp", "w", encoding="utf-8") as f:
    f.write("\n".join(kept))
os.replace(loaders[0] + ".tmp", loaders[0])
print(
    f"split manifest: {len(needs)} split points, {modules} module references ({repaired} repaired);"
    f" loader {len(loader)} -> {len(chr(10).join(kept))} bytes without comments"
)
