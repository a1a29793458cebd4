-- WRK-1, WRK-2 (issue 14): where and when the work is. Null on demands
-- published before (they state no place and are not found by distance).
-- `geo_cell` is the 0.1-degree grid cell of the location
-- (floor((lat + 90) * 10) * 10000 + floor((lng + 180) * 10)): a search by
-- distance reads the few cells around its point through an index.
ALTER TABLE demands ADD COLUMN work_address TEXT;
ALTER TABLE demands ADD COLUMN lat REAL;
ALTER TABLE demands ADD COLUMN lng REAL;
ALTER TABLE demands ADD COLUMN geo_cell BIGINT;
ALTER TABLE demands ADD COLUMN work_start DATE;
ALTER TABLE demands ADD COLUMN work_end DATE;
ALTER TABLE demands ADD COLUMN daily_start_minute INTEGER;
ALTER TABLE demands ADD COLUMN daily_end_minute INTEGER;
ALTER TABLE demands ADD COLUMN pay_unit TEXT;
CREATE INDEX demands_status_cell_id ON demands (status, geo_cell, id);
