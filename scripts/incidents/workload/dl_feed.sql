\set n random(10, 30)
SELECT id, account_id, amount, created_at FROM transfers ORDER BY id DESC LIMIT :n;
