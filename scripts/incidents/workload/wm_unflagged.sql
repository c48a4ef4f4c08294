\set m random(15, 40)
SELECT count(*) AS orders, sum(amount) AS revenue FROM orders WHERE created_at > now() - :m * interval '1 minute' AND customer_id NOT IN (SELECT customer_id FROM flagged_customers);
