-- The last-active-admin guard locks the active admins' rows; this keeps that lock to them.
CREATE INDEX users_admins_idx ON users (is_superuser, is_active);
