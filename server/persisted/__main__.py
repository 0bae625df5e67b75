"""`python -m server.persisted > graphql/persisted-documents.json`: the trusted documents
manifest of graphql/operations/ (see manifest.py)."""
import sys

from server.persisted.manifest import build, render

sys.stdout.write(render(build()))
