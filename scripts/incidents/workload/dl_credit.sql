\set aid random(1, 100000)
\set d random(-500, 500)
BEGIN;
UPDATE accounts SET balance = balance + :d, updated_at = now() WHERE id = :aid;
INSERT INTO transfers (account_id, amount, created_at) VALUES (:aid, :d, now());
END;
