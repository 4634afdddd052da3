{#- Generated from pipelines/catalogue/catalogue.yml and pipelines/core/mpan.py by `make catalogue`; do not edit. -#}

{#- The MPAN core check-digit weights (DOMAIN.md section 7): pipelines.core.mpan.CHECK_WEIGHTS. -#}
{% macro mpan_check_weights() -%}
{{ return([3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43]) }}
{%- endmacro %}

{#- The newest snapshot date holding each row's MPAN: its rows replace all older ones (CONTRACT.md; the
    catalogue's `newest` rule of registrations). -#}
{% macro registrations_newest_snapshot_date() -%}
max(snapshot_date) over (partition by mpan_core)
{%- endmacro %}

{#- The current registration history: the rows of the newest snapshot holding each MPAN (newest_snapshot),
    with the registration updates sent after it applied in updated_at order (CONTRACT.md;
    pipelines/reference/registration_history.py, which the warehouse view registrations_current uses too). -#}
{% macro registration_updates_applied(newest_snapshot, updates) -%}
with newest as (
    select *, null::varchar as update_id, null::timestamptz as updated_at
    from {{ newest_snapshot }}
),

newest_snapshot_of_mpan as (
    select mpan_core, max(snapshot_date) as snapshot_date
    from newest
    group by mpan_core
),

-- the updates that apply: those whose updated_at has a UTC date after that snapshot's date, numbered per MPAN
-- and quantity in the order they apply (layers 1, 2, ...; the snapshot's rows are layer 0)
applied_updates as (
    select
        s.snapshot_date,
        u.*,
        row_number() over (partition by u.mpan_core, u.measurement_quantity order by u.updated_at, u.update_id) as layer
    from {{ updates }} as u
    left join newest_snapshot_of_mpan as s on s.mpan_core = u.mpan_core
    where s.snapshot_date is null or timezone('UTC', u.updated_at)::date > s.snapshot_date
),

updated_pairs as (
    select distinct mpan_core, measurement_quantity from applied_updates
),

layers as (
    select snapshot_date, mpan_core, measurement_quantity, effective_from_date, effective_to_date, supplier_id, data_service_id, gsp_group_id, llfc_id, market_segment, energisation_status, domestic_premises, consent_granularity, annual_consumption_kwh, bm_unit_id, row_number, file_sha256, source_file, update_id, updated_at, 0 as layer
    from newest
    semi join updated_pairs using (mpan_core, measurement_quantity)
    union all
    select snapshot_date, mpan_core, measurement_quantity, effective_from_date, effective_to_date, supplier_id, data_service_id, gsp_group_id, llfc_id, market_segment, energisation_status, domestic_premises, consent_granularity, annual_consumption_kwh, bm_unit_id, row_number, file_sha256, source_file, update_id, updated_at, layer
    from applied_updates
),

-- the days where what holds may change: each row's first day and the day after its last
boundaries as (
    select distinct mpan_core, measurement_quantity, effective_from_date as segment_start from layers
    union
    select distinct mpan_core, measurement_quantity, coalesce(effective_to_date, DATE '9999-12-31') + 1 from layers
),

segments as (
    select
        mpan_core, measurement_quantity,
        segment_start,
        lead(segment_start) over (partition by mpan_core, measurement_quantity order by segment_start) - 1 as segment_end,
        row_number() over (partition by mpan_core, measurement_quantity order by segment_start) as segment
    from boundaries
),

-- each segment's rows of the highest layer covering it (layer 0 may hold more than one row: overlapping
-- snapshot rows are kept for the settlement run's check, assert_one_registration_in_force)
covered as (
    select l.*, s.segment_start, s.segment_end, s.segment
    from segments as s
    join layers as l
        on l.mpan_core = s.mpan_core
        and l.measurement_quantity = s.measurement_quantity
        and l.effective_from_date <= s.segment_start
        and coalesce(l.effective_to_date, DATE '9999-12-31') >= s.segment_end
    where s.segment_end is not null
    qualify l.layer = max(l.layer) over (partition by s.mpan_core, s.measurement_quantity, s.segment)
),

-- consecutive segments of one row join up again (gaps and islands: an island's segments count up with the
-- row's own count)
pieces as (
    select
        *,
        segment - row_number() over (partition by mpan_core, measurement_quantity, layer, file_sha256, row_number order by segment) as island
    from covered
)

select
    snapshot_date,
    mpan_core, measurement_quantity,
    min(segment_start) as effective_from_date,
    nullif(max(segment_end), DATE '9999-12-31') as effective_to_date,
    supplier_id, data_service_id, gsp_group_id, llfc_id, market_segment, energisation_status, domestic_premises, consent_granularity, annual_consumption_kwh, bm_unit_id, row_number, file_sha256, source_file, update_id, updated_at
from pieces
group by snapshot_date, mpan_core, measurement_quantity, supplier_id, data_service_id, gsp_group_id, llfc_id, market_segment, energisation_status, domestic_premises, consent_granularity, annual_consumption_kwh, bm_unit_id, row_number, file_sha256, source_file, update_id, updated_at, layer, island

union all

select snapshot_date, mpan_core, measurement_quantity, effective_from_date, effective_to_date, supplier_id, data_service_id, gsp_group_id, llfc_id, market_segment, energisation_status, domestic_premises, consent_granularity, annual_consumption_kwh, bm_unit_id, row_number, file_sha256, source_file, update_id, updated_at
from newest
anti join updated_pairs using (mpan_core, measurement_quantity)
{%- endmacro %}

{#- How far the signed corrected volumes of a GSP Group and period may be from its GSP Group Take, in kWh
    (settlement rule correction_identity). -#}
{% macro correction_tolerance_kwh() -%}
0.001
{%- endmacro %}
