-- WRK-2 (issue 14): a search by distance reads each grid cell around the
-- point newest first, ids and coordinates only; this index answers that
-- without reading the table (the deadline check included), and replaces
-- the narrower (status, geo_cell, id).
CREATE INDEX demands_cell_spots ON demands (status, geo_cell, id, lat, lng, bid_deadline);
DROP INDEX demands_status_cell_id;
