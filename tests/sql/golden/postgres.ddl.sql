CREATE TABLE profiles (
  "id" text,
  "age" bigint,
  "app_version" text,
  "balance_amount" numeric,
  "balance_currency" text,
  "birth_date" date,
  "country" text,
  "email" text,
  "household_size" bigint,
  "is_vip" boolean,
  "last_seen_at" timestamptz,
  "ltv" numeric,
  "nickname" text,
  "opted_out" boolean,
  "plan" text,
  "score" double precision,
  "signup_at" timestamptz
);
CREATE TABLE events (
  "entity_id" text,
  "seq" bigint,
  "name" text,
  "at" timestamptz,
  "amount_amount" numeric,
  "amount_currency" text,
  "category" text,
  "device" text,
  "duration_ms" bigint,
  "path" text,
  "qty" bigint,
  "sku" text
);
