-- The expected-periods spine with an estimate for every missing period (DOMAIN.md section 5). The methods
-- run in the order of var('estimation_methods'):
--   interpolation       a gap of at most var('interpolation_max_gap_periods') periods with actual values
--                       on both sides: straight line between them
--   like_day            the mean actual value of the same local half hour on the same weekday within a
--                       month either side (int_like_day_values)
--   annual_consumption  annual consumption x the period's share of it in the load shape of the MPAN's
--                       category (int_estimation_load_shapes: load_shape_kwh / annual_total_kwh, seasonal;
--                       never AC / 365 flat)
-- Every estimate is flagged E and its method recorded in <method>_mask (bit p = period p).
-- Before estimating, a period without a half-hourly value takes the value derived from the MPAN's register read
-- (int_register_reads_shaped; recorded in register_read_mask, flagged as var('register_read_quality_flag') says):
-- a half-hourly value of the same period, if there is one, wins over the derived one. A de-energised MPAN's read
-- is settled like its metered half-hourly values (the energy flowed): it joins the spine with its read.
{%- set methods = var('estimation_methods') %}
with periods as (
    select * from {{ ref('int_settlement_periods') }}
),

shaped_reads as (
    select * from {{ ref('int_register_reads_shaped') }}
),

gaps as (
    select * from {{ ref('int_consumption_gaps') }}
    union all by name
    -- de-energised MPANs with a read and no half-hourly value (those with values are in the gaps already)
    select r.*, 0::ubigint as missing_mask
    from {{ ref('int_registrations_in_force') }} as r
    semi join shaped_reads as s using (mpan_core, measurement_quantity)
    anti join {{ ref('int_consumption_gaps') }} as g using (mpan_core, measurement_quantity)
),

spine as (
    select
        g.* replace (
            {{ each_period('coalesce(g.kwh_{p:02d}, r.kwh_{p:02d}) as kwh_{p:02d}', ',\n            ') }},
            g.missing_mask & ~coalesce(r.register_read_mask, 0::ubigint) as missing_mask
        ),
        coalesce(r.register_read_mask, 0::ubigint) & ~coalesce(g.present_mask, 0::ubigint) as register_read_mask
    from gaps as g
    left join shaped_reads as r
        on r.mpan_core = g.mpan_core and r.measurement_quantity = g.measurement_quantity
),

gap_days as (
    select
        s.mpan_core,
        s.measurement_quantity,
        s.market_segment,
        s.domestic_premises,
        s.gsp_group_id,
        s.consent_granularity,
        s.annual_consumption_kwh,
        s.missing_mask,
        coalesce(s.estimated_mask, 0::ubigint) as received_estimated_mask,
        [{{ period_columns('kwh', 's') }}] as day_kwh,
        -- bit p: period p has an actual value (received, not estimated by the data service; a value derived from
        -- a register read is one only when flagged A)
        {{ period_mask('s.kwh_{p:02d} is not null') }} & ~coalesce(s.estimated_mask, 0::ubigint)
            {%- if var('register_read_quality_flag') == 'E' %} & ~s.register_read_mask{% endif %} as actual_mask
    from spine as s
    where s.missing_mask <> 0
),

-- only the missing periods: the others keep their values (a tenth of the rows of every period of each gap day)
gap_periods as (
    select
        d.* exclude (day_kwh, actual_mask, missing_mask, missing_period),
        p.settlement_period,
        p.local_half_hour,
        d.day_kwh,
        d.actual_mask & ((1::ubigint << p.settlement_period) - 1) as actual_before,
        (d.actual_mask >> (p.settlement_period + 1)) << (p.settlement_period + 1) as actual_after
    from (
        select *, unnest(list_filter({{ period_number_list() }}, lambda p: (missing_mask >> p) & 1 = 1)) as missing_period
        from gap_days
    ) as d
    inner join periods as p
        on p.settlement_period = d.missing_period
),

-- the nearest actual values either side of each period, from the bit masks: the highest bit set before
-- it (every bit below the highest set by shifting, then counted) and the lowest set after it (x xor x-1
-- sets the bits up to the lowest); a window over every period of every MPAN cost four times as much
bounded_periods as (
    select
        * exclude (actual_before, actual_after),
        case when actual_before <> 0
            then bit_count(list_reduce([1, 2, 4, 8, 16, 32], lambda acc, s: acc | (acc >> s), actual_before)) - 1
        end as previous_period,
        case when actual_after <> 0
            then bit_count(xor(actual_after, actual_after - least(actual_after, 1::ubigint))) - 1
        end as next_period
    from gap_periods
),

bounded as (
    select
        * exclude (day_kwh),
        day_kwh[previous_period] as previous_kwh,
        day_kwh[next_period] as next_kwh
    from bounded_periods
),

estimated as (
    select
        b.mpan_core,
        b.measurement_quantity,
        b.settlement_period,
        b.received_estimated_mask,
        case
            {%- for method in methods %}
            {%- if method == 'interpolation' %}
            when b.previous_period is not null and b.next_period is not null
                 and b.next_period - b.previous_period - 1 <= {{ var('interpolation_max_gap_periods') }}
                then 'interpolation'
            {%- elif method == 'like_day' %}
            when like_day.like_day_kwh is not null then 'like_day'
            {%- elif method == 'annual_consumption' %}
            when shape.ac_fraction is not null then 'annual_consumption'
            {%- else %}
            {{ exceptions.raise_compiler_error("unknown estimation method " ~ method) }}
            {%- endif %}
            {%- endfor %}
        end as method,
        round(b.previous_kwh + (b.next_kwh - b.previous_kwh)
              * (b.settlement_period - b.previous_period) / (b.next_period - b.previous_period), 3) as interpolated_kwh,
        like_day.like_day_kwh,
        round(b.annual_consumption_kwh * shape.ac_fraction, 3) as annual_consumption_kwh
    from bounded as b
    left join {{ ref('int_like_day_values') }} as like_day
        on like_day.mpan_core = b.mpan_core
       and like_day.measurement_quantity = b.measurement_quantity
       and like_day.local_half_hour = b.local_half_hour
    left join {{ ref('int_estimation_load_shapes') }} as shape
        on shape.gsp_group_id = b.gsp_group_id
       and shape.market_segment = b.market_segment
       and shape.domestic_premises = b.domestic_premises
       and shape.consent_granularity = b.consent_granularity
       and shape.measurement_quantity = b.measurement_quantity
       and shape.settlement_period = b.settlement_period
),

filled as (
    select
        mpan_core,
        measurement_quantity,
        -- estimates are kept as exact kWh to 3 decimals, like the reads, so every sum after is exact
        list(case method
                when 'interpolation' then interpolated_kwh
                when 'like_day' then like_day_kwh
                when 'annual_consumption' then annual_consumption_kwh
                end::decimal(18, 3)) as values,
        list(settlement_period) as periods,
        any_value(received_estimated_mask)
            | bit_or(case when method is not null then 1::ubigint << settlement_period else 0::ubigint end) as estimated_mask,
        bit_or(case when method = 'interpolation' then 1::ubigint << settlement_period else 0::ubigint end) as interpolation_mask,
        bit_or(case when method = 'like_day' then 1::ubigint << settlement_period else 0::ubigint end) as like_day_mask,
        bit_or(case when method = 'annual_consumption' then 1::ubigint << settlement_period else 0::ubigint end) as annual_consumption_mask
    from estimated
    group by mpan_core, measurement_quantity
)

select
    s.mpan_core,
    s.measurement_quantity,
    s.supplier_id,
    s.gsp_group_id,
    s.distributor_id,
    s.llfc_id,
    s.bm_unit_id,
    s.market_segment,
    s.domestic_premises,
    s.energisation_status,
    {{ each_period('coalesce(f.values[list_position(f.periods, {p})], s.kwh_{p:02d}) as kwh_{p:02d}') }},
    -- ubigint: the masks reach Parquet basis files, which have no 128-bit integers; an MPAN-day made of a
    -- register read alone has no received mask
    (coalesce(f.estimated_mask, s.estimated_mask, 0::ubigint)
        {%- if var('register_read_quality_flag') == 'E' %} | s.register_read_mask{% endif %})::ubigint as estimated_mask,
    coalesce(f.interpolation_mask, 0)::ubigint as interpolation_mask,
    coalesce(f.like_day_mask, 0)::ubigint as like_day_mask,
    coalesce(f.annual_consumption_mask, 0)::ubigint as annual_consumption_mask,
    -- periods whose value was derived from a register read (bit p = period p, as estimated_mask)
    s.register_read_mask::ubigint as register_read_mask
from spine as s
left join filled as f
    on s.mpan_core = f.mpan_core and s.measurement_quantity = f.measurement_quantity
