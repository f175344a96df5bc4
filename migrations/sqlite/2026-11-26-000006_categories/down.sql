DROP TRIGGER categories_delete;
DROP TRIGGER categories_rename;
DROP TRIGGER products_category_update;
DROP TRIGGER products_category_insert;
DROP INDEX products_category;
DROP TABLE categories;
