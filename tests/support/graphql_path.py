"""The two ways POST /graphql can be served (Settings.compiled_documents): the compiled
documents in front of the general app, or the general Strawberry app alone. The `app`
and `client` fixtures run every test on both (ids `compiled`, `general`); a conftest may
override `graphql_path` with a plain fixture to run a directory on one."""
from __future__ import annotations

import pytest

COMPILED = "compiled"
GENERAL = "general"
GRAPHQL_PATHS = (COMPILED, GENERAL)

# Run on the compiled path (the default) only. For tests that compare the compiled path
# with the general one in a single app, or measure the compiled path itself (on the
# general app they would compare it with itself), and for tests whose app serves no
# GraphQL request at all. (A direct parametrization overrides the fixture's params; the
# test must use `app` or `client`.)
compiled_path_only = pytest.mark.parametrize("graphql_path", [COMPILED])
