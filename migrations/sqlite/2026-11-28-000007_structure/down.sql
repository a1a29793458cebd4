DROP INDEX restricted_identities_violation;
ALTER TABLE restricted_identities DROP COLUMN violation_id;
ALTER TABLE measures ADD COLUMN services TEXT;
UPDATE measures SET services = ',' || (
    SELECT group_concat(service, ',') FROM measure_services ms WHERE ms.measure_id = measures.id
) || ',' WHERE EXISTS (SELECT 1 FROM measure_services ms WHERE ms.measure_id = measures.id);
DROP TABLE measure_services;
