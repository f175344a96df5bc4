-- Categories of products (seed 004's categories of offers): a product belongs to at most one,
-- named by `products.category`. The categories already named by products are created.
CREATE TABLE categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
INSERT INTO categories (name, created_at)
    SELECT DISTINCT category, 0 FROM products WHERE category IS NOT NULL ORDER BY category;
CREATE INDEX products_category ON products (category);

-- SQLite cannot add a foreign key to an existing column (and rebuilding `products` would
-- cascade-delete its bundles): these triggers give the guarantees of PostgreSQL's
-- FOREIGN KEY (category) REFERENCES categories (name) ON UPDATE CASCADE ON DELETE SET NULL.
CREATE TRIGGER products_category_insert BEFORE INSERT ON products
WHEN NEW.category IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM categories WHERE name = NEW.category)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: products.category');
END;
CREATE TRIGGER products_category_update BEFORE UPDATE OF category ON products
WHEN NEW.category IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM categories WHERE name = NEW.category)
BEGIN
    SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: products.category');
END;
CREATE TRIGGER categories_rename AFTER UPDATE OF name ON categories
BEGIN
    UPDATE products SET category = NEW.name WHERE category = OLD.name;
END;
CREATE TRIGGER categories_delete AFTER DELETE ON categories
BEGIN
    UPDATE products SET category = NULL WHERE category = OLD.name;
END;
