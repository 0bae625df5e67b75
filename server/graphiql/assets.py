"""GraphiQL's static files, read once into memory and served under paths that carry their
version, so a browser may keep them for a year: the vendored packages under
`<package>@<version>/` (listed in static/manifest.json, written by vendor.py) and our own
page script and style under `teaminbox@<hash of the file>/`.

Only the files listed are served: a path is a key in a table, never joined onto the disk,
so nothing else under the package can be asked for."""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

HERE = Path(__file__).parent
STATIC = HERE / "static"
MANIFEST = STATIC / "manifest.json"
# Our own files: authored here, not vendored.
OWN_FILES = ("graphiql-page.js", "graphiql-page.css")
PREFIX = "/graphiql/static/"

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    "LICENSE": "text/plain; charset=utf-8",
}
# Versioned paths: a new version is a new URL, so a cached copy never goes stale.
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    path: str  # under PREFIX
    content_type: str
    body: bytes
    gzipped: bytes  # compressed once: GraphiQL's bundle and style are 1.5 MB, 0.4 MB gzipped


def _content_type(name: str) -> str:
    for ending, content_type in _CONTENT_TYPES.items():
        if name.endswith(ending):
            return content_type
    raise ValueError(f"no content type for {name}")


def _asset(path: str, body: bytes) -> Asset:
    return Asset(path, _content_type(path), body, gzip.compress(body, mtime=0))


@cache
def table() -> dict[str, Asset]:
    """Every served file by its path under PREFIX."""
    assets = [_asset(entry["path"], (STATIC / entry["path"]).read_bytes())
              for entry in json.loads(MANIFEST.read_text())["assets"]]
    for name in OWN_FILES:
        body = (HERE / name).read_bytes()
        assets.append(_asset(f"teaminbox@{hashlib.sha256(body).hexdigest()[:12]}/{name}", body))
    return {asset.path: asset for asset in assets}


def url(name: str) -> str:
    """The served URL of a file by its name (`graphiql.min.js`, `graphiql-page.js`, ...)."""
    for path in table():
        if path.rsplit("/", 1)[1] == name:
            return PREFIX + path
    raise KeyError(name)


async def serve(request: Request) -> Response:
    asset = table().get(request.path_params["path"])
    if asset is None:
        return PlainTextResponse("Not found", status_code=404, headers={"X-Content-Type-Options": "nosniff"})
    headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding",
               "Cross-Origin-Resource-Policy": "same-origin"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.content_type, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)
