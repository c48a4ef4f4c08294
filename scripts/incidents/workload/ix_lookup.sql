\set n random(1, 300000)
SELECT sku, name, price, stock FROM items WHERE sku = 'SKU-' || lpad(:n::text, 7, '0');
