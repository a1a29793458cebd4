-- Issue 13: `q` served by an n-gram index that works for two-character
-- Chinese words (pg_trgm does not). Every 1- and 2-character substring of
-- demands.search_text is a row; a trigger keeps it on insert and when
-- search_text changes. A search looks up the grams of its words, then
-- confirms with LIKE. (Same table on SQLite.)
CREATE TABLE demand_grams (
    demand_id BIGINT NOT NULL REFERENCES demands(id) ON DELETE CASCADE,
    gram TEXT NOT NULL,
    PRIMARY KEY (demand_id, gram)
);
CREATE INDEX demand_grams_gram ON demand_grams (gram, demand_id);

CREATE FUNCTION demand_grams_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM demand_grams WHERE demand_id = NEW.id;
    END IF;
    INSERT INTO demand_grams (demand_id, gram)
    SELECT DISTINCT NEW.id, substr(NEW.search_text, i, n)
    FROM generate_series(1, 2) AS n, generate_series(1, length(NEW.search_text)) AS i
    WHERE i <= length(NEW.search_text) - n + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER demand_grams_insert AFTER INSERT ON demands
    FOR EACH ROW EXECUTE FUNCTION demand_grams_refresh();
CREATE TRIGGER demand_grams_update AFTER UPDATE OF search_text ON demands
    FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text)
    EXECUTE FUNCTION demand_grams_refresh();

INSERT INTO demand_grams (demand_id, gram)
SELECT DISTINCT d.id, substr(d.search_text, i, n)
FROM demands d, generate_series(1, 2) AS n, generate_series(1, length(d.search_text)) AS i
WHERE i <= length(d.search_text) - n + 1;
