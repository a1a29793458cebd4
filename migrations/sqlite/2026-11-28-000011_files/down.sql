DROP TABLE file_uses;
DROP TABLE files;
