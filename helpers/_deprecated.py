"""Old argument and field names, kept working for a while with a ``DeprecationWarning``.

Release 0.2 gave ``helpers`` one vocabulary (``steps``, ``batch_size``, ``lr``, ``seed``,
``progress``, ``rng``; results' ``train_s`` and ``history``; samplers' ``steps``, ``d`` and ``rng``
as keywords). Release 0.3 finished it (options keyword-only, ``z_dim``, ``chunk_size``, one result
type per function). Code written against 0.1 or 0.2 still runs, and is told what to write instead.
Everything here goes in release 0.4 (CHANGELOG.md lists each old name).
"""

from __future__ import annotations

import functools
import warnings

REMOVED_IN = "0.4"

__all__ = ["renamed_arguments", "keyword_only", "renamed_field", "moved", "deprecated_use"]


def _warn(message, stacklevel=3):
    warnings.warn(f"{message} (deprecated; removed in helpers {REMOVED_IN})",
                  DeprecationWarning, stacklevel=stacklevel)


def deprecated_use(message):
    """Warn, in this module's one wording, that the caller used something deprecated."""
    _warn(message, stacklevel=4)


def moved(module_name, old_to_new):
    """A module ``__getattr__`` that serves names that moved elsewhere, with a warning.

    ``old_to_new`` maps an old name to ``(new_home, value_getter)``; use it in the old module as
    ``__getattr__ = moved(__name__, {"Adam": ("helpers.nets.Adam", lambda: nets.Adam)})``.
    """
    def __getattr__(name):
        if name in old_to_new:
            new_home, get = old_to_new[name]
            _warn(f"{module_name}.{name} is now {new_home}")
            return get()
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
    return __getattr__


def renamed_arguments(**old_to_new):
    """Decorator: each old keyword still works, passed on under its new name, with a warning."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ValueError(f"{func.__name__}() got both {old}= and its new name "
                                         f"{new}=; pass only {new}=")
                    _warn(f"{func.__qualname__}({old}=...) is now {func.__qualname__}({new}=...)")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)
        return wrapper
    return decorate


def keyword_only(n_positional, old_order):
    """Decorator: arguments that became keyword-only may still come by position, with a warning.

    ``n_positional`` arguments stay positional; positional arguments after them are given the
    names ``old_order`` in turn, as the old signature read them.
    """
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            extra = args[n_positional:]
            if extra:
                if len(extra) > len(old_order):
                    raise ValueError(f"{func.__name__}() takes {n_positional} positional "
                                     f"arguments, got {len(args)}")
                names = old_order[:len(extra)]
                both = [n for n in names if n in kwargs]
                if both:
                    raise ValueError(f"{func.__name__}() got {both[0]} both by position and "
                                     f"as {both[0]}=")
                _warn(f"{func.__qualname__}() takes {', '.join(names)} as keywords now: write "
                      + ", ".join(f"{n}=..." for n in names))
                kwargs.update(zip(names, extra))
            return func(*args[:n_positional], **kwargs)
        return wrapper
    return decorate


def renamed_field(old, new):
    """A read-only property ``old`` of a result that returns its field ``new``, with a warning."""
    def read(self):
        _warn(f"{type(self).__name__}.{old} is now .{new}")
        return getattr(self, new)
    return property(read, doc=f"Deprecated name of ``{new}``.")
