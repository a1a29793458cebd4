ALTER TABLE payments DROP COLUMN purpose;
DROP TABLE deposit_refunds;
DROP TABLE deposits;
DROP TABLE appeals;
DROP TABLE measures;
DROP TABLE violations;
DROP TABLE complaints;
