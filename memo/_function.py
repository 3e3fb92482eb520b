"""One cached function's options and state: what the drivers, the wrapper and the controls share."""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Callable
from typing import Any

from memo import _config, _notebook  # noqa: F401  # _notebook: records keep notebook classes live
from memo._flight import Flights
from memo._identity import check_identifiable, resolve
from memo._keymaker import KeyMaker
from memo._keys import check_segment, function_prefix
from memo._policy import Policy, Stats
from memo._store import Store, store_for
from memo._types import CacheOptions, Entry
from memo._watch import Watch
from memo.exceptions import ConfigurationError, HashingError

__all__ = ["OPTION_NAMES", "CachedState", "Options", "check_callable", "make_entry"]


OPTION_NAMES = frozenset(CacheOptions.__annotations__)


class Options:
    """Validated decorator options (see :class:`CacheOptions` for what each one means)."""

    def __init__(self, options: CacheOptions) -> None:
        unknown = sorted(set(options) - OPTION_NAMES)
        if unknown:
            import difflib

            hints = [difflib.get_close_matches(name, OPTION_NAMES, 1) for name in unknown]
            said = ", ".join(f"{n!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for n, h in zip(unknown, hints))
            raise TypeError(
                f"memo.cache() got unknown option {said}; its options are {', '.join(sorted(OPTION_NAMES))}"
            )
        backend = options.get("backend")
        self.backend = None if backend is None else _config.resolve_backend(backend)
        self.ttl = _config.normalize_ttl(options.get("ttl"))
        ignore: object = options.get("ignore", ())
        if isinstance(ignore, str):
            ignore = (ignore,)
        if not isinstance(ignore, (tuple, list, set, frozenset)) or not all(isinstance(n, str) for n in ignore):
            raise ConfigurationError(f"ignore={ignore!r}: pass a tuple of parameter names, e.g. ignore=('verbose',)")
        self.ignore: tuple[str, ...] = tuple(ignore)
        key, condition = options.get("key"), options.get("condition")
        for name, given in (("key", key), ("condition", condition)):
            if given is not None and not callable(given):
                raise ConfigurationError(f"{name}={given!r} is not callable: pass a function or None")
        self.key = key
        self.condition = condition
        version, namespace = options.get("version"), options.get("namespace")
        for name, text in (("version", version), ("namespace", namespace)):
            if text is not None:
                check_segment(name, text)
        self.version: str | None = version
        self.namespace: str = namespace or "default"
        lock = options.get("lock", True)
        if not isinstance(lock, bool):
            raise ConfigurationError(f"lock={lock!r}: pass True or False")
        self.lock: bool = lock
        timeout = _config.normalize_ttl(options.get("lock_timeout", 60), "lock_timeout")
        self.lock_timeout: float = 60.0 if timeout is None else timeout
        on_error = options.get("on_error")
        self.on_error = None if on_error is None else _config.check_on_error(on_error)
        self.secret = _config.normalize_secret(options.get("secret"))
        track = options.get("track_globals")
        if track is not None and not isinstance(track, bool):
            raise ConfigurationError(f"track_globals={track!r}: pass True, False or None")
        self.track_globals: bool | None = track
        verbose = options.get("verbose")
        if verbose is not None and not isinstance(verbose, bool):
            raise ConfigurationError(f"verbose={verbose!r}: pass True, False or None")
        self.verbose: bool | None = verbose


# Every live function's state, so ``configure(verbose=True)`` can empty their slot maps:
# a verbose call is never served by the wrapper's inline hit (which cannot print), and
# that keeps the inline path free of any verbose check for everyone else.
states: weakref.WeakSet[CachedState] = weakref.WeakSet()


def drop_inline_hits() -> None:
    """Empty every function's slot map: their next hits go through ``_enter``, which prints when verbose."""
    for c in list(states):
        c.slots.clear()


class CachedState:
    """Per-function state shared by the drivers and the attached controls."""

    def __init__(self, func: Callable[..., Any], opts: Options) -> None:
        self.func = func
        self.opts = opts
        target = resolve(func)
        check_identifiable(func, target, opts.version)
        self.name = target.name
        self.fn_prefix = function_prefix(opts.namespace, self.name)
        watch = Watch(target, self.fn_prefix, opts.version, frozenset(opts.ignore), opts.track_globals)
        self.keys = KeyMaker(func, watch, opts.ignore, opts.key)
        self.keys.check_ignore(opts.ignore)
        try:
            watch.sync()
        except HashingError as exc:  # a partial's args are its identity: refused now, not at the first call
            if "functools.partial" in str(exc):
                raise ConfigurationError(f"@memo.cache cannot identify {func!r}: {exc}") from None
        self.stats = Stats()
        self.policy = Policy(self.name, opts.on_error, self.stats)
        self.flights = Flights()
        self._last: tuple[Any, Any, Any] = (None, None, None)  # (backend, secret, store) of the last call
        # Typed call -> key (see KeyMaker), and typed call -> the MemoryBackend slot of its
        # entry, so a memory hit is one lookup; the slots map is emptied when the backend
        # changes and when full. The wrapper checks a slot's owner is this call's backend.
        self.fast: dict[tuple[Any, ...], str] = {}
        self.slots: dict[tuple[Any, ...], Any] = {}
        self.slots_owner: Any = None
        watch.maps += (self.fast, self.slots)  # emptied when the code or a hidden input changes
        states.add(self)

    def loud(self) -> bool:
        """Whether calls print a line (``verbose=``, else ``memo.configure(verbose=...)``)."""
        verbose = self.opts.verbose
        return _config.state.verbose if verbose is None else verbose

    def say(
        self, what: str, seconds: float, args: tuple[Any, ...], kwargs: dict[str, Any], bound: dict[str, Any] | None
    ) -> None:
        """Print the verbose line of one call, e.g. ``memo: load(path='a.csv') hit, saved 2.31 s``."""
        name = getattr(self.func, "__name__", None) or self.name
        shown = self.keys.describe(args, kwargs, bound)  # short: big arguments summarised, never repr-ed whole
        print(f"memo: {name}({shown}) {what} {seconds:.2f} s", file=sys.stdout, flush=True)

    @property
    def version(self) -> str:
        """The version of the code in place now (``version=``, else the live code's fingerprint)."""
        return self.keys.watch.version

    def store(self) -> Store:
        """The adapter for this call's backend (the default is looked up now, not at decoration)."""
        backend = self.opts.backend
        if backend is None:
            backend = _config.get_default_backend()
        secret = self.opts.secret or _config.state.secret
        last = self._last
        if last[0] is backend and last[1] is secret:
            return last[2]  # type: ignore[no-any-return]
        store = store_for(backend, self.opts.secret or _config.current_secret())
        self._last = (backend, secret, store)
        return store

    def ttl(self) -> float | None:
        return self.opts.ttl if self.opts.ttl is not None else _config.state.ttl

    def entry(
        self, value: Any, duration: float, args: tuple[Any, ...], kwargs: dict[str, Any], bound: dict[str, Any] | None
    ) -> Any:
        """The entry to store for a computed value, or None when ``condition`` says no.

        ``bound``: the call's arguments as binding them for its key left them (None: not bound yet).
        """
        condition = self.opts.condition
        if condition is not None and not condition(value):
            return None
        args_text = self.keys.describe(args, kwargs, bound)
        return make_entry(value, duration, self.name, args_text, self.version, self.ttl())


def make_entry(value: Any, duration: float, name: str, args: str, version: str, ttl: float | None) -> Entry:
    """A fresh entry for a computed result."""
    created = time.time()
    return Entry(
        value=value,
        function=name,
        args=args,
        created=created,
        expires=None if ttl is None else created + ttl,
        duration=duration,
        version=version,
    )


def check_callable(func: Any) -> None:
    if isinstance(func, type):
        raise ConfigurationError(
            f"@memo.cache cannot decorate the class {func.__qualname__}: decorate a function or method instead"
        )
    if not callable(func):
        raise ConfigurationError(f"@memo.cache needs a function, got {func!r}")
    import inspect  # at the first decoration, not at `import memo`

    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise ConfigurationError(
            f"@memo.cache cannot cache the generator function {getattr(func, '__qualname__', func)!r}: "
            "its result is consumed once; return a list (or other value) instead"
        )
    try:
        inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"@memo.cache cannot read the signature of {func!r}: {exc}") from None
