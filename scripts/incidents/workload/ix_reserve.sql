\set n random(1, 300000)
UPDATE items SET stock = stock - 1, updated_at = now() WHERE sku = 'SKU-' || lpad(:n::text, 7, '0') AND stock > 0;
