"""Maintainer script: GraphiQL's browser assets, taken from the npm registry's tarballs at
pinned versions, into static/ with a manifest (package, version, tarball integrity, file,
sha256). Nothing here runs in the server; the server only reads what this wrote.

    .venv/bin/python -m server.graphiql.vendor           # fetch the pins below, verify, (re)write static/
    .venv/bin/python -m server.graphiql.vendor --check   # fetch again and verify static/ still matches

To move a version: change its pin below, run the first command, review the diff, commit.
Each tarball is checked against the `dist.integrity` the registry publishes for that
version and, once recorded, against the manifest's own pinned integrity (a republished or
tampered tarball fails).

The only change made to a file is dropping its trailing `sourceMappingURL` comment: the
maps are not shipped (GraphiQL's is 4.7 MB), so a browser's developer tools would ask the
server for a file that is not there. Both hashes are kept: `upstreamSha256` is the file
as published, `sha256` what is served."""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGISTRY = "https://registry.npmjs.org"
STATIC = Path(__file__).with_name("static")
MANIFEST = STATIC / "manifest.json"


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    # file inside the tarball (under package/) -> name it is served under
    files: dict[str, str]

    @property
    def folder(self) -> str:
        return f"{self.package}@{self.version}"


# GraphiQL 4.1 is the last line that ships a UMD bundle (5.x is ESM + monaco); it takes
# React 18 or 19 as UMD globals, and React 19 ships no UMD build, hence React 18.3.1.
PINS = (
    Pin("react", "18.3.1", {"umd/react.production.min.js": "react.production.min.js", "LICENSE": "LICENSE"}),
    Pin("react-dom", "18.3.1", {"umd/react-dom.production.min.js": "react-dom.production.min.js",
                                "LICENSE": "LICENSE"}),
    Pin("graphiql", "4.1.2", {"dist/index.umd.js": "graphiql.min.js", "dist/style.css": "graphiql.min.css",
                              "LICENSE": "LICENSE"}),
)

_SOURCE_MAP_COMMENT = re.compile(rb"\n?(//# sourceMappingURL=[^\n]*|/\*# sourceMappingURL=[^\n]*?\*/)\s*\Z")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity_of(data: bytes) -> str:
    """npm's Subresource-Integrity form of a tarball's sha512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def without_source_map(data: bytes) -> bytes:
    return _SOURCE_MAP_COMMENT.sub(b"\n", data)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        body: bytes = response.read()
        return body


def fetch_tarball(pin: Pin, pinned_integrity: str | None) -> tuple[str, str, bytes]:
    """(tarball URL, integrity, bytes), verified against the registry and the manifest."""
    meta = json.loads(_get(f"{REGISTRY}/{pin.package}/{pin.version}"))
    url, published = meta["dist"]["tarball"], meta["dist"]["integrity"]
    if pinned_integrity is not None and published != pinned_integrity:
        raise SystemExit(f"{pin.folder}: the registry now publishes {published}, the manifest pins {pinned_integrity}")
    tarball = _get(url)
    if integrity_of(tarball) != published:
        raise SystemExit(f"{pin.folder}: the tarball from {url} does not match its integrity {published}")
    return url, published, tarball


def entries_for(pin: Pin, url: str, integrity: str, tarball: bytes) -> list[tuple[dict[str, Any], bytes]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for inner, served_name in pin.files.items():
            member = archive.extractfile(f"package/{inner}")
            if member is None:
                raise SystemExit(f"{pin.folder}: {inner} is not a file in the tarball")
            upstream = member.read()
            served = without_source_map(upstream) if served_name.endswith((".js", ".css")) else upstream
            entry = {
                "package": pin.package, "version": pin.version, "tarball": url, "integrity": integrity,
                "file": f"package/{inner}", "path": f"{pin.folder}/{served_name}",
                "upstreamSha256": sha256(upstream), "sha256": sha256(served),
            }
            out.append((entry, served))
    return out


def load_manifest() -> dict[str, Any]:
    if not MANIFEST.exists():
        return {"assets": []}
    manifest: dict[str, Any] = json.loads(MANIFEST.read_text())
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify static/ against the registry; write nothing")
    args = parser.parse_args(argv)
    pinned = {(a["package"], a["version"]): a["integrity"] for a in load_manifest()["assets"]}
    entries: list[tuple[dict[str, Any], bytes]] = []
    for pin in PINS:
        url, integrity, tarball = fetch_tarball(pin, pinned.get((pin.package, pin.version)))
        entries.extend(entries_for(pin, url, integrity, tarball))
    if args.check:
        stale = [e["path"] for e, data in entries if not (STATIC / e["path"]).is_file()
                 or (STATIC / e["path"]).read_bytes() != data]
        if load_manifest()["assets"] != [e for e, _ in entries]:
            stale.append("manifest.json")
        for path in stale:
            print(f"differs from the registry: {path}", file=sys.stderr)
        print("ok" if not stale else f"{len(stale)} file(s) differ")
        return 1 if stale else 0
    # A version moved on leaves its old folder behind: only the pins' folders are kept.
    for folder in STATIC.glob("*@*"):
        if folder.name not in {pin.folder for pin in PINS}:
            for file in folder.iterdir():
                file.unlink()
            folder.rmdir()
    for entry, data in entries:
        target = STATIC / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    MANIFEST.write_text(json.dumps({"assets": [e for e, _ in entries]}, indent=2) + "\n")
    print(f"wrote {len(entries)} files and {MANIFEST}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
