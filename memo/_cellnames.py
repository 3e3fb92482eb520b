"""What a notebook cell reads and what it binds, from its code alone (for ``%%cache``).

Scopes come from :mod:`symtable`, order from :mod:`ast`; nothing is run or imported. Example::

    >>> analyse("import numpy as np\\ntotal = np.sum(data) * SCALE")
    CellNames(reads=('SCALE', 'data'), assigns=('np', 'total'))
"""

from __future__ import annotations

import ast
import symtable
from typing import NamedTuple

__all__ = ["CellNames", "analyse"]


class CellNames(NamedTuple):
    """The notebook names a cell reads before assigning them (its inputs) and those it binds.

    Example::

        >>> analyse("y = x + 1\\nz = y")
        CellNames(reads=('x',), assigns=('y', 'z'))
    """

    reads: tuple[str, ...]
    assigns: tuple[str, ...]


_BINDERS = (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _binds(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds whenever it completes (not under if/for/with/try)."""
    if not isinstance(stmt, _BINDERS) or (isinstance(stmt, ast.AnnAssign) and stmt.value is None):
        return set()
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _augmented(node: ast.AST) -> set[str]:
    """Names an augmented assignment (``n += 1``) reads and rebinds; symtable counts them as stores only."""
    return {n.target.id for n in ast.walk(node) if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}


def _mentions(stmt: ast.stmt) -> set[str]:
    loads = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)}
    return loads | _augmented(stmt)


class _ComprehensionOnly(ast.NodeVisitor):
    """Names that occur at module scope only as a comprehension's own variables.

    Since Python 3.12 comprehensions are inlined (PEP 709) and :mod:`symtable` lists their
    variables (``i`` in ``[i * i for i in data]``) among the module's symbols; they are
    neither read from nor left in the notebook, so they are taken out again.
    Function, lambda and class bodies are their own scopes and are not entered.
    """

    def __init__(self) -> None:
        self.bound: list[set[str]] = []
        self.inside: set[str] = set()
        self.outside: set[str] = set()
        self.stores: set[str] = set()  # module names bound by a plain name target (walrus in a comprehension too)

    def _name(self, name: str | None, shadowed: bool = False) -> None:
        if name is not None:
            (self.inside if shadowed else self.outside).add(name)

    def visit_Name(self, node: ast.Name) -> None:
        shadowed = any(node.id in b for b in self.bound)
        self._name(node.id, shadowed)
        if not shadowed and not isinstance(node.ctx, ast.Load):
            self.stores.add(node.id)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        bound: set[str] = set()
        self.bound.append(bound)
        for generator in node.generators:
            self.visit(generator.iter)  # evaluated before this generator's variables are bound
            bound.update(n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name))
            self.visit(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            self.visit(part)
        self.bound.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda) -> None:
        if not isinstance(node, ast.Lambda):
            self._name(node.name)
            for decorator in node.decorator_list:
                self.visit(decorator)
        if isinstance(node, ast.ClassDef):
            for base in [*node.bases, *node.keywords]:
                self.visit(base)
        else:
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    self.visit(default)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope

    def visit_alias(self, node: ast.alias) -> None:
        self._name((node.asname or node.name).split(".")[0])

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._name(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self._name(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        self._name(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self._name(node.rest)
        self.generic_visit(node)


def _module_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(names only a comprehension binds, names a plain target binds) at module scope."""
    visitor = _ComprehensionOnly()
    visitor.visit(tree)
    return visitor.inside - visitor.outside, visitor.stores


def _global_reads(table: symtable.SymbolTable, found: set[str]) -> None:
    """Names nested scopes (functions, classes, comprehensions) look up among the globals."""
    for child in table.get_children():
        for sym in child.get_symbols():
            if sym.is_global() and sym.is_referenced():
                found.add(sym.get_name())
        _global_reads(child, found)


def analyse(source: str) -> CellNames:
    """Which notebook names a cell (plain Python) reads as inputs and which it binds.

    Scopes come from :mod:`symtable`: a function's parameters and locals are not inputs,
    the globals its body reads are. A name the cell also binds is an input unless an
    earlier top-level statement always binds it first (``x = 1`` then ``y = x``: ``x`` is
    not an input; ``x = x + 1`` or a function read before ``x`` is set: it is), so
    re-running a cell whose own earlier result is in the namespace still finds its entry.
    Raises SyntaxError for code that does not parse. Example::

        >>> analyse("import numpy as np\\ntotal = np.sum(data) * SCALE")
        CellNames(reads=('SCALE', 'data'), assigns=('np', 'total'))
    """
    tree = ast.parse(source)
    table = symtable.symtable(source, "<cell>", "exec")
    assigns: set[str] = set()
    reads: set[str] = set()
    for sym in table.get_symbols():
        if sym.is_assigned() or sym.is_imported():
            assigns.add(sym.get_name())
        if sym.is_referenced():
            reads.add(sym.get_name())
    only, stores = _module_names(tree)
    assigns = (assigns | stores) - only
    reads -= only
    _global_reads(table, reads)
    declared: set[str] = set()
    for child in _all_children(table):  # `global x; x = ...` inside a function binds a notebook name
        declared.update(s.get_name() for s in child.get_symbols() if s.is_declared_global() and s.is_assigned())
    assigns |= declared
    reads |= _augmented(tree) & assigns  # `n += 1` reads n first (a local of a function is over-counted: safe)
    bound: set[str] = set()
    inputs: set[str] = set()
    for stmt in tree.body:  # in order: read before it is surely bound, or in the statement binding it
        inputs.update((_mentions(stmt) & reads) - bound)
        bound |= _binds(stmt)
    inputs |= reads - assigns
    return CellNames(tuple(sorted(inputs)), tuple(sorted(assigns)))


def _all_children(table: symtable.SymbolTable) -> list[symtable.SymbolTable]:
    found = []
    for child in table.get_children():
        found.append(child)
        found.extend(_all_children(child))
    return found
