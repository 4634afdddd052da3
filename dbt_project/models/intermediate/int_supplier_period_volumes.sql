-- Consumption (C = V) and losses (L = V x (LLF - 1)) components summed per GSP Group, supplier, BM Unit,
-- market segment, quantity, period and actual/estimated (DOMAIN.md section 6, steps 1 and 3), each with
-- the CCC of its attributes from the standing data table. Values stay one column per period until the
-- sums are taken (ARCHITECTURE.md: aggregation over MPAN-day rows), then become one row per period; the
-- MPAN-day rows are summed once, per distributor and LLFC, and losses taken from those sums.
with volumes_by_llfc as (
    -- estimated part as value x flag, actual part as total minus estimated: plain sums, no filters; all
    -- exact decimals, so parallel sums give the same result on every rerun
    select
        gsp_group_id,
        supplier_id,
        bm_unit_id,
        market_segment,
        measurement_quantity,
        distributor_id,
        llfc_id,
        {%- for p in period_numbers() %}
        {%- set kwh = period_column('kwh', p) %}
        {%- set estimated = '((estimated_mask >> %d) & 1)::integer' % p %}
        sum({{ kwh }}) as t_c_{{ p }},
        sum({{ kwh }} * {{ estimated }}) as e_c_{{ p }},
        count({{ kwh }}) as t_n_{{ p }},
        sum(case when {{ kwh }} is not null then {{ estimated }} end) as e_n_{{ p }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('int_consumption_estimated') }}
    group by gsp_group_id, supplier_id, bm_unit_id, market_segment, measurement_quantity, distributor_id, llfc_id
),

sums as (
    -- losses L = V x (LLF - 1) with one LLF per distributor, LLFC and period: the factor multiplies each
    -- distributor's LLFC's summed volume, which in exact decimals equals the sum of every MPAN's losses;
    -- an LLF below 1 makes the losses negative
    select
        v.gsp_group_id,
        v.supplier_id,
        v.bm_unit_id,
        v.market_segment,
        v.measurement_quantity,
        {%- for p in period_numbers() %}
        {%- set loss = '(l.' ~ period_column('llf', p) ~ ' - 1)' %}
        sum(v.t_c_{{ p }}) as t_c_{{ p }},
        sum(v.e_c_{{ p }}) as e_c_{{ p }},
        sum(v.t_c_{{ p }} * {{ loss }}) as t_l_{{ p }},
        sum(v.e_c_{{ p }} * {{ loss }}) as e_l_{{ p }},
        sum(v.t_n_{{ p }})::bigint as t_n_{{ p }},
        sum(v.e_n_{{ p }})::bigint as e_n_{{ p }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from volumes_by_llfc as v
    left join {{ ref('int_line_loss_factors') }} as l
        on v.distributor_id = l.distributor_id and v.llfc_id = l.llfc_id
    group by v.gsp_group_id, v.supplier_id, v.bm_unit_id, v.market_segment, v.measurement_quantity
),

periods as (
    select settlement_period from {{ ref('int_settlement_periods') }}
),

long as (
    -- one scale for all four components: a list of structs takes a single type for each field
    select
        s.gsp_group_id, s.supplier_id, s.bm_unit_id, s.market_segment, s.measurement_quantity,
        p.settlement_period,
        unnest([
            {'actual_estimated': 'A', 'component': 'C',
             'volume_kwh': [{{ each_period('t_c_{p} - e_c_{p}') }}][p.settlement_period]::decimal(38, 7),
             'mpan_count': [{{ each_period('t_n_{p} - e_n_{p}') }}][p.settlement_period]},
            {'actual_estimated': 'A', 'component': 'L',
             'volume_kwh': [{{ each_period('t_l_{p} - e_l_{p}') }}][p.settlement_period]::decimal(38, 7),
             'mpan_count': [{{ each_period('t_n_{p} - e_n_{p}') }}][p.settlement_period]},
            {'actual_estimated': 'E', 'component': 'C',
             'volume_kwh': [{{ each_period('e_c_{p}') }}][p.settlement_period]::decimal(38, 7),
             'mpan_count': [{{ each_period('e_n_{p}') }}][p.settlement_period]},
            {'actual_estimated': 'E', 'component': 'L',
             'volume_kwh': [{{ each_period('e_l_{p}') }}][p.settlement_period]::decimal(38, 7),
             'mpan_count': [{{ each_period('e_n_{p}') }}][p.settlement_period]}
        ], recursive := true)
    from sums as s
    cross join periods as p
)

select
    long.*,
    ccc.ccc_id,
    ccc.scaling_weight
from long
left join {{ ref('stg_standing__ccc') }} as ccc
    on ccc.market_segment = long.market_segment
   and ccc.measurement_quantity = long.measurement_quantity
   and ccc.actual_estimated = long.actual_estimated
   and ccc.component = long.component
where long.mpan_count > 0
