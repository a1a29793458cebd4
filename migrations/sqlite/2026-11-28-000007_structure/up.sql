-- Suspended services as rows (one per service) instead of ",a,b," in a column.
CREATE TABLE measure_services (
    measure_id BIGINT NOT NULL REFERENCES measures (id),
    service TEXT NOT NULL,
    PRIMARY KEY (measure_id, service)
);
CREATE INDEX measure_services_service ON measure_services (service, measure_id);
INSERT INTO measure_services (measure_id, service)
    SELECT id, 'order_taking' FROM measures WHERE services LIKE '%,order\_taking,%' ESCAPE '\';
INSERT INTO measure_services (measure_id, service)
    SELECT id, 'publishing' FROM measures WHERE services LIKE '%,publishing,%';
INSERT INTO measure_services (measure_id, service)
    SELECT id, 'bidding' FROM measures WHERE services LIKE '%,bidding,%';
INSERT INTO measure_services (measure_id, service)
    SELECT id, 'withdrawal' FROM measures WHERE services LIKE '%,withdrawal,%';
ALTER TABLE measures DROP COLUMN services;

-- Restricted identities listed by a seal name their violation by id (an
-- upheld appeal lifts exactly those), not by the wording of the reason.
ALTER TABLE restricted_identities ADD COLUMN violation_id BIGINT;
UPDATE restricted_identities SET violation_id = (
    SELECT v.id FROM violations v
    WHERE restricted_identities.reason = '账号封禁（违规 #' || CAST(v.id AS TEXT) || '）'
) WHERE source = 'sealed_account';
CREATE INDEX restricted_identities_violation ON restricted_identities (violation_id);
