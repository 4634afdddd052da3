-- The current value of every period per MPAN and quantity: among the usable values of submissions that
-- passed the checks, the one with the latest received_at (CONTRACT.md; a refused submission never hides
-- an earlier valid one). A submission from a data service not appointed is refused before this ordering,
-- so it never displaces the appointed service's value, even at the same received_at (ingestion keeps
-- both: its key holds the data service). Ties on received_at are broken by the landing file's hash, so
-- reruns agree.
-- Most MPAN-days have one submission: they take its usable values as they are; only restated days are
-- ordered and aggregated (found by a grouped count, not a window over every wide row).
-- (Bit operators share one precedence in DuckDB: every shift is parenthesised.)
with usable as not materialized (
    select
        *,
        present_mask & day_mask & ended_mask & ~above_max_mask as usable_mask
    from {{ ref('int_consumption_checked') }}
    where submission_reason_code is null
),

restated_days as (
    select mpan_core, measurement_quantity
    from usable
    group by mpan_core, measurement_quantity
    having count(*) > 1
),

single as (
    select
        mpan_core,
        measurement_quantity,
        {{ each_period('case when (usable_mask >> {p}) & 1 = 1 then kwh_{p:02d} end as kwh_{p:02d}') }},
        estimated_mask & usable_mask as estimated_mask,
        usable_mask as present_mask
    from usable
    anti join restated_days using (mpan_core, measurement_quantity)
),

restated_submissions as (
    select
        *,
        row_number() over (partition by mpan_core, measurement_quantity order by received_at, file_sha256) as submission_order
    from usable
    semi join restated_days using (mpan_core, measurement_quantity)
),

restated as (
    select
        mpan_core,
        measurement_quantity,
        {{ each_period('arg_max(kwh_{p:02d}, submission_order) filter (where (usable_mask >> {p}) & 1 = 1) as kwh_{p:02d}') }},
        (0::ubigint | {{ each_period('(coalesce(arg_max((estimated_mask >> {p}) & 1, submission_order)
            filter (where (usable_mask >> {p}) & 1 = 1), 0::ubigint) << {p})', ' | ') }}) as estimated_mask,
        bit_or(usable_mask) as present_mask
    from restated_submissions
    group by mpan_core, measurement_quantity
)

select * from single
union all
select * from restated
