-- WRK-3 (issue 14): an awarded provider checks in and out of each working
-- day with a location and a photo (an uploaded file); the server stamps the
-- time, the China date and the distance from the work location, and marks
-- a check-in beyond the geofence as off-site.
CREATE TABLE check_ins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    award_id BIGINT NOT NULL REFERENCES awards (id),
    provider_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    lat REAL NOT NULL,
    lng REAL NOT NULL,
    distance_m INTEGER,
    off_site BOOLEAN NOT NULL,
    file_id BIGINT NOT NULL REFERENCES files (id),
    work_day DATE NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX check_ins_award ON check_ins (award_id, id);
