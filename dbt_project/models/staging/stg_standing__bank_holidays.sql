-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle`.
select * from standing.bank_holidays
