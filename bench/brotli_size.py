#!/usr/bin/env python3
"""Prints the size in bytes of FILE compressed with brotli at quality 11 (what the server
serves precompressed), with Python's brotli module or Debian's brotli command."""

import subprocess
import sys

path = sys.argv[1]
try:
    import brotli  # type: ignore

    with open(path, "rb") as f:
        print(len(brotli.compress(f.read(), quality=11)))
except ImportError:
    out = subprocess.run(["brotli", "-c", "-q", "11", path], check=True, capture_output=True).stdout
    print(len(out))
