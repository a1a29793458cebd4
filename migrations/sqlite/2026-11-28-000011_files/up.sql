-- FIL-1..3 (issue 14): uploaded files. A row per upload: what others get
-- (`storage_key`, image metadata stripped) and, for check-in evidence, the
-- untouched original kept privately (`original_key`). `file_uses` says what
-- cites a file, which decides who may read it; a file nothing cites is
-- removed a day after its upload.
CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    purpose TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256 TEXT NOT NULL,
    file_name TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    original_key TEXT UNIQUE,
    metadata_stripped BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attached_at TIMESTAMP
);
CREATE INDEX files_owner ON files (owner_id, id);
CREATE INDEX files_unattached ON files (created_at) WHERE attached_at IS NULL;

CREATE TABLE file_uses (
    file_id BIGINT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    use_kind TEXT NOT NULL,
    use_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (file_id, use_kind, use_id)
);
CREATE INDEX file_uses_target ON file_uses (use_kind, use_id);
