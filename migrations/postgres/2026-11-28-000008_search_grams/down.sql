DROP TRIGGER demand_grams_update ON demands;
DROP TRIGGER demand_grams_insert ON demands;
DROP FUNCTION demand_grams_refresh();
DROP TABLE demand_grams;
