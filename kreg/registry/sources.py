"""Read Python sources without importing them: docstrings and ``from x import y`` lists.

This is how kreg lists Keras (and lazy plugin targets) without importing
TensorFlow.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path


@functools.cache
def package_root(top_level: str) -> Path | None:
    """Folder of an installed top-level package, found without importing it.

    Example:
        >>> package_root("kreg").name
        'kreg'
    """
    try:
        spec = importlib.util.find_spec(top_level)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def module_file(module_name: str) -> Path | None:
    """Source file of ``package.module`` without importing anything.

    Example:
        >>> module_file("kreg.names").name
        'names.py'
    """
    top, _, rest = module_name.partition(".")
    root = package_root(top)
    if root is None:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return None
        origin = spec and spec.origin
        return Path(origin) if origin and origin.endswith(".py") and not rest else None
    path = root.joinpath(*rest.split(".")) if rest else root
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=256)
def parsed(path: Path) -> ast.Module | None:
    """The syntax tree of a source file, cached; None if unreadable."""
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def docstring_summary(path: Path, name: str) -> str:
    """First docstring line of top-level class or function ``name`` in ``path``.

    Example:
        >>> docstring_summary(module_file("kreg.names"), "normalize")
        'Return the lookup key of ``name``: lower case, without ``_``, ``-`` or spaces.'
    """
    tree = parsed(path)
    if tree is None:
        return ""
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
            doc = ast.get_docstring(node) or ""
            return doc.strip().split("\n", 1)[0].strip()
    return ""


def summary_of_target(target: str) -> str:
    """Summary of a lazy ``"module:attr"`` target, read from source, never imported.

    Example:
        >>> summary_of_target("kreg.names:snake_case")
        'Turn a class name into its snake_case spelling, keeping ``IoU`` whole.'
    """
    module_name, _, attribute = target.partition(":")
    path = module_file(module_name)
    return docstring_summary(path, attribute) if path else ""


def imported_names(path: Path) -> list[tuple[str, str, str]]:
    """``(module, name, as_name)`` for each ``from module import name as as_name``.

    Example:
        >>> ("kreg.names", "normalize", "normalize") in imported_names(
        ...     module_file("kreg.registry.index"))
        True
    """
    tree = parsed(path)
    found: list[tuple[str, str, str]] = []
    for node in tree.body if tree else []:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found.append((node.module, alias.name, alias.asname or alias.name))
    return found


def string_aliases(path: Path, dict_name: str) -> list[tuple[str, str]]:
    """``(alias, target_name)`` pairs from ``DICT.update({"alias": target, ...})`` calls.

    This reads Keras's own alias tables (``"mse": mean_squared_error``).

    Example:
        >>> import tempfile, pathlib
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "m.py"
        >>> _ = file.write_text('D = {}\\nD.update({"mse": mean_squared_error})\\n')
        >>> string_aliases(file, "D")
        [('mse', 'mean_squared_error')]
    """
    tree = parsed(path)
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree) if tree else []:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == dict_name
            and node.args
            and isinstance(node.args[0], ast.Dict)
        ):
            for key, value in zip(node.args[0].keys, node.args[0].values):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Name):
                    found.append((str(key.value), value.id))
    return found
