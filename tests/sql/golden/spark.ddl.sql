CREATE TABLE profiles (
  `id` STRING,
  `age` BIGINT,
  `app_version` STRING,
  `balance_amount` DECIMAL(38,18),
  `balance_currency` STRING,
  `birth_date` DATE,
  `country` STRING,
  `email` STRING,
  `household_size` BIGINT,
  `is_vip` BOOLEAN,
  `last_seen_at` TIMESTAMP,
  `ltv` DECIMAL(38,18),
  `nickname` STRING,
  `opted_out` BOOLEAN,
  `plan` STRING,
  `score` DOUBLE,
  `signup_at` TIMESTAMP
);
CREATE TABLE events (
  `entity_id` STRING,
  `seq` BIGINT,
  `name` STRING,
  `at` TIMESTAMP,
  `amount_amount` DECIMAL(38,18),
  `amount_currency` STRING,
  `category` STRING,
  `device` STRING,
  `duration_ms` BIGINT,
  `path` STRING,
  `qty` BIGINT,
  `sku` STRING
);
