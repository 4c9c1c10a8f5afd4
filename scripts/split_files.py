"""What `split_manifest.py` and `page_packs.py` share: finding a `--split` build's manifest and
loader in `pkg/`, and writing files so that a half-written one is never left in place."""

import glob
import os
import sys


def locate(pkg, label):
    """The paths of the split manifest and the split loader in `pkg`; `None` when there is no
    manifest (not a `--split` build). Exits 1, naming `label`, unless there is one of each."""
    manifests = glob.glob(os.path.join(pkg, "__wasm_split_manifest*.json"))
    loaders = glob.glob(os.path.join(pkg, "__wasm_split.*.js"))
    if not manifests:
        return None
    if len(manifests) != 1 or len(loaders) != 1:
        print(f"{label}: expected one manifest and one loader in {pkg}, found {manifests} {loaders}", file=sys.stderr)
        sys.exit(1)
    return manifests[0], loaders[0]


def write(path, content):
    """Writes `content` (text or bytes) to a temporary name beside `path`, then renames it."""
    binary = isinstance(content, bytes)
    with open(path + ".tmp", "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
        f.write(content)
    os.replace(path + ".tmp", path)
