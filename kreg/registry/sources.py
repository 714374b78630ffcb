"""Read Python sources without importing them: docstrings and ``from x import y`` lists.

This is how kreg lists Keras (and lazy plugin targets) without importing
TensorFlow.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
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


_VERSION_LINE = re.compile(r"""^__version__ = ["']([^"']+)["']""", re.MULTILINE)


def keras_version_on_path() -> str | None:
    """The version of the Keras that ``import keras`` would load, read from its source
    (``keras/src/version.py``, else ``keras/__init__.py``) without importing it.

    Example:
        >>> from kreg.versions import installed_version
        >>> keras_version_on_path() == installed_version("keras")
        True
    """
    root = package_root("keras")
    for source in (root / "src" / "version.py", root / "__init__.py") if root else ():
        try:
            found = _VERSION_LINE.search(source.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if found:
            return found.group(1)
    return None


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
    """The syntax tree of a source file, cached; None if unreadable.

    Example:
        >>> type(parsed(module_file("kreg.names"))).__name__
        'Module'
    """
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def definition(module_name: str, name: str, depth: int = 6) -> ast.AST | None:
    """The ``class`` or ``def`` node that defines ``name`` as ``module_name`` exports it.

    Follows re-exports (``from .src.losses import PairwiseHingeLoss`` in a package's
    ``__init__``, relative or absolute) up to ``depth`` modules, reading sources only.

    Example:
        >>> type(definition("kreg.registry.sources", "parsed")).__name__
        'FunctionDef'
        >>> definition("kreg.registry.sources", "no_such_name") is None
        True
    """
    found = _defining(module_name, name, depth)
    return found[1] if found else None


def _defining(module_name: str, name: str, depth: int) -> tuple[str, ast.AST] | None:
    """``(module, node)``: the module-level statement that binds ``name``, re-exports followed."""
    path = module_file(module_name)
    tree = parsed(path) if path else None
    if tree is None or path is None:
        return None
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
            return module_name, node
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return module_name, node
    if depth <= 0:
        return None
    package = module_name if path.name == "__init__.py" else module_name.rpartition(".")[0]
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        for alias in node.names:
            if (alias.asname or alias.name) == name:
                source = _absolute(package, node.module, node.level)
                return _defining(source, alias.name, depth - 1) if source else None
    return None


def _absolute(package: str, module: str | None, level: int) -> str | None:
    """The absolute name of ``from <level dots><module> import ...`` inside ``package``."""
    if not level:
        return module
    parts = package.split(".")
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base) or None


def summary_of_target(target: str) -> str:
    """Summary of a lazy ``"module:attr"`` target, read from source, never imported.

    The docstring, or one the defining module assigns from string constants
    (``Name.__doc__ = TEMPLATE.format(kind="hinge")``, as keras-rs writes them), which
    replaces the docstring at import, so it wins here too.

    Example:
        >>> summary_of_target("kreg.names:snake_case")
        'Turn a class name into its snake_case spelling; ``IoU``, ``NaN``, ``SimCLR`` stay whole.'
    """
    module_name, _, attribute = target.partition(":")
    quick = _top_level_definition(module_name, attribute)
    if quick is not None:
        return (ast.get_docstring(quick) or "").strip().split("\n", 1)[0].strip()
    module, node = _defining(module_name, attribute, 6) or ("", None)
    if not isinstance(node, (ast.ClassDef, ast.FunctionDef)):
        return ""
    doc = _assigned_doc(module, node.name) or ast.get_docstring(node)
    return (doc or "").strip().split("\n", 1)[0].strip()


_TOP_LEVEL = re.compile(r"^(?=[^\s#)\]}])", re.MULTILINE)


def _top_level_definition(module_name: str, name: str) -> ast.ClassDef | ast.FunctionDef | None:
    """The ``class``/``def`` of ``name`` in ``module_name``'s own source, parsing only its
    lines (a library module can be long: ``kreg list`` reads one per entry). None when it is
    not defined there, when its docstring is replaced later (``Name.__doc__ = ...``), or when
    its lines do not parse alone: the caller then reads the whole module."""
    path = module_file(module_name)
    try:
        text = path.read_text(encoding="utf-8") if path else ""
    except (OSError, UnicodeDecodeError):
        return None
    start = re.search(rf"^(?:class|def|async def) {re.escape(name)}\b", text, re.MULTILINE)
    if start is None or re.search(rf"^{re.escape(name)}\.__doc__\s*=", text, re.MULTILINE):
        return None
    body = text.find("\n", start.end()) + 1 or len(text)
    end = _TOP_LEVEL.search(text, body)
    try:
        tree = ast.parse(text[start.start() : end.start() if end else len(text)])
    except (SyntaxError, ValueError):
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, (ast.ClassDef, ast.FunctionDef)) else None


def _assigned_doc(module: str, name: str) -> str | None:
    """The last ``name.__doc__ = <string expression>`` in ``module``, evaluated statically."""
    path = module_file(module)
    tree = parsed(path) if path else None
    for node in reversed(tree.body) if tree else []:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr == "__doc__"
            and isinstance(node.targets[0].value, ast.Name)
            and node.targets[0].value.id == name
        ):
            return _static_string(node.value, module, 0)
    return None


def _static_string(node: ast.expr, module: str, depth: int) -> str | None:
    """A string built only from literals, module constants, ``+`` and ``.format(...)``."""
    if depth > 8:
        return None
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        found = _defining(module, node.id, 4)
        if found is None or not isinstance(found[1], ast.Assign):
            return None
        return _static_string(found[1].value, found[0], depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _static_string(node.left, module, depth + 1)
        right = _static_string(node.right, module, depth + 1)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Call):
        func = node.func
        template = (
            _static_string(func.value, module, depth + 1)
            if isinstance(func, ast.Attribute) and func.attr == "format"
            else (_static_string(node.args[0], module, depth + 1) if node.args else None)
        )
        if template is None:
            return None
        values = {
            k.arg: _static_string(k.value, module, depth + 1) or "" for k in node.keywords if k.arg
        }
        return _formatted(template, values)
    return None


class _Blanks(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _formatted(template: str, values: dict[str, str]) -> str:
    try:
        return template.format_map(_Blanks(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def is_function(target: str) -> bool:
    """Whether a lazy ``"module:attr"`` target is defined as a function (by its source).

    Example:
        >>> is_function("kreg.names:snake_case"), is_function("kreg.registry.entry:Entry")
        (True, False)
    """
    module_name, _, attribute = target.partition(":")
    return isinstance(definition(module_name, attribute), ast.FunctionDef)


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
