"""Results that were tuples, or changed type with a flag, before helpers 0.3.

A function that returned a tuple now returns a frozen dataclass, read by attribute
(``UnpacksAsTuple``); a ``return_*`` flag became a second function (``retired_flag``). For one
release the old ways still work, with a ``DeprecationWarning`` from ``helpers._deprecated``.
"""

from __future__ import annotations

import functools
from dataclasses import fields

from ._deprecated import deprecated_use

__all__ = ["UnpacksAsTuple", "retired_flag"]


class UnpacksAsTuple:
    """Mixin for a frozen dataclass that replaced a tuple: old unpacking still works, warned.

    The tuple is the fields in order, or the names in the class attribute ``old_tuple`` where
    the result gained fields the old tuple did not have.
    """

    def _as_tuple(self, how):
        names = getattr(type(self), "old_tuple", None) or [f.name for f in fields(self)]
        deprecated_use(f"{how} a {type(self).__name__} as a tuple; read its fields "
                       f"({', '.join(names)}) instead")
        return tuple(getattr(self, name) for name in names)

    def __iter__(self):
        return iter(self._as_tuple("unpacking"))


def retired_flag(flag, message, old_result):
    """Decorator: the option ``flag`` (a ``return_*`` flag before helpers 0.3, which changed the
    result's type) still works for one release, with a ``DeprecationWarning`` saying ``message``.

    ``flag=True`` returns ``old_result(*args, **kwargs)``, the old result; ``flag=False`` returns
    what the function returns now. The flag is no longer in the function's signature.
    """
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if flag not in kwargs:
                return func(*args, **kwargs)
            deprecated_use(message)
            return old_result(*args, **kwargs) if kwargs.pop(flag) else func(*args, **kwargs)
        return wrapper
    return decorate
