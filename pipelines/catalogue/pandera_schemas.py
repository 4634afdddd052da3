"""pandera schemas built from the data catalogue, for typed frames (after parsing).

Built in memory from catalogue.yml each time, so they cannot drift from it; tests show each rule bites.
"""

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipelines import catalogue
from pipelines.core.mpan import CHECK_WEIGHTS

def _has_valid_check_digit(values: pd.Series) -> pd.Series:
    digits = values.str.extract("^" + "([0-9])" * 13 + "$").astype("float64").to_numpy()
    weighted = (digits[:, :12] * np.array(CHECK_WEIGHTS)).sum(axis=1)
    valid = ~np.isnan(digits).any(axis=1) & (weighted % 11 % 10 == digits[:, 12])
    return pd.Series(valid, index=values.index)


def _on_half_hour_boundary(values: pd.Series) -> pd.Series:
    return (values.dt.minute % 30 == 0) & (values.dt.second == 0) & (values.dt.microsecond == 0)


def _within_scale(scale: int):
    def check(values: pd.Series) -> pd.Series:
        scaled = values.to_numpy(dtype="float64") * 10**scale
        return pd.Series(np.abs(scaled - np.round(scaled)) < 1e-6, index=values.index)

    return check


NAMED_CHECKS = {
    "mpan_check_digit": lambda: pa.Check(_has_valid_check_digit, name="mpan_check_digit", error="MPAN check digit"),
    "half_hour_boundary": lambda: pa.Check(
        _on_half_hour_boundary, name="half_hour_boundary", error="starts on a :00 or :30 boundary"
    ),
}


def column_checks(item: catalogue.Item) -> list[pa.Check]:
    checks = []
    if item.pattern:
        checks.append(pa.Check.str_matches(item.pattern))
    if item.allowed_values:
        checks.append(pa.Check.isin(list(item.allowed_values)))
    if item.min is not None:
        checks.append(pa.Check.ge(item.min))
    if item.max is not None:
        checks.append(pa.Check.le(item.max))
    if item.type == "decimal" and item.scale is not None:
        checks.append(pa.Check(_within_scale(item.scale), name="decimal_places", error=f"at most {item.scale} decimal places"))
    if item.warn_min is not None and item.warn_max is not None:
        checks.append(pa.Check.in_range(item.warn_min, item.warn_max, raise_warning=True))
    checks.extend(NAMED_CHECKS[name]() for name in item.checks)
    return checks


def _unique_together(columns: tuple[str, ...]) -> pa.Check:
    return pa.Check(
        lambda frame: ~frame.duplicated(subset=list(columns), keep=False),
        name=f"unique_{'_'.join(columns)}",
        error=f"one row per {', '.join(columns)}",
    )


def pandera_schema(dataset_name: str) -> pa.DataFrameSchema:
    """Schema for a dataset: every catalogue rule, its key unique; extra columns are allowed (CONTRACT.md)."""
    dataset = catalogue.dataset(dataset_name)
    columns = {
        item.name: pa.Column(item.pandas_dtype, checks=column_checks(item), nullable=item.nullable, coerce=True)
        for item in dataset.columns
    }
    return pa.DataFrameSchema(
        columns,
        name=dataset_name,
        unique=list(dataset.key) or None,
        checks=[_unique_together(group) for group in dataset.unique],
        strict=False,
    )
