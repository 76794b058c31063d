"""Bounds on the size of what a definition's scripts and expressions compute.

The sandbox's deadline is checked between bytecode lines, so it cannot stop one long C-level
operation: `10**10**9`, `2 << 10**9`, `'a' * 10**10`, `'%09999999999d' % 1`,
`round(1, -10**9)` or `sum(range(10**12))` would each hold the interpreter (and every other
request) for minutes. Every operator and builtin that can build a huge value from small
operands goes through a guard here that estimates the result's size from the operands first
and refuses, with a ScriptError, anything over the bounds below. Both the BPMN script sandbox
(RestrictedPython) and the DSL expression language (simpleeval) use these guards.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from engine.errors import ScriptError

DEFAULT_TIME_LIMIT_SECONDS = 1.0  # a script's or expression's run in the sandbox, by default
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_LENGTH = 1_000_000  # characters of a string, items of a list, tuple or range
MAX_FORMAT_WIDTH = 1_000  # width or precision in a format
MAX_ROUND_DIGITS = 1_000
MAX_MODULAR_POW_BITS = 4096 * 4096  # bits(exponent) * bits(modulus) of pow(a, b, m)
MAX_RENDER = MAX_LENGTH  # characters str()/repr()/format may produce

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "|": operator.or_, "&": operator.and_, "^": operator.xor,
}
_SIZED = (str, bytes, bytearray, list, tuple)
# a %-conversion: optional (key), flags, width, .precision, length modifier, type
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.S)
# the width and precision of a format spec: [[fill]align][sign][z][#][0][width][,_][.prec]
_SPEC = re.compile(r"^(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[bcdeEfFgGnosxX%]?$", re.S)


def refuse(message: str, **details: Any) -> ScriptError:
    return ScriptError(f"{message} (definitions may not compute values this large)",
                       details={"limit": message, **details})


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _int_bits(value: int) -> int:
    return abs(value).bit_length()


def check_int(value: Any) -> Any:
    """value, unless it is an integer of more than MAX_INT_BITS bits."""
    if isinstance(value, int) and _int_bits(value) > MAX_INT_BITS:
        raise refuse(f"an integer of more than {MAX_INT_BITS} bits")
    return value


def _check_length(length: int, what: str) -> None:
    if length > MAX_LENGTH:
        raise refuse(f"a {what} of more than {MAX_LENGTH} items or characters")


def check_power(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        check_int(exponent)
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise refuse(f"a power of more than {MAX_INT_BITS} bits", base_bits=_int_bits(base),
                         exponent=exponent if exponent < 10**6 else "huge")


def check_format(template: Any, values: Any) -> None:
    """`template % values` for a string template: no huge widths or precisions, no `*`."""
    if not isinstance(template, str | bytes):
        return
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    for match in _PERCENT.finditer(text):
        width, precision, _kind = match.groups()
        if "*" in (width, precision):
            raise refuse("a '*' width or precision in a % format")
        for number in (width, precision):
            if number and (len(number) > 6 or int(number) > MAX_FORMAT_WIDTH):
                raise refuse(f"a % format width or precision over {MAX_FORMAT_WIDTH}")
    for value in values if isinstance(values, tuple) else (values,):
        check_render(value)
    if isinstance(values, Mapping):
        for value in values.values():
            check_render(value)


def check_format_spec(spec: Any) -> None:
    """A format spec (f'{x:>10}' or format(x, spec)) with a sane width and precision."""
    if not isinstance(spec, str) or not spec:
        return
    match = _SPEC.match(spec)
    numbers = match.groups() if match else re.findall(r"\d+", spec)
    for number in numbers:
        if number and (len(number) > 6 or int(number) > MAX_FORMAT_WIDTH):
            raise refuse(f"a format width or precision over {MAX_FORMAT_WIDTH}")


def check_render(value: Any) -> None:
    """Refuse to turn into text a value whose text would be huge: a container repeating a
    large string many times (`[s] * 10**6`) is small in memory but not as text."""
    budget = [MAX_RENDER]
    steps = [MAX_LENGTH]

    def walk(item: Any) -> None:
        steps[0] -= 1
        if steps[0] < 0:
            raise refuse(f"text of a value with more than {MAX_LENGTH} parts")
        if isinstance(item, str | bytes | bytearray):
            budget[0] -= len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            budget[0] -= _int_bits(item) // 3 + 1
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                walk(key)
                walk(inner)
        elif isinstance(item, list | tuple | set | frozenset):
            for inner in item:
                walk(inner)
        else:
            budget[0] -= 8
        if budget[0] < 0:
            raise refuse(f"text of more than {MAX_RENDER} characters")

    walk(value)


def binary(op: str, left: Any, right: Any) -> Any:
    """left op right, refused first if the result would be over the bounds."""
    check = _BOUNDS.get(op)
    if check is not None:
        check(left, right)
    return check_int(_OPERATORS[op](left, right))


def _check_shift(left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right) and left != 0 and right > 0:
        check_int(right)
        if _int_bits(left) + right > MAX_INT_BITS:
            raise refuse(f"a shift to more than {MAX_INT_BITS} bits")


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, _SIZED) and _is_int(right):
        _check_length(len(left) * max(right, 0), "repeated sequence")
    elif isinstance(right, _SIZED) and _is_int(left):
        _check_length(len(right) * max(left, 0), "repeated sequence")
    elif _is_int(left) and _is_int(right) and _int_bits(left) + _int_bits(right) \
            > MAX_INT_BITS:
        raise refuse(f"a product of more than {MAX_INT_BITS} bits")


def _check_sum(left: Any, right: Any) -> None:
    if isinstance(left, _SIZED) and isinstance(right, _SIZED):
        _check_length(len(left) + len(right), "joined sequence")


# operator -> what refuses a result over the bounds before it is computed
_BOUNDS: dict[str, Callable[[Any, Any], None]] = {
    "**": check_power, "<<": _check_shift, "*": _check_product, "+": _check_sum,
    "%": check_format}


def bounded_pow(base: Any, exponent: Any, modulus: Any = None) -> Any:
    """pow() with the bounds of `**`; with a modulus, a bounded amount of work."""
    if modulus is None:
        return binary("**", base, exponent)
    if _is_int(exponent) and _is_int(modulus) and (_int_bits(modulus) > 4096 or
            _int_bits(exponent) * max(_int_bits(modulus), 1) > MAX_MODULAR_POW_BITS):
        raise refuse("a modular power this large")
    return check_int(pow(base, exponent, modulus))


def bounded_round(number: Any, ndigits: Any = None) -> Any:
    """round() without `round(1, -10**9)` (which computes 10**10**9)."""
    if ndigits is None:
        return round(number)
    if _is_int(ndigits) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise refuse(f"rounding to more than {MAX_ROUND_DIGITS} digits")
    return round(number, ndigits)


def bounded_range(*args: Any) -> range:
    """range() of at most MAX_LENGTH numbers: C functions (sum, list, sorted, join) consume a
    range without the deadline seeing it."""
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_LENGTH + 1
    _check_length(length, "range")
    return numbers


def bounded_sum(items: Iterable[Any], start: Any = 0) -> Any:
    """sum(), adding one item at a time through the guarded `+` (so the deadline applies)."""
    total = start
    for item in items:
        total = binary("+", total, item)
    return total


class _BoundedStrType(type):
    """Makes BoundedStr stand in for `str`: calling it checks the size of the text first,
    and isinstance, issubclass and str's methods work as with str itself."""

    def __call__(cls, *args: Any, **kwargs: Any) -> str:
        if args:
            check_render(args[0])
        return str(*args, **kwargs)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, str)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, str)

    def __getattr__(cls, name: str) -> Any:
        return getattr(str, name)


class BoundedStr(metaclass=_BoundedStrType):
    """`str` in scripts: str(x) refused when x's text would be huge."""


def formatted_value(conversion: int, value: Any, spec: str = "") -> str:
    """One {value!conversion:spec} of an f-string, with the size checks of format()."""
    check_render(value)
    check_format_spec(spec)
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("a"):
        value = ascii(value)
    elif conversion == ord("s"):
        value = str(value)
    return format(value, spec)


def bounded_repr(value: Any) -> str:
    check_render(value)
    return repr(value)


def bounded_format(value: Any, spec: str = "") -> str:
    check_format_spec(spec)
    check_render(value)
    return format(value, spec)


def _checked_join(separator: str | bytes) -> Callable[[Iterable[Any]], Any]:
    def join(items: Iterable[Any]) -> Any:
        parts = list(items)
        _check_length(len(parts), "list to join")
        total = len(separator) * max(len(parts) - 1, 0)
        for part in parts:
            total += len(part) if isinstance(part, str | bytes | bytearray) else 0
            _check_length(total, "joined string")
        return separator.join(parts)
    return join


def _checked_widen(method: Callable[..., Any]) -> Callable[..., Any]:
    def widen(width: Any, *args: Any) -> Any:
        if _is_int(width):
            _check_length(width, "padded string")
        return method(width, *args)
    return widen


def _checked_replace(text: Any) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        if isinstance(old, str | bytes) and isinstance(new, str | bytes):
            found = int(text.count(old)) if old else len(text) + 1
            if count is not None and count >= 0:
                found = min(found, count)
            _check_length(len(text) + found * max(len(new) - len(old), 0), "replaced string")
        return text.replace(old, new, count)
    return replace


def _checked_expandtabs(text: Any) -> Callable[..., Any]:
    def expandtabs(tabsize: int = 8) -> Any:
        if _is_int(tabsize):
            tabs = int(text.count("\t" if isinstance(text, str) else b"\t"))
            _check_length(len(text) + tabs * max(tabsize, 0), "expanded string")
        return text.expandtabs(tabsize)
    return expandtabs


_GUARDED_METHODS = frozenset({"join", "ljust", "rjust", "center", "zfill", "replace",
                              "expandtabs", "translate", "maketrans", "to_bytes"})


def guarded_attribute(value: Any, name: str, found: Any) -> Any:
    """The bounded stand-in for a method that can build a huge result, else found."""
    if isinstance(value, type):  # str.ljust('a', n), str.format(...), int.to_bytes(1, n)
        if name in ("format", "format_map"):
            raise refuse(f"{name} (use % or an f-string)")
        if name in _GUARDED_METHODS:
            def unbound(instance: Any, *args: Any, **kwargs: Any) -> Any:
                method = guarded_attribute(instance, name, getattr(instance, name))
                return method(*args, **kwargs)
            return unbound
        return found
    if isinstance(value, str | bytes):
        if name == "join":
            return _checked_join(value)
        if name in ("ljust", "rjust", "center", "zfill"):
            return _checked_widen(found)
        if name == "replace":
            return _checked_replace(value)
        if name == "expandtabs":
            return _checked_expandtabs(value)
        if name in ("translate", "maketrans"):
            raise refuse(f"str.{name}")
    if isinstance(value, int) and name == "to_bytes":
        def to_bytes(length: int = 1, *args: Any, **kwargs: Any) -> bytes:
            if _is_int(length):
                _check_length(length, "byte string")
            return value.to_bytes(length, *args, **kwargs)
        return to_bytes
    return found
