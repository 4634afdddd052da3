-- Line loss factors of the settlement date per distributor and LLFC, one column per period. Each distributor
-- (a GSP Group's DNO or an IDNO working inside it) defines its own LLFCs, so the key is the pair.
select
    distributor_id,
    llfc_id,
    {{ each_period('max(llf) filter (where settlement_period = {p}) as llf_{p:02d}') }}
from {{ ref('stg_standing__llf') }}
where settlement_date = date '{{ run_parameter("settlement_date") }}'
group by distributor_id, llfc_id
