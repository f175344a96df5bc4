DROP TABLE product_bundles;
DROP TABLE products;
DROP TABLE transaction_changes;
DROP TABLE transactions;
DROP TABLE cards;
