DROP TABLE dispute_events;
DROP TABLE disputes;
