-- The current value of every period per MPAN and quantity: among the usable values of submissions that
-- passed the checks, the one with the latest received_at (CONTRACT.md; a refused submission never hides
-- an earlier valid one). Ties on received_at are broken by the landing file's hash, so reruns agree.
-- (Bit operators share one precedence in DuckDB: every shift is parenthesised.)
with usable as (
    select
        *,
        present_mask & day_mask & ended_mask & ~above_max_mask as usable_mask
    from {{ ref('int_consumption_checked') }}
    where submission_reason_code is null
)

select
    mpan_core,
    measurement_quantity,
    {%- for p in period_numbers() %}
    arg_max(kwh_{{ '%02d' % p }}, (received_at, file_sha256))
        filter (where (usable_mask >> {{ p }}) & 1 = 1) as kwh_{{ '%02d' % p }},
    {%- endfor %}
    (0::ubigint
    {%- for p in period_numbers() %}
        | (coalesce(arg_max((estimated_mask >> {{ p }}) & 1, (received_at, file_sha256))
            filter (where (usable_mask >> {{ p }}) & 1 = 1), 0::ubigint) << {{ p }})
    {%- endfor %}) as estimated_mask,
    bit_or(usable_mask) as present_mask
from usable
group by mpan_core, measurement_quantity
