\set d random(5, 15)
SELECT customer_id, count(*) AS n, sum(amount) AS total FROM orders WHERE created_at > now() - :d * interval '1 day' GROUP BY customer_id ORDER BY total DESC LIMIT 20;
