// Data of the segment playground: which demo segments to offer, sample profiles, and the demo's
// evaluation context. The segment definitions themselves are not copied here: the playground
// fetches them from cli/src/demo/ (the files `segcore demo` bundles), so there is one source of
// truth. The sample profiles have the shape of the data `segcore demo` generates (cli/src/demo.rs)
// and of the demo schema (cli/src/demo_schema.yaml).

/** The demo definitions, in cli/src/demo/ (keep in step with `SEGMENTS` in cli/src/demo.rs). */
export const DEMO_SEGMENT_FILES = [
  'campaign_audience.yaml',
  'churn_risk.yaml',
  'high_value.yaml',
  'holdout.yaml',
  'lookalike.yaml',
  'marketing_consent.yaml',
  'modern_app.yaml',
  'new_users.yaml',
  'r1_pro_adults.yaml',
  'r2_repeat_buyers.yaml',
  'returning_users.yaml',
];

/** Where the definitions are, relative to this module. */
export const DEMO_DIR = new URL('../../cli/src/demo/', import.meta.url);

/** The segment shown when the page opens. */
export const INITIAL_SEGMENT = 'r1_pro_adults';

/** The demo's evaluation instant (`AS_OF` in cli/src/demo.rs): a wall time and its zone. */
export const DEFAULT_AS_OF = { wall: '2026-03-15T12:00', zone: 'UTC' };

/** FX quotes of the demo run (`FX` in cli/src/demo.rs). */
export const DEFAULT_FX = { 'EUR/USD': '1.0842', 'USD/EUR': '0.9223' };

/** Zones offered by the as_of picker (the browser's own zone is added when it is not listed). */
export const TIME_ZONES = [
  'UTC',
  'America/Los_Angeles',
  'America/New_York',
  'America/Sao_Paulo',
  'Europe/London',
  'Europe/Berlin',
  'Asia/Kolkata',
  'Asia/Tokyo',
  'Australia/Sydney',
];

/**
 * Sample profiles. Evaluated at the demo as_of (2026-03-15T12:00:00Z) with the demo FX quotes:
 * - pro_buyer: member of r1_pro_adults, r2_repeat_buyers, high_value (219.90 + 129.00 USD +
 *   180.00 EUR × 1.0842 = 544.056 USD in 90 days), marketing_consent, campaign_audience (bucket
 *   33.24, outside the 10% holdout), modern_app, lookalike, returning_users.
 * - new_user: signed up 4 New York calendar days ago, no purchases, a pre-release app version.
 * - partial: no `age`, `consent`, `app_version` or `embedding`: rules reading them are UNKNOWN.
 * - eu_customer: EUR purchases only (high_value needs the EUR/USD quote), churn score 0.83 and
 *   no login in 14 days (churn_risk).
 * - late_signup: signed up 2026-03-09T03:30Z, which is 2026-03-08 23:30 in New York: 7 local
 *   calendar days before as_of, so not a new user (in UTC it would be 6).
 */
export const SAMPLE_PROFILES = [
  {
    key: 'pro_buyer',
    label: 'Pro adult buyer (US, recent purchases)',
    profile: {
      id: 'u001042',
      attributes: {
        age: 34,
        country: 'US',
        plan: 'pro',
        ltv: 1240,
        signup_at: '2025-06-02T14:21:09Z',
        churn_score: 0.12,
        embedding: [0.118, 0.791, 0.362, 0.455],
        app_version: '2.4.1',
        email: 'u001042@example.com',
        consent: { marketing: true, updated_at: '2025-11-20T08:00:00Z' },
      },
      events: [
        { name: 'purchase', at: '2025-10-02T09:12:00Z', properties: { amount: { amount: '75.00', currency: 'USD' }, sku: 'sku-4' } },
        { name: 'purchase', at: '2026-01-28T19:04:00Z', properties: { amount: { amount: '219.90', currency: 'USD' }, sku: 'sku-12' } },
        { name: 'purchase', at: '2026-02-21T10:15:00Z', properties: { amount: { amount: '180.00', currency: 'EUR' }, sku: 'sku-7' } },
        { name: 'purchase', at: '2026-03-10T16:40:00Z', properties: { amount: { amount: '129.00', currency: 'USD' }, sku: 'sku-33' } },
        { name: 'login', at: '2026-02-27T18:02:00Z', properties: { device: 'ios' } },
        { name: 'login', at: '2026-03-09T08:45:00Z', properties: { device: 'web' } },
        { name: 'login', at: '2026-03-14T07:30:00Z', properties: { device: 'ios' } },
        { name: 'page_view', at: '2026-03-13T21:10:00Z', properties: { path: '/pricing' } },
      ],
    },
  },
  {
    key: 'new_user',
    label: 'New user, no purchases (Canada)',
    profile: {
      id: 'u000214',
      attributes: {
        age: 19,
        country: 'CA',
        plan: 'free',
        ltv: 0,
        signup_at: '2026-03-12T01:15:00Z',
        churn_score: 0.35,
        embedding: [0.71, -0.2, 0.05, 0.33],
        app_version: '2.3.0-beta.1',
        email: 'u000214@example.com',
        consent: { marketing: false, updated_at: '2026-03-12T01:16:00Z' },
      },
      events: [
        { name: 'login', at: '2026-03-12T01:20:00Z', properties: { device: 'web' } },
        { name: 'page_view', at: '2026-03-12T01:22:00Z', properties: { path: '/docs' } },
        { name: 'login', at: '2026-03-14T22:05:00Z', properties: { device: 'android' } },
        { name: 'page_view', at: '2026-03-14T22:07:00Z', properties: { path: '/pricing' } },
      ],
    },
  },
  {
    key: 'partial',
    label: 'Partial profile: no age, no consent (UNKNOWN)',
    profile: {
      id: 'u000777',
      attributes: {
        country: 'GB',
        plan: 'pro',
        ltv: 820,
        signup_at: '2025-09-14T10:00:00Z',
        churn_score: 0.4,
      },
      events: [
        { name: 'purchase', at: '2026-02-02T12:30:00Z', properties: { amount: { amount: '99.00', currency: 'USD' }, sku: 'sku-21' } },
        { name: 'login', at: '2026-03-11T09:00:00Z', properties: { device: 'web' } },
      ],
    },
  },
  {
    key: 'eu_customer',
    label: 'EU customer: EUR purchases, churn risk (Germany)',
    profile: {
      id: 'u000388',
      attributes: {
        age: 41,
        country: 'DE',
        plan: 'team',
        ltv: 2310,
        signup_at: '2024-11-05T16:45:00Z',
        churn_score: 0.83,
        embedding: [-0.4, 0.52, 0.6, -0.1],
        app_version: '2.5.0',
        email: 'u000388@example.com',
        consent: { marketing: true, updated_at: '2025-04-01T10:00:00+02:00' },
      },
      events: [
        { name: 'purchase', at: '2026-01-05T11:00:00+01:00', properties: { amount: { amount: '310.00', currency: 'EUR' }, sku: 'sku-2' } },
        { name: 'purchase', at: '2026-02-14T18:20:00+01:00', properties: { amount: { amount: '240.00', currency: 'EUR' }, sku: 'sku-19' } },
        { name: 'login', at: '2026-02-20T07:55:00+01:00', properties: { device: 'android' } },
      ],
    },
  },
  {
    key: 'late_signup',
    label: 'Late-evening signup (New York calendar edge)',
    profile: {
      id: 'u004217',
      attributes: {
        age: 27,
        country: 'US',
        plan: 'free',
        ltv: 35,
        signup_at: '2026-03-09T03:30:00Z',
        churn_score: 0.51,
        app_version: '2.3.0',
        email: 'u004217@example.com',
        consent: { marketing: true, updated_at: '2026-03-09T03:31:00Z' },
      },
      events: [
        { name: 'login', at: '2026-03-09T03:35:00Z', properties: { device: 'ios' } },
        { name: 'login', at: '2026-03-13T23:10:00Z', properties: { device: 'ios' } },
      ],
    },
  },
];
