"""The trusted documents manifest, graphql/persisted-documents.json: every document of
graphql/operations/ by the SHA-256 of its exact text, in Apollo's persisted query
manifest format (what @apollo/generate-persisted-query-manifest writes and Apollo
Router, Apollo Kotlin and @apollo/persisted-query-lists read):

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "<sha256 of body>", "name": "Login", "type": "mutation", "body": "..."}]}

Regenerate after changing a document (a test fails until you do):

    .venv/bin/python -m server.persisted > graphql/persisted-documents.json
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse

from server.persisted.request import sha256_hex

REPO = Path(__file__).resolve().parents[2]
OPERATIONS_DIR = REPO / "graphql" / "operations"
MANIFEST_PATH = REPO / "graphql" / "persisted-documents.json"
FORMAT = "apollo-persisted-query-manifest"


def build(operations_dir: Path = OPERATIONS_DIR) -> dict[str, Any]:
    """The manifest of every *.graphql file under `operations_dir`, one operation each."""
    operations = [_entry(path) for path in sorted(operations_dir.glob("*.graphql"))]
    operations.sort(key=lambda entry: (entry["name"], entry["id"]))
    return {"format": FORMAT, "version": 1, "operations": operations}


def render(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def load(path: Path = MANIFEST_PATH) -> dict[str, str]:
    """The manifest's documents, sha256 -> text. Refuses a manifest whose id is not the
    hash of its body: that would serve an unrelated text under a trusted id."""
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") != 1:
        raise ValueError(f"{path}: not an {FORMAT} version 1")
    documents: dict[str, str] = {}
    for entry in manifest["operations"]:
        body, identifier = entry["body"], str(entry["id"]).lower()
        if sha256_hex(body) != identifier:
            raise ValueError(f"{path}: operation {entry.get('name')!r}: id is not the SHA-256 of its body")
        documents[identifier] = body
    return documents


def _entry(path: Path) -> dict[str, str]:
    # The file's text as it is: clients that read these files send exactly this.
    body = path.read_text(encoding="utf-8")
    operations = [d for d in parse(body).definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        raise ValueError(f"{path}: a client document holds exactly one named operation")
    operation = operations[0]
    assert operation.name is not None
    return {"id": sha256_hex(body), "name": operation.name.value, "type": operation.operation.value, "body": body}
