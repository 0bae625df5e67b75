"""The two ways POST /graphql can be served (Settings.compiled_documents): the compiled
documents in front of the general app, or the general Strawberry app alone. The `app`
and `client` fixtures run every test on both (ids `compiled`, `general`)."""
from __future__ import annotations

import pytest

COMPILED = "compiled"
GENERAL = "general"
GRAPHQL_PATHS = (COMPILED, GENERAL)

# `@pytest.mark.graphql_paths(...)` (on a test or a module) narrows which paths its tests
# run on (conftest's pytest_generate_tests reads it).
MARKER = "graphql_paths"

# For tests that compare the compiled path with the general one in a single app, or
# measure the compiled path itself: on the general app they would compare it with itself.
compiled_path_only = pytest.mark.graphql_paths(COMPILED)
