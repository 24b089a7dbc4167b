CREATE TABLE profiles (
  id VARCHAR,
  age NUMBER(19,0),
  app_version VARCHAR,
  balance_amount NUMBER(38,18),
  balance_currency VARCHAR,
  birth_date DATE,
  country VARCHAR,
  email VARCHAR,
  household_size NUMBER(19,0),
  is_vip BOOLEAN,
  last_seen_at TIMESTAMP_TZ,
  ltv NUMBER(38,18),
  nickname VARCHAR,
  opted_out BOOLEAN,
  plan VARCHAR,
  score FLOAT,
  signup_at TIMESTAMP_TZ
);
CREATE TABLE events (
  entity_id VARCHAR,
  seq NUMBER(19,0),
  name VARCHAR,
  at TIMESTAMP_TZ,
  amount_amount NUMBER(38,18),
  amount_currency VARCHAR,
  category VARCHAR,
  device VARCHAR,
  duration_ms NUMBER(19,0),
  path VARCHAR,
  qty NUMBER(19,0),
  sku VARCHAR
);
