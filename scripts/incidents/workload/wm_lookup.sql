\set cid random(1, 20000)
SELECT id, status, amount, created_at FROM orders WHERE customer_id = :cid ORDER BY created_at DESC LIMIT 10;
