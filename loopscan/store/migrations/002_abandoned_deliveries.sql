-- loopscan history store, schema version 2.
-- A delivery the receiver refused outright (HTTP 4xx) several times is set aside, so that it no
-- longer holds back every later alert for that sink. It stays in the table, with its last error.
ALTER TABLE deliveries ADD COLUMN abandoned_at TIMESTAMPTZ;
