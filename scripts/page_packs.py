#!/usr/bin/env python3
"""Packs each lazily loaded page's wasm modules into one file, and teaches the split loader to
take its modules from the pack.

A `--split` build cuts the browser bundle into ~390 modules, one for each set of pages that
shares some code, so a page needs 30 to 230 of them. Fetched one by one, each is compressed
alone: brotli finds little to reuse inside a 2 KB module, and the modules of the billing page
came to 170 KB compressed where the same bytes in one file compress to 95 KB; on HTTP/1.1 the
browser also fetches them six at a time. A pack is the page's modules in one file, compressed
(and cached) as one: `page_<split point>.<build hash>.v<format>.wasmpack`, made of a 4-byte little-endian
header length, the header (UTF-8 JSON `[[module stem, byte length], ...]`) and the modules'
bytes in the header's order.

The loader (`pkg/__wasm_split.<hash>.js`) gets these functions: `__pack(file, count)`, a
dependency put first in each page's loader, which notes the modules the page's loader then asks
for in the same turn of the event loop (each module has a number, its place in `modules` of
`page_packs.json`; modules loaded before are not asked for again) and fetches them as one pack:
the static pack when the page needs all of its `count` modules (a first visit, preloaded by the
server), else `<pack>?want=<bitmap of the numbers>`, a partial pack the server builds
(`crate::server::partial_packs`), so a page reached by client-side navigation downloads only
what the pages before it did not load; `moduleSource(stem, number)`, which waits for the latest
pack and takes the module's bytes from it (each module is instantiated once, so its bytes are
dropped from the pack; an older pack is left to the garbage collector), or else fetches the
module's own file as before (a pack that failed to load or does not match its index, or a module
whose first load failed and is tried again); and `instantiateFrom`, which instantiates either.
Module files stay in `pkg/` for that fallback.

Caching: the pack names carry the modules' build hash, and the loader keeps the name
cargo-leptos gave it (a hash of its content before this script), both served as immutable. A
change to this script alone (its JavaScript or the pack format) therefore needs a change of
`PACK_FORMAT`, which is part of every pack's name, and of the loader's content before it is
rewritten (any code change does), or browsers keep the old files.

`pkg/page_packs.json` holds `packs`, each split point's pack file name, and `modules`, every
module's stem by number; the server reads it to preload the page's pack instead of its modules
and to build partial packs (`crate::server::assets::SplitManifest`). The
split manifest itself is left as `split_manifest.py` wrote it.

Runs after `split_manifest.py` (module names carry the build hash). A loader that has packs
already (this script ran before on this build) is left alone.

Usage: page_packs.py PKG_DIR. Exit 0 with a one-line summary; 1 when the files are missing or
the loader does not have the shape this script rewrites.
"""

import json
import os
import re
import struct
import sys

from split_files import locate, write

pkg = sys.argv[1] if len(sys.argv) > 1 else "target/site/pkg"
MARK = "function moduleSource("
# Part of every pack's name: raise it when the pack format or the loader's code changes.
PACK_FORMAT = 3

PRELUDE = """
let latestPack = Promise.resolve(new Map());
let asking = null;
function __pack(file, count) {
    return () => {
        const ask = { file, count, numbers: [] };
        asking = ask;
        const pack = Promise.resolve()
            .then(() => {
                if (asking === ask) asking = null;
                if (ask.numbers.length === 0) return new Map();
                const query = ask.numbers.length === count ? "" : "?want=" + bitmap(ask.numbers);
                return fetch(new URL("./" + file + query, import.meta.url))
                    .then((response) => {
                        if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
                        return response.arrayBuffer();
                    })
                    .then((bytes) => {
                        const headerLength = new DataView(bytes).getUint32(0, true);
                        const header = JSON.parse(new TextDecoder().decode(new Uint8Array(bytes, 4, headerLength)));
                        const modules = new Map();
                        let at = 4 + headerLength;
                        for (const [stem, length] of header) {
                            modules.set(stem, bytes.slice(at, at + length));
                            at += length;
                        }
                        if (at !== bytes.byteLength) throw new Error(`${file}: ${bytes.byteLength} bytes, the index says ${at}`);
                        return modules;
                    });
            })
            .catch((e) => {
                console.warn("a page pack failed to load; its modules are fetched one by one", e);
                return new Map();
            });
        latestPack = pack;
        return pack;
    };
}
function bitmap(numbers) {
    const bytes = new Uint8Array((Math.max(...numbers) >> 3) + 1);
    for (const n of numbers) bytes[n >> 3] |= 1 << (n & 7);
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
async function moduleSource(stem, number) {
    if (asking !== null && number >= 0) asking.numbers.push(number);
    const modules = await latestPack;
    const bytes = modules.get(stem);
    if (bytes !== undefined) {
        modules.delete(stem);
        return bytes;
    }
    return fetch(new URL(`./${stem}.wasm`, import.meta.url));
}
async function instantiateFrom(source, imports) {
    const bytes = await source;
    return bytes instanceof Response
        ? WebAssembly.instantiateStreaming(bytes, imports)
        : WebAssembly.instantiate(bytes, imports);
}
"""

FETCH = re.compile(r'fetch\(new URL\("\./([^"]+)\.wasm", import\.meta\.url\)\)')
INSTANTIATE = "WebAssembly.instantiateStreaming(src, imports)"
# export const __wasm_split_load_<point> = wrapAsyncCb(makeLoad(() => { ... }
# , [__chunk_24, ...]));
EXPORT = re.compile(r"(export\s+const\s+__wasm_split_load_(\w+)\s*=\s*wrapAsyncCb\(makeLoad\(\(\)\s*=>\s*\{[^{}]*\}\s*,\s*\[)")


def fail(message):
    print(f"page packs: {message}", file=sys.stderr)
    sys.exit(1)


found = locate(pkg, "page packs")
if found is None:
    print(f"page packs: no split manifest in {pkg} (not a --split build)")
    sys.exit(0)
manifest_path, loader_path = found
with open(loader_path, encoding="utf-8") as f:
    loader = f.read()
if MARK in loader:
    index_path = os.path.join(pkg, "page_packs.json")
    if not os.path.isfile(index_path):
        fail(f"the loader has packs but {index_path} is missing")
    with open(index_path, encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict) or not isinstance(index.get("packs"), dict) or "modules" not in index:
        fail(f"{index_path} is not of this format (an older build's?): build again")
    absent = [file for file in index["packs"].values() if not os.path.isfile(os.path.join(pkg, file))]
    if absent:
        fail(f"the loader names packs that are missing: {absent}")
    print("page packs: the loader has its packs already")
    sys.exit(0)
with open(manifest_path, encoding="utf-8") as f:
    needs = json.load(f)

packs = {}
sizes = []
for point, stems in needs.items():
    if not stems:
        fail(f"the manifest names no module for {point}")
    build_hash = stems[0].rsplit(".", 1)[-1]
    file = f"page{point}.{build_hash}.v{PACK_FORMAT}.wasmpack"
    bodies = []
    for stem in stems:
        path = os.path.join(pkg, stem + ".wasm")
        if not os.path.isfile(path):
            fail(f"{point} needs {stem}, which is not in {pkg}")
        with open(path, "rb") as f:
            bodies.append(f.read())
    header = json.dumps([[stem, len(body)] for stem, body in zip(stems, bodies)], separators=(",", ":")).encode()
    data = struct.pack("<I", len(header)) + header + b"".join(bodies)
    write(os.path.join(pkg, file), data)
    packs[point] = file
    sizes.append(len(data))

fetches = len(FETCH.findall(loader))
exports = EXPORT.findall(loader)
if fetches == 0 or loader.count(INSTANTIATE) != fetches:
    fail(f"the loader has {fetches} module fetches and {loader.count(INSTANTIATE)} instantiations: not the shape expected")
if sorted(point for _, point in exports) != sorted(packs):
    fail(f"the loader's pages {sorted(p for _, p in exports)} are not the manifest's {sorted(packs)}")
# Every module gets a number, its place in `modules` of page_packs.json, by which a partial pack
# asks for it (`?want=`); a module that is in no page's list gets -1 and is fetched alone.
modules = sorted({stem for stems in needs.values() for stem in stems})
number = {stem: n for n, stem in enumerate(modules)}
loader = FETCH.sub(lambda m: f'moduleSource("{m.group(1)}", {number.get(m.group(1), -1)})', loader)
loader = loader.replace(INSTANTIATE, "instantiateFrom(src, imports)")
loader, packed = EXPORT.subn(
    lambda m: f'{m.group(1)}__pack("{packs[m.group(2)]}", {len(needs[m.group(2)])}), ', loader
)
if packed != len(packs):
    fail(f"{packed} page loaders rewritten for {len(packs)} packs")
# The prelude goes after the import line (the loader is an ES module).
first_line_end = loader.index("\n") + 1
loader = loader[:first_line_end] + PRELUDE + loader[first_line_end:]
# Packs and their index are written before the loader names them.
write(os.path.join(pkg, "page_packs.json"), json.dumps({"packs": packs, "modules": modules}, indent=1))
write(loader_path, loader)
print(
    f"page packs: {len(packs)} pages packed ({min(sizes)}-{max(sizes)} bytes each, {sum(sizes)} in all);"
    f" {fetches} module fetches go through the packs"
)
