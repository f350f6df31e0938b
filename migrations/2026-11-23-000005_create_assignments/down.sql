DROP TABLE assignment_days;
DROP TABLE assignments;
