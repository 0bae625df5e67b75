"""Trusted documents: the manifest's, by hash, and the texts that mean the same.

A text is admitted when its hash is in the manifest, or when it is a manifest document
with `__typename` added: Apollo Client's cache adds `__typename` to every selection set
before it sends (and hashes) a document, so an Apollo app sending our documents never
sends their exact text. Comparing documents printed by graphql-core, with every
`__typename` field removed, admits exactly those (formatting aside) and nothing that
selects any other field. The verdict is cached per hash, bounded."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from graphql import FieldNode, GraphQLError, parse, print_ast
from graphql.language import REMOVE, Visitor, visit

from server.persisted.request import sha256_hex

_VERDICTS_KEPT = 4096


class _DropTypename(Visitor):
    def enter_field(self, node: FieldNode, *_: Any) -> object:
        if node.name.value == "__typename" and node.alias is None and not node.directives:
            return REMOVE
        return None


def canonical(text: str, max_tokens: int) -> str | None:
    """The document printed without `__typename` fields; None when it does not parse."""
    try:
        document = parse(text, no_location=True, max_tokens=max_tokens)
    except (GraphQLError, RecursionError):
        return None
    return print_ast(visit(document, _DropTypename()))


class TrustedDocuments:
    def __init__(self, documents: Mapping[str, str], max_tokens: int):
        self._documents = dict(documents)
        self._max_tokens = max_tokens
        self._canonical = {form for text in self._documents.values() if (form := canonical(text, max_tokens))}
        self._verdicts: OrderedDict[str, bool] = OrderedDict()

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self._documents

    def text(self, sha256: str) -> str | None:
        return self._documents.get(sha256)

    def admits(self, text: str, sha256: str | None = None) -> bool:
        """Whether the text may run where only trusted documents may (sha256: its hash,
        when the caller knows it already)."""
        digest = sha256 or sha256_hex(text)
        if digest in self._documents:
            return True
        verdict = self._verdicts.get(digest)
        if verdict is None:
            verdict = canonical(text, self._max_tokens) in self._canonical
            self._verdicts[digest] = verdict
            while len(self._verdicts) > _VERDICTS_KEPT:
                self._verdicts.popitem(last=False)
        else:
            self._verdicts.move_to_end(digest)
        return verdict
