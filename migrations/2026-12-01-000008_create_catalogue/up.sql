-- The catalogue (DESIGN §7). Names compare case-insensitively (unique and in filters);
-- money is DECIMAL, never a float.
CREATE TABLE categories (
    id CHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(50) COLLATE utf8mb4_unicode_ci NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT categories_name_key UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE products (
    id CHAR(36) NOT NULL PRIMARY KEY,
    name VARCHAR(50) COLLATE utf8mb4_unicode_ci NOT NULL,
    brand VARCHAR(50) COLLATE utf8mb4_unicode_ci NOT NULL DEFAULT '',
    description VARCHAR(200) NOT NULL DEFAULT '',
    category_id CHAR(36) NOT NULL,
    price DECIMAL(10, 2) NOT NULL,
    quantity INT UNSIGNED NOT NULL DEFAULT 0,
    rating DECIMAL(2, 1) NOT NULL DEFAULT 5.0,
    created_at DATETIME(6) NOT NULL,
    -- The image set shown (`<product>/<upload>`: original, -thumb and -full beside it), and
    -- the upload being resized; the switch from one to the other is one UPDATE.
    image_key VARCHAR(100) NULL,
    image_ext VARCHAR(8) NULL,
    image_pending VARCHAR(100) NULL,
    image_pending_ext VARCHAR(8) NULL,
    image_status VARCHAR(16) NULL,
    CONSTRAINT products_category_fk FOREIGN KEY (category_id) REFERENCES categories (id),
    CONSTRAINT products_price_check CHECK (price >= 0),
    CONSTRAINT products_rating_check CHECK (rating BETWEEN 0.1 AND 5.0),
    INDEX products_name_idx (name, price),
    INDEX products_category_idx (category_id, name),
    INDEX products_price_idx (price),
    INDEX products_created_idx (created_at),
    INDEX products_rating_idx (rating),
    INDEX products_quantity_idx (quantity),
    INDEX products_brand_idx (brand)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
