"""Name normalisation, canonical spellings and ranked "did you mean" suggestions."""

from __future__ import annotations

import difflib
import re

from kreg.errors import ConfigError

MAX_SUGGESTED_LENGTH = 128
"""No "did you mean" for longer names (ranking costs time in proportion to the length)."""

KINDS: tuple[str, ...] = ("loss", "metric", "optimizer", "schedule")
BUILTIN_PLUGIN = "keras"
"""The name of the plugin that provides Keras's own catalogue (``keras:huber``)."""

_KIND_SPELLINGS = {
    **{kind: kind for kind in KINDS},
    **{kind + "s": kind for kind in KINDS},
    "losses": "loss",
    "lr_schedule": "schedule",
    "learning_rate_schedule": "schedule",
}
_DROPPED = str.maketrans("", "", "_- ")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def normalize(name: str) -> str:
    """Return the lookup key of ``name``: lower case, without ``_``, ``-`` or spaces.

    Example:
        >>> normalize("Mean_Squared-Error")
        'meansquarederror'
    """
    return name.translate(_DROPPED).lower()


def snake_case(name: str) -> str:
    """Turn a class name into its snake_case spelling; ``IoU``, ``NaN``, ``SimCLR`` stay whole.

    Example:
        >>> snake_case("KLDivergence"), snake_case("MeanIoU"), snake_case("R2Score")
        ('kl_divergence', 'mean_iou', 'r2_score')
        >>> snake_case("SimCLRLoss"), snake_case("CIoULoss"), snake_case("AUCNoNaN")
        ('simclr_loss', 'ciou_loss', 'auc_no_nan')
    """
    words = _CAMEL_BOUNDARY.sub("_", name.replace("IoU", "Iou").replace("NaN", "Nan")).split("_")
    merged: list[str] = []
    for word in words:
        previous = merged[-1] if merged else ""
        joins_acronym = 1 < len(word) == sum(c.isupper() for c in word) and (
            previous[:1].isupper() and len(previous) <= 3 and previous[1:].islower()
        )
        letter_before_iou = word == "Iou" and len(previous) == 1 and previous.isupper()
        if joins_acronym or letter_before_iou:
            merged[-1] += word
        else:
            merged.append(word)
    return "_".join(merged).lower()


def canonical_name(kind: str, object_name: str) -> str:
    """The canonical registry name of a class or function called ``object_name``.

    Optimizers follow Keras's ``optimizer="rmsprop"`` habit (lower case); the
    other kinds use snake_case like ``keras.losses.mean_squared_error``.

    Example:
        >>> canonical_name("optimizer", "RMSprop"), canonical_name("loss", "LogCosh")
        ('rmsprop', 'log_cosh')
    """
    if kind == "optimizer":
        return object_name.lower()
    if object_name[:1].isupper():
        return snake_case(object_name)
    return object_name


def check_kind(kind: str | None) -> str | None:
    """Validate a ``kind=`` argument; plural spellings are accepted.

    Raises :class:`~kreg.errors.ConfigError` (a ``ValueError``) for anything else,
    unhashable values included.

    Example:
        >>> check_kind("losses")
        'loss'
    """
    if kind is None:
        return None
    found = _KIND_SPELLINGS.get(str(kind).lower()) if isinstance(kind, str) else None
    if found is None:
        raise ConfigError(
            f"Expected one of {list(KINDS)} or None. Received: kind={kind!r}",
            component="kind",
            argument="kind",
        )
    return found


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: edits, counting a swap of neighbours as one.

    Example:
        >>> edit_distance("turepositives", "truepositives")
        1
    """
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = char_a != char_b
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def suggest(query: str, spellings: dict[str, str], limit: int = 5) -> list[str]:
    """Rank known spellings by closeness to ``query``, best first.

    ``spellings`` maps each lookup key (see :func:`normalize`) to the spelling
    shown to people. Close edits come first, then names containing the query.
    A query over :data:`MAX_SUGGESTED_LENGTH` characters gets none (ranking costs
    time in proportion to its length).

    Example:
        >>> suggest("Possion", {"poisson": "poisson", "huber": "huber"})
        ['poisson']
    """
    if len(query) > MAX_SUGGESTED_LENGTH:
        return []
    key = normalize(query)
    if not key:
        return []
    budget = max(1, len(key) // 3)
    scored: list[tuple[int, float, float, str]] = []
    for candidate, shown in spellings.items():
        distance = edit_distance(key, candidate)
        closeness = difflib.SequenceMatcher(None, key, candidate).ratio()
        # Same letters in another order (a swap) is the likeliest slip of the hand.
        reordered = 0.0 if sorted(key) == sorted(candidate) else 0.5
        if distance <= budget:
            scored.append((0, distance + reordered, -closeness, shown))
        elif len(key) >= 3 and key in candidate:
            scored.append((1, len(candidate), -closeness, shown))
        elif closeness >= 0.8:
            scored.append((2, 0, -closeness, shown))
    ranked: list[str] = []
    for *_, shown in sorted(scored):
        if shown not in ranked:
            ranked.append(shown)
    return ranked[:limit]
