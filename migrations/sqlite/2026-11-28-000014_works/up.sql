-- WRK-4 (issue 14): works (作品) a provider shows on the profile: a title,
-- a text and images (uploaded files, cited through file_uses). A removed
-- work (by its owner, staff under VIO-3, or the DEP-7 refund payout) keeps
-- its row with the reason, and is no longer shown.
CREATE TABLE works (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP,
    removed_reason TEXT
);
CREATE INDEX works_owner ON works (owner_id, id);
