//! Per-customer limits and the fair order of dispatch, both decided inside the submission's
//! transaction. The hold that opens it has locked the customer's row (PostgreSQL) or taken
//! the write lock (SQLite), so concurrent submissions of one customer — from any instance —
//! count one after the other, and a refused one leaves nothing behind.

use chrono::{DateTime, Utc};
use reelgate_domain::accounts::UserId;
use reelgate_domain::limits::{self, LimitSettings, Limits, Quota, Usage};
use reelgate_domain::Credits;
use sqlx::{AnyConnection, Row};

use crate::time::{from_millis, from_millis_opt, now_millis, to_millis};
use crate::{Store, StoreError};

/// The scope of the operator's defaults in `customer_limits`.
const DEFAULTS: &str = "default";

/// Whose limits a row of `customer_limits` holds.
#[derive(Debug, Clone, Copy)]
pub enum LimitScope<'a> {
    Defaults,
    Customer(&'a UserId),
}

impl LimitScope<'_> {
    fn key(&self) -> &str {
        match self {
            LimitScope::Defaults => DEFAULTS,
            LimitScope::Customer(user) => user.as_str(),
        }
    }
}

/// A customer's own overrides, the defaults they fall back on, and the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerLimits {
    pub own: LimitSettings,
    pub defaults: LimitSettings,
    pub effective: Limits,
}

impl Store {
    pub async fn limit_settings(&self, scope: LimitScope<'_>) -> Result<LimitSettings, StoreError> {
        let mut conn = self.pool.acquire().await?;
        settings_of(&mut conn, scope.key()).await
    }

    /// Replaces the limits at `scope` (every field: `None` clears it).
    pub async fn set_limit_settings(
        &self,
        scope: LimitScope<'_>,
        settings: &LimitSettings,
    ) -> Result<(), StoreError> {
        let key = scope.key();
        let now = now_millis();
        crate::retry::in_transaction!(self, |conn| async {
            sqlx::query(
                "INSERT INTO customer_limits
                     (scope, max_active, submissions_per_minute, daily_credits, weight, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (scope) DO UPDATE SET max_active = $2, submissions_per_minute = $3,
                     daily_credits = $4, weight = $5, updated_at = $6",
            )
            .bind(key)
            .bind(settings.max_active.map(i64::from))
            .bind(settings.submissions_per_minute.map(i64::from))
            .bind(settings.daily_credits.map(Credits::get))
            .bind(settings.weight.map(|w| i64::from(w.get())))
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok::<_, StoreError>(())
        })
    }

    pub async fn customer_limits(&self, user: &UserId) -> Result<CustomerLimits, StoreError> {
        let mut conn = self.pool.acquire().await?;
        customer_limits_in(&mut conn, user).await
    }
}

async fn settings_of(conn: &mut AnyConnection, scope: &str) -> Result<LimitSettings, StoreError> {
    let (own, defaults) = own_and_defaults(conn, scope).await?;
    Ok(if scope == DEFAULTS { defaults } else { own })
}

/// The settings at `scope` and the defaults, in one read of [`SETTINGS`].
async fn own_and_defaults(
    conn: &mut AnyConnection,
    scope: &str,
) -> Result<(LimitSettings, LimitSettings), StoreError> {
    let rows = sqlx::query(SETTINGS)
        .bind(scope)
        .fetch_all(&mut *conn)
        .await?;
    let mut scoped = Vec::with_capacity(rows.len());
    for row in &rows {
        let settings = settings_from([
            row.try_get("max_active")?,
            row.try_get("submissions_per_minute")?,
            row.try_get("daily_credits")?,
            row.try_get("weight")?,
        ])?;
        scoped.push((row.try_get::<String, _>("scope")?, settings));
    }
    Ok(by_scope(scoped))
}

/// The rows of [`SETTINGS`] sorted into the customer's own settings and the defaults.
pub(crate) fn by_scope(
    rows: impl IntoIterator<Item = (String, LimitSettings)>,
) -> (LimitSettings, LimitSettings) {
    let (mut own, mut defaults) = (LimitSettings::default(), LimitSettings::default());
    for (scope, settings) in rows {
        if scope == DEFAULTS {
            defaults = settings;
        } else {
            own = settings;
        }
    }
    (own, defaults)
}

/// The limits at scope `$1` and the defaults (scope `default`), each a row if set, in the
/// order [`settings_from`] takes them: one read for a submission's two.
pub(crate) const SETTINGS: &str =
    "SELECT scope, max_active, submissions_per_minute, daily_credits, weight
     FROM customer_limits WHERE scope IN ($1, 'default')";

/// A row of [`SETTINGS`] as the domain's settings.
pub(crate) fn settings_from(
    [max_active, per_minute, daily_credits, weight]: [Option<i64>; 4],
) -> Result<LimitSettings, StoreError> {
    let count = |n: Option<i64>| -> Result<Option<u32>, StoreError> {
        n.map(|n| u32::try_from(n).map_err(|e| StoreError::corrupt("customer_limits", e)))
            .transpose()
    };
    LimitSettings::new(
        count(max_active)?,
        count(per_minute)?,
        daily_credits,
        count(weight)?,
    )
    .map_err(|e| StoreError::corrupt("customer_limits", e))
}

async fn customer_limits_in(
    conn: &mut AnyConnection,
    user: &UserId,
) -> Result<CustomerLimits, StoreError> {
    let (own, defaults) = own_and_defaults(conn, user.as_str()).await?;
    Ok(CustomerLimits {
        own,
        defaults,
        effective: own.over(defaults),
    })
}

/// What a submission learnt inside its transaction: the quota left and its place in the
/// fair order.
pub(crate) struct Admitted {
    pub quota: Option<Quota>,
    pub fair_key: i64,
}

/// Checks `user`'s limits for a submission of `price` at `now` and gives it its place in the
/// fair order. Call after the hold, in the same transaction.
pub(crate) async fn admit(
    conn: &mut AnyConnection,
    user: &UserId,
    price: Credits,
    now: i64,
) -> Result<Admitted, StoreError> {
    let limits = customer_limits_in(conn, user).await?.effective;
    let quota = if limits.any() {
        let usage = usage(conn, user, from_millis("generations", now)?).await?;
        limits::admit(&limits, &usage, price).map_err(StoreError::LimitReached)?
    } else {
        None
    };
    let fair_key = take_fair_place(conn, user, limits.weight.stride()).await?;
    Ok(Admitted { quota, fair_key })
}

async fn usage(
    conn: &mut AnyConnection,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<Usage, StoreError> {
    let [minute_ago, day_start] = usage_window(now);
    let row = sqlx::query(USAGE)
        .bind(user.as_str())
        .bind(minute_ago)
        .bind(day_start)
        .fetch_one(&mut *conn)
        .await?;
    usage_from(
        now,
        [row.try_get("active")?, row.try_get("last_minute")?],
        row.try_get("oldest")?,
        row.try_get("spent")?,
    )
}

/// A customer's (`$1`) use counted by their limits: active, submitted since `$2` (a minute
/// ago), the earliest of those, and credits spent since `$3` (the day's start).
pub(crate) const USAGE: &str = "SELECT
     (SELECT COUNT(*) FROM generations
      WHERE user_id = $1 AND status IN ('queued', 'running')) AS active,
     (SELECT COUNT(*) FROM generations
      WHERE user_id = $1 AND created_at > $2) AS last_minute,
     (SELECT MIN(created_at) FROM generations
      WHERE user_id = $1 AND created_at > $2) AS oldest,
     (SELECT CAST(COALESCE(SUM(credits), 0) AS BIGINT) FROM generations
      WHERE user_id = $1 AND created_at >= $3
        AND status IN ('queued', 'running', 'succeeded')) AS spent";

/// [`USAGE`]'s `$2` and `$3` at `now`.
pub(crate) fn usage_window(now: DateTime<Utc>) -> [i64; 2] {
    [
        to_millis(now - limits::MINUTE),
        to_millis(limits::day_start(now)),
    ]
}

/// A row of [`USAGE`] as the domain's usage.
pub(crate) fn usage_from(
    now: DateTime<Utc>,
    [active, last_minute]: [i64; 2],
    oldest: Option<i64>,
    spent: i64,
) -> Result<Usage, StoreError> {
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(Usage {
        now,
        active: count(active),
        last_minute: count(last_minute),
        oldest_in_minute: from_millis_opt("generations", oldest)?,
        spent_today: Credits::new(spent),
    })
}

/// Start-time fair queuing: the new generation's place is its customer's last place, or the
/// place being served now (the first waiting, else the last ever given) if that is later (a
/// customer idle for a while starts from now, with no credit saved up), plus the customer's
/// stride `$1`. Customer `$2`'s last place becomes that, and is returned: one statement.
pub(crate) static TAKE_FAIR_PLACE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let serving = "COALESCE(
         (SELECT MIN(fair_key) FROM generations WHERE status = 'queued' AND dispatch = 'waiting'),
         (SELECT MAX(fair_key) FROM generations),
         0)";
    format!(
        "UPDATE users SET fair_last = $1
             + CASE WHEN fair_last >= {serving} THEN fair_last ELSE {serving} END
         WHERE id = $2
         RETURNING fair_last"
    )
});

async fn take_fair_place(
    conn: &mut AnyConnection,
    user: &UserId,
    stride: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(&TAKE_FAIR_PLACE)
        .bind(stride)
        .bind(user.as_str())
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_get("fair_last")?)
}
