-- Marketplace (MKT-1..7): categories, demands, bids, awards, reviews.

CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sort_order INTEGER NOT NULL
);
INSERT INTO categories (code, name, sort_order) VALUES
    ('ground_promotion', '地推', 1),
    ('flyer_distribution', '派单发传单', 2),
    ('app_user_acquisition', 'APP拉新', 3),
    ('store_promotion', '门店促销', 4),
    ('event_staffing', '活动执行', 5),
    ('market_survey', '市场调研', 6),
    ('mystery_shopping', '神秘顾客', 7),
    ('other', '其他', 8);

CREATE TABLE demands (
    id BIGSERIAL PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL REFERENCES categories (code),
    region_code TEXT NOT NULL,
    region_name TEXT NOT NULL,
    budget BIGINT NOT NULL CHECK (budget > 0),
    workers_wanted INTEGER NOT NULL CHECK (workers_wanted > 0),
    bid_deadline TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    bid_count INTEGER NOT NULL DEFAULT 0,
    search_text TEXT NOT NULL,
    removed_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- MKT-6: one index per filter and sort offered (status first: lists show open demands).
CREATE INDEX demands_status_id ON demands (status, id);
CREATE INDEX demands_status_category_id ON demands (status, category, id);
CREATE INDEX demands_status_region_id ON demands (status, region_code, id);
CREATE INDEX demands_status_budget_id ON demands (status, budget, id);
CREATE INDEX demands_status_deadline_id ON demands (status, bid_deadline, id);
CREATE INDEX demands_owner_id ON demands (owner_id, id);

CREATE TABLE bids (
    id BIGSERIAL PRIMARY KEY,
    demand_id BIGINT NOT NULL REFERENCES demands (id),
    provider_id BIGINT NOT NULL REFERENCES users (id),
    price BIGINT NOT NULL CHECK (price > 0),
    proposal TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- MKT-2: at most one live bid per provider per demand.
CREATE UNIQUE INDEX bids_one_live ON bids (demand_id, provider_id) WHERE status IN ('active', 'awarded');
CREATE INDEX bids_demand ON bids (demand_id, id);
CREATE INDEX bids_provider ON bids (provider_id, id);

CREATE TABLE awards (
    id BIGSERIAL PRIMARY KEY,
    demand_id BIGINT NOT NULL REFERENCES demands (id),
    bid_id BIGINT NOT NULL UNIQUE REFERENCES bids (id),
    employer_id BIGINT NOT NULL REFERENCES users (id),
    provider_id BIGINT NOT NULL REFERENCES users (id),
    price BIGINT NOT NULL CHECK (price > 0),
    fee BIGINT,
    status TEXT NOT NULL,
    delivery_note TEXT,
    evidence TEXT,
    delivered_at TIMESTAMP,
    completed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX awards_demand ON awards (demand_id);
CREATE INDEX awards_employer ON awards (employer_id, id);
CREATE INDEX awards_provider ON awards (provider_id, id);
CREATE INDEX awards_status_delivered ON awards (status, delivered_at);

CREATE TABLE reviews (
    id BIGSERIAL PRIMARY KEY,
    award_id BIGINT NOT NULL REFERENCES awards (id),
    reviewer_id BIGINT NOT NULL REFERENCES users (id),
    reviewee_id BIGINT NOT NULL REFERENCES users (id),
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (award_id, reviewer_id)
);
CREATE INDEX reviews_reviewee ON reviews (reviewee_id);
