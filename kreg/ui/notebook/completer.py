"""Tab completion inside ``%%kcompile`` cells (IPython's completion-matcher API, version 2).

At the start of a line: the cell's keys. After ``key =``: registry names of
that key's kind (and, for data keys, the notebook's variables). Inside a
component's parentheses: its keyword arguments.
"""

from __future__ import annotations

import re
from typing import Any

from IPython.core.completer import (
    CompletionContext,
    SimpleCompletion,
    SimpleMatcherResult,
    context_matcher,
)

from kreg.cell.parse import (
    COMPARABLE_KEYS,
    COMPARE,
    FIT_KEYS,
    KEYS,
    KIND_OF_ARGUMENT,
    KIND_OF_KEY,
)
from kreg.errors import KregError
from kreg.registry.catalog import CATALOG

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_STATEMENT = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)")


def _open_call(text: str) -> tuple[str, str] | None:
    """The innermost unclosed ``name(`` before the cursor and the argument being typed."""
    depth, index = 0, len(text) - 1
    while index >= 0:
        char = text[index]
        if char in ")]}":
            depth += 1
        elif char in "([{":
            if depth == 0:
                if char != "(":
                    return None
                match = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", text[:index])
                if not match:
                    return None
                inside = text[index + 1 :]
                current = re.split(r"[,(]", inside)[-1]
                return match.group(1), current
            depth -= 1
        index -= 1
    return None


def candidates(cell_text: str, shell: Any = None) -> tuple[str, list[tuple[str, str]]]:
    """``(typed prefix, [(completion, type)])`` for a cell body cut at the cursor.

    Example:
        >>> candidates("epo")
        ('epo', [('epochs', 'key')])
        >>> prefix, found = candidates("loss = hub")
        >>> prefix, ('huber', 'loss') in found
        ('hub', True)
        >>> prefix, found = candidates("loss = huber(del")
        >>> prefix, found
        ('del', [('delta=', 'argument')])
        >>> candidates("optimizer = adam(\\n    learning_rate=expo")[1]
        [('exponential_decay', 'schedule'), ('ExponentialDecay', 'schedule')]
        >>> candidates("epochs = 3\\nbat")
        ('bat', [('batch_size', 'key')])
        >>> candidates("optimizer = comp")[1][0]
        ('compare(', 'alternatives')
        >>> ("sgd", "optimizer") in candidates("optimizer = compare(adam, sg")[1]
        True
    """
    word = _WORD.search(cell_text)
    prefix = word.group(0) if word else ""
    lines = cell_text.split("\n")
    starts, depth = [], 0
    for index, text in enumerate(lines):
        if depth <= 0 and _STATEMENT.match(text):
            starts.append(index)
        depth += _depth(text)
    statement = "\n".join(lines[starts[-1] :]) if starts else ""
    if not statement or (_depth(statement) <= 0 and starts[-1] != len(lines) - 1):
        return prefix, [(k, "key") for k in KEYS if k.startswith(prefix)]
    key, _, value = statement.partition("=")
    key = key.strip()
    call = _open_call(value)
    if call is not None and call[0] == COMPARE:  # each alternative as the key takes it
        call = None
    if call is not None:
        name, current = call
        if "=" not in current:
            return prefix, _keyword_arguments(name, key, prefix)
        kind = KIND_OF_ARGUMENT.get(current.partition("=")[0].strip())
        return prefix, _names(kind, prefix) if kind else []
    offered = [(f"{COMPARE}(", "alternatives")] if prefix and COMPARE.startswith(prefix) else []
    if key not in COMPARABLE_KEYS:
        offered = []
    if key in KIND_OF_KEY:
        return prefix, offered + _names(KIND_OF_KEY[key], prefix)
    if offered:
        return prefix, offered
    if key in FIT_KEYS and shell is not None:
        variables = [k for k in shell.user_ns if not k.startswith("_") and k.startswith(prefix)]
        return prefix, [(v, "variable") for v in sorted(variables)]
    return prefix, []


def _depth(text: str) -> int:
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def _names(kind: str, prefix: str) -> list[tuple[str, str]]:
    lowered = prefix.lower()
    found = {}
    for entry in CATALOG.entries(kind):
        for spelling in (entry.name, *entry.aliases):
            if spelling.lower().startswith(lowered) and spelling not in found:
                found[spelling] = entry.kind
    return sorted(found.items(), key=lambda item: (item[0].lower() != item[0], item[0]))


def _keyword_arguments(name: str, key: str, prefix: str) -> list[tuple[str, str]]:
    try:
        entry = CATALOG.lookup(name, KIND_OF_KEY.get(key))
    except (KregError, KeyError):
        try:
            entry = CATALOG.lookup(name)
        except (KregError, KeyError):
            return []
    try:
        names = entry.parameters().names
    except Exception:  # the component cannot be imported: nothing to offer
        return []
    return [(f"{a}=", "argument") for a in names if a.startswith(prefix)]


def install(shell: Any) -> None:
    """Add the ``%%kcompile`` matcher to ``shell``'s completer (once)."""
    completer = getattr(shell, "Completer", None)
    if completer is None:
        return
    if any(getattr(m, "__name__", "") == "kcompile_matcher" for m in completer.custom_matchers):
        return

    @context_matcher()
    def kcompile_matcher(context: CompletionContext) -> SimpleMatcherResult:
        lines = context.full_text.split("\n")
        if not lines or not lines[0].lstrip().startswith("%%kcompile") or context.cursor_line == 0:
            return {"completions": [], "suppress": False}
        body = [*lines[1 : context.cursor_line], context.text_until_cursor]
        _, found = candidates("\n".join(body), shell)
        return {
            "completions": [SimpleCompletion(text, type=kind) for text, kind in found],
            "suppress": bool(found),
        }

    completer.custom_matchers.append(kcompile_matcher)
