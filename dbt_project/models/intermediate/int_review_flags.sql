-- Values accepted but flagged for review (DOMAIN.md section 5): metered values of an MPAN registered as
-- de-energised (settled, since the energy flowed; the registration is probably wrong), a run of at least
-- var('zero_run_periods') consecutive actual zeros on a metered import MPAN (unmetered street lighting is
-- rightly zero all day), and actual values above
-- var('outlier_factor') times the MPAN's usual half-hour level (its annual consumption / 17,520, the
-- summary of its own history that the data service keeps).
with current_values as (
    select
        g.mpan_core,
        g.measurement_quantity,
        g.annual_consumption_kwh,
        g.market_segment,
        p.settlement_period,
        [{{ period_columns('kwh', 'g') }}][p.settlement_period] as kwh,
        (coalesce(g.estimated_mask, 0::ubigint) >> p.settlement_period) & 1 = 0 as actual
    from {{ ref('int_consumption_gaps') }} as g
    cross join {{ ref('int_settlement_periods') }} as p
    -- only MPAN-days that can hold a flag are taken one value per row
    where g.present_mask is not null
      and (
        ({{ each_period('(g.kwh_{p:02d} = 0)::integer', ' + ') }})
            >= {{ var('zero_run_periods') }}
        or greatest({{ period_columns('kwh', 'g') }})
            > {{ var('outlier_factor') }} * g.annual_consumption_kwh / 17520
      )
),

zero_runs as (
    select mpan_core, measurement_quantity, min(settlement_period) as first_period, max(settlement_period) as last_period
    from (
        select *, settlement_period - row_number() over (partition by mpan_core, measurement_quantity order by settlement_period) as run
        from current_values
        where measurement_quantity = 'AI' and market_segment <> 'U' and actual and kwh = 0
    )
    group by mpan_core, measurement_quantity, run
    having count(*) >= {{ var('zero_run_periods') }}
),

outliers as (
    select mpan_core, measurement_quantity, settlement_period, kwh, annual_consumption_kwh / 17520 as usual_kwh
    from current_values
    where actual and annual_consumption_kwh > 0
      and kwh > {{ var('outlier_factor') }} * annual_consumption_kwh / 17520
)

select
    mpan_core, measurement_quantity, 'ZERO_RUN' as flag, first_period, last_period,
    'actual zero in periods ' || first_period || ' to ' || last_period as detail
from zero_runs
union all
select
    mpan_core, measurement_quantity, 'OUTLIER' as flag, settlement_period, settlement_period,
    kwh || ' kWh against a usual ' || round(usual_kwh, 3) || ' kWh' as detail
from outliers
union all
select
    mpan_core, measurement_quantity, 'DE_ENERGISED_WITH_DATA' as flag,
    list_filter({{ period_number_list() }}, lambda p: (present_mask >> p) & 1 = 1)[1] as first_period,
    list_filter({{ period_number_list() }}, lambda p: (present_mask >> p) & 1 = 1)[-1] as last_period,
    bit_count(present_mask) || ' metered values settled for an MPAN registered as de-energised' as detail
from {{ ref('int_consumption_gaps') }}
where energisation_status <> 'E'
