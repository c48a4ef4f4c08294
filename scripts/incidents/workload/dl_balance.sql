\set aid random(1, 100000)
SELECT balance, updated_at FROM accounts WHERE id = :aid;
