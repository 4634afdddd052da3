-- Standing data of the run, loaded and validated against the data catalogue by `mhhs settle` (no rows when the
-- standing data directory has no load_shapes.csv).
select * from standing.load_shapes
