-- Issue 13: `q` served by an n-gram index that works for two-character
-- Chinese words (pg_trgm and FTS5's trigram tokenizer do not). Every 1- and
-- 2-character substring of demands.search_text (characters as substr counts
-- them) is a row; triggers keep it on insert and when search_text changes.
-- A search looks up the grams of its words, then confirms with LIKE.

-- 1..20000: positions in a search text (title 100 + description 5000,
-- with room for folding that lengthens text). Triggers cannot use WITH.
CREATE TABLE search_positions (i INTEGER PRIMARY KEY);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000)
INSERT INTO search_positions (i) SELECT i FROM s;

CREATE TABLE demand_grams (
    demand_id INTEGER NOT NULL REFERENCES demands(id) ON DELETE CASCADE,
    gram TEXT NOT NULL,
    PRIMARY KEY (demand_id, gram)
) WITHOUT ROWID;
CREATE INDEX demand_grams_gram ON demand_grams (gram, demand_id);

INSERT OR IGNORE INTO demand_grams (demand_id, gram)
SELECT d.id, substr(d.search_text, p.i, n.n)
FROM demands d, (SELECT 1 AS n UNION ALL SELECT 2) n, search_positions p
WHERE p.i <= length(d.search_text) - n.n + 1;

CREATE TRIGGER demand_grams_insert AFTER INSERT ON demands BEGIN
    INSERT OR IGNORE INTO demand_grams (demand_id, gram)
    SELECT NEW.id, substr(NEW.search_text, p.i, n.n)
    FROM (SELECT 1 AS n UNION ALL SELECT 2) n, search_positions p
    WHERE p.i <= length(NEW.search_text) - n.n + 1;
END;

CREATE TRIGGER demand_grams_update AFTER UPDATE OF search_text ON demands
WHEN OLD.search_text IS NOT NEW.search_text BEGIN
    DELETE FROM demand_grams WHERE demand_id = NEW.id;
    INSERT OR IGNORE INTO demand_grams (demand_id, gram)
    SELECT NEW.id, substr(NEW.search_text, p.i, n.n)
    FROM (SELECT 1 AS n UNION ALL SELECT 2) n, search_positions p
    WHERE p.i <= length(NEW.search_text) - n.n + 1;
END;
