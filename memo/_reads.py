"""Which outside names a function's code only *reads* and which it *mutates*, from its bytecode.

memo keys a call on the values a body reads from outside (closure variables today,
notebook globals later) and leaves out the ones it mutates: a log list it appends to or
a counter it bumps is state, not an input. The rule, decided once per code object:

* a name is **read** when any instruction loads it, in the body or in code nested in it
  (lambdas, comprehensions, inner functions), on any path;
* a name is **mutated** when the code rebinds it (``nonlocal n; n += 1``, ``global g;
  g = ...``), stores or deletes an item, slice or attribute on it (``cfg["k"] = v``,
  ``obj.a.b = v``, ``del d[k]``), or calls one of :data:`MUTATORS` on it or on an item
  or attribute of it (``log.append(x)``, ``state.seen.add(k)``);
* inputs are the names read and never mutated.

Mutations are found by a small abstract interpretation of the operand stack that tags the
values loaded from a name. Anything it does not model (unknown opcodes, jump targets,
exception handlers) drops every tag: an unrecognised pattern makes a name an *input*
(recomputed when its value changes), never *state* (which could serve stale results).
Aliasing (``items = log; items.append(x)``) and mutation inside callees are not seen
either; ``ignore=`` names a variable to leave out by hand.
"""

from __future__ import annotations

import dis
import sys
import types
from typing import NamedTuple

__all__ = ["MUTATORS", "SINKS", "Reads", "reads_of"]

#: Methods of the builtin containers (list, dict, set, bytearray, deque) that only write:
#: they return None whatever the container holds, so a bound one (``log.append``) is a
#: sink for results, never an input.
SINKS: frozenset[str] = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "clear",
        "sort",
        "reverse",
        "update",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "appendleft",
        "extendleft",
        "rotate",
    }
)

#: Method names whose call on a captured object marks it as mutated state.
MUTATORS: frozenset[str] = SINKS | {
    # the writers that also return what the container held
    "pop",
    "setdefault",
    "popitem",
    "popleft",
    # streams, queues, events and cache-like clients
    "write",
    "writelines",
    "put",
    "put_nowait",
    "set",
    "__setitem__",
    "__delitem__",
}


class Reads(NamedTuple):
    """What a code object (and the code nested in it) reads and mutates, by kind of name.

    ``free_*`` are closure (cell) names, ``global_*`` module-level names.
    """

    free_read: frozenset[str]
    free_mutated: frozenset[str]
    global_read: frozenset[str]
    global_mutated: frozenset[str]

    def free_inputs(self) -> frozenset[str]:
        """Closure names the code reads and never mutates."""
        return self.free_read - self.free_mutated

    def global_inputs(self) -> frozenset[str]:
        """Global names the code reads and never mutates."""
        return self.global_read - self.global_mutated


_NEW_ATTR = sys.version_info >= (3, 12)  # LOAD_ATTR's low bit marks a method load
_cache: dict[types.CodeType, Reads] = {}
_CACHE_MAX = 4096

# Instructions that push exactly one value (pops = 1 - net effect) or none (pops = -effect).
_PUSH_ONE_PREFIXES = ("BINARY_", "INPLACE_", "UNARY_", "BUILD_", "CALL", "FORMAT_")
_PUSH_ONE = frozenset(
    {
        "PRECALL",
        "COMPARE_OP",
        "IS_OP",
        "CONTAINS_OP",
        "CONVERT_VALUE",
        "TO_BOOL",
        "GET_ITER",
        "GET_YIELD_FROM_ITER",
        "GET_AWAITABLE",
        "MAKE_FUNCTION",
        "SET_FUNCTION_ATTRIBUTE",
        "IMPORT_NAME",
        "LIST_TO_TUPLE",
        "LOAD_CONST",
        "LOAD_FAST",
        "LOAD_FAST_CHECK",
        "LOAD_FAST_AND_CLEAR",
        "LOAD_SMALL_INT",
        "LOAD_CLOSURE",
        "LOAD_ASSERTION_ERROR",
        "LOAD_BUILD_CLASS",
        "LOAD_LOCALS",
        "PUSH_NULL",
        "STORE_FAST_LOAD_FAST",
    }
)
_PUSH_NONE = frozenset(
    {
        "POP_TOP",
        "STORE_FAST",
        "STORE_NAME",
        "STORE_FAST_STORE_FAST",
        "DELETE_FAST",
        "DELETE_NAME",
        "NOP",
        "RESUME",
        "CACHE",
        "EXTENDED_ARG",
        "COPY_FREE_VARS",
        "MAKE_CELL",
        "KW_NAMES",
        "POP_JUMP_IF_TRUE",
        "POP_JUMP_IF_FALSE",
        "POP_JUMP_IF_NONE",
        "POP_JUMP_IF_NOT_NONE",
        "POP_JUMP_FORWARD_IF_TRUE",
        "POP_JUMP_FORWARD_IF_FALSE",
        "POP_JUMP_BACKWARD_IF_TRUE",
        "POP_JUMP_BACKWARD_IF_FALSE",
        "POP_JUMP_FORWARD_IF_NONE",
        "POP_JUMP_FORWARD_IF_NOT_NONE",
        "POP_JUMP_BACKWARD_IF_NONE",
        "POP_JUMP_BACKWARD_IF_NOT_NONE",
        "LIST_APPEND",
        "SET_ADD",
        "MAP_ADD",
        "LIST_EXTEND",
        "SET_UPDATE",
        "DICT_UPDATE",
        "DICT_MERGE",
        "POP_EXCEPT",
        "POP_BLOCK",
        "PRINT_EXPR",
        "GEN_START",
        "RETURN_VALUE",
        "RETURN_CONST",
    }
)
# After these the next instruction is reached only by a jump: what the stack held is gone.
_TRANSFERS = frozenset(
    {
        "RETURN_VALUE",
        "RETURN_CONST",
        "RAISE_VARARGS",
        "RERAISE",
        "JUMP_FORWARD",
        "JUMP_BACKWARD",
        "JUMP_ABSOLUTE",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "JUMP",
        "JUMP_NO_INTERRUPT",
    }
)
_DEREF_LOADS = frozenset({"LOAD_DEREF", "LOAD_CLASSDEREF", "LOAD_FROM_DICT_OR_DEREF"})


def reads_of(code: types.CodeType) -> Reads:
    """The :class:`Reads` of ``code``, analysed once per code object."""
    found = _cache.get(code)
    if found is None:
        free_read: set[str] = set()
        free_mut: set[str] = set()
        glob_read: set[str] = set()
        glob_mut: set[str] = set()
        _scan(code, free_read, free_mut, glob_read, glob_mut, 0)
        found = Reads(frozenset(free_read), frozenset(free_mut), frozenset(glob_read), frozenset(glob_mut))
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[code] = found
    return found


def _mark(tag: str | None, free_mut: set[str], glob_mut: set[str]) -> None:
    if tag is None:
        return
    (free_mut if tag[0] == "d" else glob_mut).add(tag[2:])


def _scan(
    code: types.CodeType, free_read: set[str], free_mut: set[str], glob_read: set[str], glob_mut: set[str], depth: int
) -> None:
    """Record the reads and mutations of ``code`` and of the code objects nested in it."""
    if depth > 50:
        return
    stack: list[str | None] = []  # per value: "d:name" (closure) or "g:name" (global) it came from

    def pop(n: int) -> list[str | None]:
        out = [stack.pop() if stack else None for _ in range(n)]
        return out  # out[0] was the top of the stack

    for ins in dis.get_instructions(code):
        op = ins.opname
        if ins.is_jump_target:
            stack = [None] * len(stack)
        if op in _DEREF_LOADS:
            if op == "LOAD_FROM_DICT_OR_DEREF":
                pop(1)
            free_read.add(ins.argval)
            stack.append("d:" + ins.argval)
        elif op == "LOAD_GLOBAL":
            glob_read.add(ins.argval)
            pushed = dis.stack_effect(ins.opcode, ins.arg)
            stack.extend([None] * (pushed - 1))
            stack.append("g:" + ins.argval if pushed == 1 else None)
        elif op in ("LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"):
            if op == "LOAD_FROM_DICT_OR_GLOBALS":
                pop(1)
            glob_read.add(ins.argval)
            stack.append(None)
        elif op in ("STORE_DEREF", "DELETE_DEREF"):
            free_mut.add(ins.argval)
            if op == "STORE_DEREF":
                pop(1)
        elif op in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            glob_mut.add(ins.argval)
            if op == "STORE_GLOBAL":
                pop(1)
        elif op == "LOAD_METHOD" or (op == "LOAD_ATTR" and _NEW_ATTR and ins.arg is not None and ins.arg & 1):
            (obj,) = pop(1)
            if ins.argval in MUTATORS:
                _mark(obj, free_mut, glob_mut)
            stack.extend([None, None])
        elif op == "LOAD_ATTR":
            (obj,) = pop(1)
            stack.append(obj)  # an attribute of a name's value is part of that value's state
        elif op == "BINARY_SUBSCR":
            _key, container = pop(2)
            stack.append(container)  # so is an item of it
        elif op == "STORE_ATTR":
            _mark(pop(2)[0], free_mut, glob_mut)
        elif op == "DELETE_ATTR":
            _mark(pop(1)[0], free_mut, glob_mut)
        elif op == "STORE_SUBSCR":
            _mark(pop(3)[1], free_mut, glob_mut)
        elif op == "DELETE_SUBSCR":
            _mark(pop(2)[1], free_mut, glob_mut)
        elif op == "STORE_SLICE":
            _mark(pop(4)[2], free_mut, glob_mut)
        elif op in ("DUP_TOP", "DUP_TOP_TWO", "COPY"):
            n = 2 if op == "DUP_TOP_TWO" else (ins.arg or 1) if op == "COPY" else 1
            while len(stack) < n:
                stack.insert(0, None)
            if op == "DUP_TOP_TWO":
                stack.extend(stack[-2:])
            else:
                stack.append(stack[-n])
        elif op in ("ROT_TWO", "ROT_THREE", "ROT_FOUR", "ROT_N", "SWAP"):
            n = {"ROT_TWO": 2, "ROT_THREE": 3, "ROT_FOUR": 4}.get(op, ins.arg or 1)
            while len(stack) < n:
                stack.insert(0, None)
            if op == "SWAP":
                stack[-1], stack[-n] = stack[-n], stack[-1]
            else:  # the top moves down n - 1 places
                stack.insert(len(stack) - n, stack.pop())
        else:
            effect = _effect(ins)
            if effect is not None and op in _PUSH_NONE and effect <= 0:
                pop(-effect)
            elif effect is not None and _pushes_one(op) and effect <= 1:
                pop(1 - effect)
                stack.append(None)
            else:  # not modelled: forget every tag
                stack = [None] * max(0, len(stack) + (effect or 0))
        if op in _TRANSFERS:
            stack = [None] * len(stack)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _scan(const, free_read, free_mut, glob_read, glob_mut, depth + 1)


def _pushes_one(op: str) -> bool:
    return op in _PUSH_ONE or op.startswith(_PUSH_ONE_PREFIXES)


def _effect(ins: dis.Instruction) -> int | None:
    """Net stack effect of the fall-through path, or None when dis cannot tell."""
    try:
        return dis.stack_effect(ins.opcode, ins.arg if ins.opcode >= dis.HAVE_ARGUMENT else None, jump=False)
    except (ValueError, TypeError):
        return None
