\set cid random(1, 20000)
\set amt random(100, 50000)
INSERT INTO orders (customer_id, status, amount, created_at) VALUES (:cid, 'pending', :amt / 100.0, now());
