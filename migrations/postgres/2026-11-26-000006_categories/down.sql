ALTER TABLE products DROP CONSTRAINT products_category_fkey;
DROP INDEX products_category;
DROP TABLE categories;
