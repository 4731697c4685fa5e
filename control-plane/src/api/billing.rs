//! `GET /billing`: the caller's plan and what they have used in the current
//! period. Payment comes later; until then this is what the dashboard's
//! billing page shows, and the limits are what a plan includes, not yet enforced.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Datelike, Months, TimeZone, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::UsageView;
use crate::error::{ApiResult, AppError};
use crate::extract::AuthUser;
use crate::state::AppState;

/// Routes under `/billing`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(billing))
}

/// What a plan includes per period; `null` is unlimited.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct PlanLimits {
    pub sites: Option<i64>,
    pub generations: Option<i64>,
    pub deployments: Option<i64>,
    /// Model tokens (input and output).
    pub tokens: Option<i64>,
}

/// A plan the control plane knows.
#[derive(Debug, Clone, Copy)]
struct PlanInfo {
    id: &'static str,
    name: &'static str,
    /// Monthly price in US cents.
    price_cents: i64,
    limits: PlanLimits,
}

const PLANS: [PlanInfo; 3] = [
    PlanInfo {
        id: "free",
        name: "Free",
        price_cents: 0,
        limits: PlanLimits {
            sites: Some(3),
            generations: Some(10),
            deployments: Some(100),
            tokens: Some(2_000_000),
        },
    },
    PlanInfo {
        id: "pro",
        name: "Pro",
        price_cents: 4_900,
        limits: PlanLimits {
            sites: Some(50),
            generations: Some(250),
            deployments: Some(10_000),
            tokens: Some(50_000_000),
        },
    },
    PlanInfo {
        id: "agency",
        name: "Agency",
        price_cents: 29_900,
        limits: PlanLimits {
            sites: None,
            generations: None,
            deployments: None,
            tokens: None,
        },
    },
];

/// The caller's plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// `free`, `pro`, `agency`, or another id from the subscription.
    #[schema(example = "free")]
    pub id: String,
    #[schema(example = "Free")]
    pub name: String,
    /// The subscription's status (`active` for the free plan).
    pub status: String,
    /// Monthly price in US cents; `null` for a plan this control plane does not know.
    pub price_cents: Option<i64>,
    pub limits: PlanLimits,
}

/// What the caller has used in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodUsage {
    /// Sites the caller has now.
    pub sites: i64,
    /// Generation jobs started (whole sites and regenerations).
    pub generations: i64,
    /// Deployments made, one per site.
    pub deployments: i64,
    pub tokens: UsageView,
}

/// The caller's plan and usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingView {
    pub plan: PlanView,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub usage: PeriodUsage,
    /// Whether payments can be made here yet.
    pub payments_enabled: bool,
}

/// The billing period holding `now`: the month ending at the subscription's
/// `current_period_end` if it is still ahead, else the calendar month.
fn period(now: DateTime<Utc>, period_end: Option<DateTime<Utc>>) -> (DateTime<Utc>, DateTime<Utc>) {
    if let Some(end) = period_end.filter(|end| *end > now) {
        if let Some(start) = end.checked_sub_months(Months::new(1)) {
            return (start, end);
        }
    }
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let end = start.checked_add_months(Months::new(1)).unwrap_or(now);
    (start, end)
}

/// The caller's plan and what they have used in the current period.
#[utoipa::path(get, path = "/billing", tag = "billing", security(("bearer" = [])),
    responses((status = 200, description = "Plan and usage", body = BillingView)))]
async fn billing(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<BillingView>> {
    let account = state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(AppError::Unauthorized("this account no longer exists"))?;
    let subscription = state.store.subscription(user.id).await?;
    let (plan_id, status, period_end) = match &subscription {
        Some(s) => (s.plan_id.clone(), s.status.clone(), s.current_period_end),
        None => (account.subscription_tier.clone(), "active".to_owned(), None),
    };
    let known = PLANS.iter().find(|p| p.id == plan_id);
    let (period_start, period_end) = period(Utc::now(), period_end);
    let used = state.store.usage_since(user.id, period_start).await?;
    Ok(Json(BillingView {
        plan: PlanView {
            name: known.map_or_else(|| plan_id.clone(), |p| p.name.to_owned()),
            id: plan_id,
            status,
            price_cents: known.map(|p| p.price_cents),
            limits: known.map_or(PLANS[0].limits, |p| p.limits),
        },
        period_start,
        period_end,
        usage: PeriodUsage {
            sites: used.sites,
            generations: used.generations,
            deployments: used.deployments,
            tokens: used.tokens.into(),
        },
        payments_enabled: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_is_the_calendar_month_without_a_subscription() {
        let now = Utc.with_ymd_and_hms(2026, 2, 14, 9, 30, 0).unwrap();
        let (start, end) = period(now, None);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
        let renews = Utc.with_ymd_and_hms(2026, 2, 20, 0, 0, 0).unwrap();
        assert_eq!(
            period(now, Some(renews)),
            (Utc.with_ymd_and_hms(2026, 1, 20, 0, 0, 0).unwrap(), renews)
        );
        // A period end already past falls back to the calendar month.
        assert_eq!(period(now, Some(start)), (start, end));
    }
}
