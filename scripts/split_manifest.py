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

Last, the modules trade their own hashes for one hash of the whole set: `chunk_24.<hash>.wasm`
becomes `chunk_24.<build hash>.wasm`, the build hash made from every module's name, length and
bytes (SHA-256). The new names are hard links made before the loader and the manifest are
rewritten, and the old names go after, so the files on disk always match the loader. The loader names each of its ~390 modules, and each name's own 22-character hash is
noise brotli cannot compress (about 6 KB of the loader's 9 KB); one hash repeated costs next to
nothing. A name still changes whenever its module does (every name does, then), so the modules
stay cacheable as immutable. A later run finds the names in that form and leaves them.

Usage: split_manifest.py PKG_DIR. Exit 0 with a one-line summary; 1 when the files are missing or
the loader names a module that is not there. A build without `--split` has no manifest: exit 0.
"""

import base64
import hashlib
import json
import os
import re
import sys

from split_files import locate, write

pkg = sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg"


def fail(message):
    print(f"split manifest: {message}", file=sys.stderr)
    sys.exit(1)


def wasm(module):
    return os.path.join(pkg, module + ".wasm")


# /* split_a, split_b */
# const __chunk_24 = makeLoad(() => {
#     const src = fetch(new URL("./chunk_24.<hash>.wasm", import.meta.url));
BLOCK = re.compile(r"/\*\s*([^*]*?)\s*\*/\s*const\s+\w+\s*=\s*makeLoad\(\(\)\s*=>\s*\{\s*const\s+src\s*=\s*fetch\(new URL\(\"\./([^\"]+)\.wasm\"")


def rebuild(loader, old):
    """The manifest from the loader's comments and exported loaders (see above)."""
    needs = {name: [] for name in old}
    for names, module in BLOCK.findall(loader):
        if not os.path.isfile(wasm(module)):
            fail(f"the loader names {module}.wasm, which is not in {pkg}")
        for name in (n.strip() for n in names.split(",")):
            if name:
                needs.setdefault(name, []).append(module)
    # The split point's own module, which its exported loader fetches before the shared ones:
    # export const __wasm_split_load___login_route_view_<n> = wrapAsyncCb(makeLoad(() => {
    #     const src = fetch(new URL("./split___login_route_view_<n>.<hash>.wasm", import.meta.url));
    own = re.compile(r"export\s+const\s+__wasm_split_load_(\w+)\s*=\s*wrapAsyncCb\(makeLoad\(\(\)\s*=>\s*\{\s*const\s+src\s*=\s*fetch\(new URL\(\"\./([^\"]+)\.wasm\"")
    for name, module in own.findall(loader):
        if not os.path.isfile(wasm(module)):
            fail(f"the loader names {module}.wasm, which is not in {pkg}")
        if name in needs:
            needs[name].insert(0, module)
    missing = sorted(name for name in old if not needs.get(name))
    if missing:
        fail(f"the loader has no modules for {missing}")
    return needs


def rename_to_build_hash(loader, needs):
    """Gives every module the loader fetches a second name, `<name>.<build hash>` (see above);
    answers the loader and the manifest with the new names, and the old names to remove once
    they are written. Until then both names are there, so a run stopped half-way leaves the
    loader and its modules in agreement (and the next run finishes the job)."""
    referenced = sorted(set(re.findall(r'"\./([A-Za-z0-9_]+\.[A-Za-z0-9_-]+)\.wasm"', loader)))
    digest = hashlib.sha256()
    for module in referenced:
        with open(wasm(module), "rb") as f:
            data = f.read()
        # Name and length first, so that no two different sets of modules hash one byte stream.
        name = module.split(".", 1)[0].encode()
        digest.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    build = base64.urlsafe_b64encode(digest.digest()).decode()[:22]
    renamed = {m: m.split(".", 1)[0] + "." + build for m in referenced}
    renamed = {old: new for old, new in renamed.items() if old != new}
    for old, new in renamed.items():
        # A module of the same name is one of the same bytes (a build of the same code before,
        # or a run stopped half-way): replaced.
        if os.path.exists(wasm(new)):
            os.remove(wasm(new))
        os.link(wasm(old), wasm(new))
        loader = loader.replace(f'"./{old}.wasm"', f'"./{new}.wasm"')
    needs = {point: [renamed.get(m, m) for m in modules] for point, modules in needs.items()}
    return loader, needs, list(renamed)


def remove_modules(modules):
    """Removes the files of `modules`, with their precompressed twins."""
    for module in modules:
        for path in (wasm(module), wasm(module) + ".br", wasm(module) + ".gz"):
            if os.path.exists(path):
                os.remove(path)


found = locate(pkg, "split manifest")
if found is None:
    print(f"split manifest: none in {pkg} (not a --split build)")
    sys.exit(0)
manifest_path, loader_path = found
with open(loader_path, encoding="utf-8") as f:
    original = f.read()
with open(manifest_path, encoding="utf-8") as f:
    old = json.load(f)

if BLOCK.search(original):
    needs = rebuild(original, old)
    repaired = sum(1 for name in old for m in old[name] if m not in set(needs[name]))
    # The loader without its comments: block comments on lines of their own, and `//` lines.
    loader = "\n".join(line for line in original.split("\n") if not re.fullmatch(r"\s*(/\*.*\*/|//.*)", line))
    done = f"{repaired} repaired, comments removed"
else:
    absent = sorted({m for ms in old.values() for m in ms if not os.path.isfile(wasm(m))})
    if absent or not any(old.values()):
        fail(f"the loader has no module lists and the manifest names absent modules {absent}")
    needs, loader, done = old, original, "repaired before"
loader, needs, renamed = rename_to_build_hash(loader, needs)
absent = sorted({m for ms in needs.values() for m in ms if not os.path.isfile(wasm(m))})
if absent:
    fail(f"the manifest names absent modules {absent}")
write(manifest_path, json.dumps(needs, indent=2))
if loader != original:
    write(loader_path, loader)
remove_modules(renamed)
renamed = len(renamed)
modules = sum(len(v) for v in needs.values())
print(
    f"split manifest: {len(needs)} split points, {modules} module references ({done});"
    f" {renamed} modules renamed to the build hash; loader {len(original)} -> {len(loader)} bytes"
)
