"""The catalogue's rules as DuckDB SQL over text columns, for bulk validation at the boundary.

Each rule of an item becomes (reason code, human reason, SQL condition that is true when the value breaks
it). Rules run in the catalogue's column order and a row is refused for the first rule it breaks. The
same catalogue builds the pandera schemas; a test shows both refuse the same rows.
"""

from dataclasses import dataclass

from pipelines.catalogue import Dataset, Item
from pipelines.core.mpan import CHECK_WEIGHTS

DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
OFFSET_RE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
VALID_OFFSET_RE = r"(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)$"  # real offsets lie within -14:00..+14:00
NUMBER_RE = r"^[+-]?[0-9]+(\.[0-9]+)?$"
INTEGER_RE = r"^[+-]?[0-9]+$"


@dataclass(frozen=True)
class Rule:
    reason_code: str
    reason: str
    broken_when: str  # SQL, true when the value breaks the rule


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_type(item: Item) -> str:
    """The item's DuckDB type (the catalogue's one type map)."""
    return item.duckdb_type


def typed(item: Item, column: str | None = None) -> str:
    """SQL giving the typed value of a text column (NULL when empty); use after the rules passed."""
    value = f"NULLIF(TRIM({quote_identifier(column or item.name)}), '')"
    return f"TRY_CAST({value} AS {sql_type(item)})"


def _check_digit_sql(value: str) -> str:
    # Integer arithmetic on the 13-digit number, cast once (inside a one-element list): much faster than 13
    # substrings or 14 casts (the format rule ran first).
    weighted = " + ".join(f"(n // {10 ** (12 - i)} % 10) * {w}" for i, w in enumerate(CHECK_WEIGHTS))
    return f"list_transform([TRY_CAST({value} AS BIGINT)], lambda n: (({weighted}) % 11) % 10 <> n % 10)[1]"


def rules_for(item: Item, column: str | None = None, trimmed: bool = False) -> list[Rule]:
    """The item's rules in the order they are checked: presence, type, then value rules. With `trimmed`, the
    column already holds the value trimmed with empty text as NULL (saves trimming it again in every rule)."""
    code = item.name.upper()
    value = quote_identifier(column or item.name) if trimmed else f"NULLIF(TRIM({quote_identifier(column or item.name)}), '')"
    present = f"{value} IS NOT NULL"
    rules: list[Rule] = []
    if not item.nullable:
        rules.append(Rule(f"{code}_MISSING", f"{item.name} is required", f"{value} IS NULL"))
    number = f"TRY_CAST({value} AS DOUBLE)"
    if item.type == "date":
        rules.append(
            Rule(
                f"{code}_NOT_A_DATE",
                f"{item.name} must be a date YYYY-MM-DD",
                f"{present} AND (NOT regexp_matches({value}, {_literal(DATE_RE)}) OR TRY_CAST({value} AS DATE) IS NULL)",
            )
        )
    elif item.type == "timestamp":
        rules.append(
            Rule(
                f"{code}_NOT_A_TIMESTAMP",
                f"{item.name} must be an ISO-8601 timestamp",
                f"{present} AND (NOT regexp_matches({value}, {_literal(TIMESTAMP_RE)}) "
                f"OR TRY_CAST(regexp_replace({value}, {_literal(OFFSET_RE)}, '') AS TIMESTAMP) IS NULL)",
            )
        )
        rules.append(
            Rule(
                f"{code}_WITHOUT_OFFSET",
                f"{item.name} has no UTC offset; a timestamp without an offset is rejected, not guessed",
                f"{present} AND NOT regexp_matches({value}, {_literal(OFFSET_RE)})",
            )
        )
        rules.append(
            Rule(
                f"{code}_BAD_OFFSET",
                f"{item.name} has an offset that cannot be read",
                f"{present} AND (NOT regexp_matches({value}, {_literal(VALID_OFFSET_RE)}) "
                f"OR TRY_CAST({value} AS TIMESTAMPTZ) IS NULL)",
            )
        )
    elif item.type == "decimal":
        rules.append(
            Rule(
                f"{code}_NOT_A_NUMBER",
                f"{item.name} must be a decimal number",
                f"{present} AND NOT regexp_matches({value}, {_literal(NUMBER_RE)})",
            )
        )
        number = f"TRY_CAST({value} AS DECIMAL(38,10))"
        rules.append(
            Rule(
                f"{code}_TOO_LARGE",
                f"{item.name} is too large to hold as {sql_type(item)}",
                f"{present} AND TRY_CAST({value} AS {sql_type(item)}) IS NULL",
            )
        )
    elif item.type == "integer":
        rules.append(
            Rule(
                f"{code}_NOT_AN_INTEGER",
                f"{item.name} must be a whole number",
                f"{present} AND (NOT regexp_matches({value}, {_literal(INTEGER_RE)}) OR TRY_CAST({value} AS {sql_type(item)}) IS NULL)",
            )
        )
    if item.pattern:
        rules.append(
            Rule(
                f"{code}_BAD_FORMAT",
                f"{item.name} must match {item.pattern}",
                f"{present} AND NOT regexp_matches({value}, {_literal(item.pattern)})",
            )
        )
    if item.allowed_values:
        values = ", ".join(_literal(v) for v in item.allowed_values)
        rules.append(
            Rule(
                f"{code}_NOT_ALLOWED",
                f"{item.name} must be one of {', '.join(item.allowed_values)}",
                f"{present} AND {value} NOT IN ({values})",
            )
        )
    if item.min is not None:
        rules.append(Rule(f"{code}_BELOW_MIN", f"{item.name} must be at least {item.min}", f"{present} AND {number} < {item.min}"))
    if item.max is not None:
        rules.append(Rule(f"{code}_ABOVE_MAX", f"{item.name} must be at most {item.max}", f"{present} AND {number} > {item.max}"))
    if item.type == "decimal" and item.scale is not None:
        too_many_decimals = _literal(r"\.[0-9]{" + str(item.scale + 1) + ",}$")
        rules.append(
            Rule(
                f"{code}_TOO_MANY_DECIMALS",
                f"{item.name} has more than {item.scale} decimal places",
                f"{present} AND regexp_matches({value}, {too_many_decimals})",
            )
        )
    for check in item.checks:
        if check == "mpan_check_digit":
            rules.append(
                Rule(f"{code}_CHECK_DIGIT", f"{item.name} fails the MPAN check digit", f"{present} AND {_check_digit_sql(value)}")
            )
        elif check == "half_hour_boundary":
            rules.append(
                Rule(
                    f"{code}_NOT_HALF_HOUR",
                    f"{item.name} must start a half hour (:00 or :30, no seconds)",
                    f"{present} AND epoch(TRY_CAST({value} AS TIMESTAMPTZ)) % 1800 <> 0",
                )
            )
        else:
            raise ValueError(f"no SQL for named check {check}")
    return rules


def newest_version(dataset: Dataset) -> str:
    """SQL of the newest version of each row's entity, as a window (the dataset's `newest` rule): a row is
    current when its version column equals it. Registrations: the newest snapshot date holding the MPAN."""
    if dataset.newest is None:
        raise ValueError(f"dataset {dataset.name} has no newest rule")
    version, per = dataset.newest
    return f"max({version}) over (partition by {', '.join(per)})"
