\set k random(2000, 6000)
SELECT id, customer_id, amount FROM orders WHERE status = 'delivered' ORDER BY amount DESC, id OFFSET :k LIMIT 50;
