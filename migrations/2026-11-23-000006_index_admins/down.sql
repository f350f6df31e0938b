DROP INDEX users_admins_idx ON users;
