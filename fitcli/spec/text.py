"""The spec as text: size, encoding and the guards shared by both readers."""
from __future__ import annotations

import re

from ..errors import SpecError

#: Largest accepted spec file, in bytes.
MAX_SPEC_BYTES = 1 << 20
#: Accepted file suffixes -> format.
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}

#: Most digits of an integer in a spec: numbers are 64-bit floats, whose
#: largest finite value has 309 digits (longer integers would also make
#: Python's int conversion refuse, or spend quadratic time).
MAX_INT_DIGITS = 309
_LONG_INT = re.compile(r"(?<![\w.])[-+]?\d[\d_]{%d,}(?![\w.])" % MAX_INT_DIGITS)


def _long_int_message(text):
    digits = sum(ch.isdigit() for ch in text)
    return (f"the integer {text[:12]}... has {digits} digits; numbers are "
            f"64-bit floats (at most {MAX_INT_DIGITS} digits)")

def _decode(raw, source):
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError("spec is not valid UTF-8 text (byte "
                        f"0x{raw[exc.start]:02x})", file=source,
                        line=line) from None

