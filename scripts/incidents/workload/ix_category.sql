\set c random(1, 500)
SELECT sku, name, price FROM items WHERE category_id = :c ORDER BY price LIMIT 20;
