CREATE TABLE profiles (
  "id" VARCHAR,
  "age" BIGINT,
  "app_version" VARCHAR,
  "balance_amount" DECIMAL(38,18),
  "balance_currency" VARCHAR,
  "birth_date" DATE,
  "country" VARCHAR,
  "email" VARCHAR,
  "household_size" BIGINT,
  "is_vip" BOOLEAN,
  "last_seen_at" TIMESTAMPTZ,
  "ltv" DECIMAL(38,18),
  "nickname" VARCHAR,
  "opted_out" BOOLEAN,
  "plan" VARCHAR,
  "score" DOUBLE,
  "signup_at" TIMESTAMPTZ
);
CREATE TABLE events (
  "entity_id" VARCHAR,
  "seq" BIGINT,
  "name" VARCHAR,
  "at" TIMESTAMPTZ,
  "amount_amount" DECIMAL(38,18),
  "amount_currency" VARCHAR,
  "category" VARCHAR,
  "device" VARCHAR,
  "duration_ms" BIGINT,
  "path" VARCHAR,
  "qty" BIGINT,
  "sku" VARCHAR
);
