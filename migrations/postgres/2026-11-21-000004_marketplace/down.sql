DROP TABLE reviews;
DROP TABLE awards;
DROP TABLE bids;
DROP TABLE demands;
DROP TABLE categories;
