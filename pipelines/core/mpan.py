"""MPAN core check digit (DOMAIN.md section 7)."""

import re

import numpy as np

# The one definition of the weights: the catalogue's SQL rule and pandera check read them, and dbt's macro
# mpan_check_weights() is generated from them (dbt_project/macros/catalogue/catalogue_rules.sql, `make catalogue`).
CHECK_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
MPAN_CORE_PATTERN = r"^[0-9]{13}$"
_MPAN_RE = re.compile(MPAN_CORE_PATTERN)


def check_digit(first_twelve: str) -> int:
    """Check digit for the first 12 digits of an MPAN core."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError(f"expected 12 digits, got {first_twelve!r}")
    total = sum(int(d) * w for d, w in zip(first_twelve, CHECK_WEIGHTS))
    return total % 11 % 10


def is_valid_mpan_core(mpan_core: str) -> bool:
    """True for 13 digits whose last digit is the check digit of the first 12."""
    if not isinstance(mpan_core, str) or not _MPAN_RE.match(mpan_core):
        return False
    return check_digit(mpan_core[:12]) == int(mpan_core[12])


def check_digits(first_twelve: np.ndarray) -> np.ndarray:
    """Vectorised check digits for integers holding the first 12 digits of many MPAN cores."""
    values = np.asarray(first_twelve, dtype=np.int64)
    total = np.zeros(values.shape, dtype=np.int64)
    for position, weight in enumerate(reversed(CHECK_WEIGHTS)):
        total += (values // 10**position % 10) * weight
    return total % 11 % 10


def mpan_cores(first_twelve: np.ndarray) -> np.ndarray:
    """Valid 13-digit MPAN cores (as int64) for integers holding their first 12 digits."""
    values = np.asarray(first_twelve, dtype=np.int64)
    return values * 10 + check_digits(values)
