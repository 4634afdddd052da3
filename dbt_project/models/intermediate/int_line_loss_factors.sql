-- Line loss factors of the settlement date per distributor and LLFC, one column per period. Each distributor
-- (a GSP Group's DNO or an IDNO working inside it) defines its own LLFCs, so the key is the pair.
select
    distributor_id,
    llfc_id,
    {%- for p in period_numbers() %}
    max(llf::decimal(18, 4)) filter (where settlement_period = {{ p }}) as llf_{{ '%02d' % p }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from {{ ref('stg_standing__llf') }}
where settlement_date = date '{{ var("settlement_date") }}'
group by distributor_id, llfc_id
