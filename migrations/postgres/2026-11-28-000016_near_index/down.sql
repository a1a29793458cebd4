CREATE INDEX demands_status_cell_id ON demands (status, geo_cell, id);
DROP INDEX demands_cell_spots;
