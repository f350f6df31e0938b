CREATE TABLE users (
    id CHAR(36) NOT NULL PRIMARY KEY,
    username VARCHAR(150) NOT NULL,
    email VARCHAR(254) NOT NULL,
    first_name VARCHAR(150) NOT NULL DEFAULT '',
    last_name VARCHAR(150) NOT NULL DEFAULT '',
    password_hash VARCHAR(255) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    daily_task_limit INT UNSIGNED NULL,
    token_version INT UNSIGNED NOT NULL DEFAULT 0,
    date_joined DATETIME(6) NOT NULL,
    last_updated DATETIME(6) NOT NULL,
    last_login DATETIME(6) NULL,
    welcome_mail_sent_at DATETIME(6) NULL,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_email_key UNIQUE (email),
    INDEX users_date_joined_idx (date_joined)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
