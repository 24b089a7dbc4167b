CREATE TABLE profiles (
  `id` STRING,
  `age` INT64,
  `app_version` STRING,
  `balance_amount` BIGNUMERIC,
  `balance_currency` STRING,
  `birth_date` DATE,
  `country` STRING,
  `email` STRING,
  `household_size` INT64,
  `is_vip` BOOL,
  `last_seen_at` TIMESTAMP,
  `ltv` BIGNUMERIC,
  `nickname` STRING,
  `opted_out` BOOL,
  `plan` STRING,
  `score` FLOAT64,
  `signup_at` TIMESTAMP
);
CREATE TABLE events (
  `entity_id` STRING,
  `seq` INT64,
  `name` STRING,
  `at` TIMESTAMP,
  `amount_amount` BIGNUMERIC,
  `amount_currency` STRING,
  `category` STRING,
  `device` STRING,
  `duration_ms` INT64,
  `path` STRING,
  `qty` INT64,
  `sku` STRING
);
