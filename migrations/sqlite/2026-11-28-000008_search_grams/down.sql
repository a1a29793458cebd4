DROP TRIGGER demand_grams_update;
DROP TRIGGER demand_grams_insert;
DROP TABLE demand_grams;
DROP TABLE search_positions;
