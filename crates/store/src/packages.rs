//! Credit packages, as the operator defines them.

use reelgate_domain::payments::{Money, Package, PackageId, PackageName};
use reelgate_domain::Credits;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::retry::in_transaction;
use crate::time::{from_millis, now_millis};
use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewPackage {
    pub name: PackageName,
    pub credits: Credits,
    pub bonus_credits: Credits,
    pub price: Money,
    pub active: bool,
    pub position: i64,
}

/// An operator's edit: each field given replaces the old value.
#[derive(Debug, Clone, Default)]
pub struct PackageChange {
    pub name: Option<PackageName>,
    pub credits: Option<Credits>,
    pub bonus_credits: Option<Credits>,
    pub price: Option<Money>,
    pub active: Option<bool>,
    pub position: Option<i64>,
}

const COLUMNS: &str = "id, name, credits, bonus_credits, price_amount, price_currency, active, \
                       position, created_at, updated_at";

pub(crate) fn package_from_row(row: &AnyRow) -> Result<Package, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::corrupt("credit_packages", e);
    let amount: String = row.try_get("price_amount")?;
    let currency: String = row.try_get("price_currency")?;
    Ok(Package {
        id: row
            .try_get::<String, _>("id")?
            .parse()
            .map_err(|e| corrupt(&e))?,
        name: PackageName::parse(&row.try_get::<String, _>("name")?).map_err(|e| corrupt(&e))?,
        credits: Credits::new(row.try_get("credits")?),
        bonus_credits: Credits::new(row.try_get("bonus_credits")?),
        price: Money::parse(&amount, &currency).map_err(|e| corrupt(&e))?,
        active: row.try_get::<i64, _>("active")? == 1,
        position: row.try_get("position")?,
        created_at: from_millis("credit_packages", row.try_get("created_at")?)?,
        updated_at: from_millis("credit_packages", row.try_get("updated_at")?)?,
    })
}

impl Store {
    pub async fn create_package(&self, new: &NewPackage) -> Result<Package, StoreError> {
        let id = PackageId::new();
        let key = id.as_str();
        let now = now_millis();
        in_transaction!(self, |conn| async {
            sqlx::query(
                "INSERT INTO credit_packages (id, name, credits, bonus_credits, price_amount,
                     price_currency, active, position, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
            )
            .bind(key)
            .bind(new.name.as_str())
            .bind(new.credits.get())
            .bind(new.bonus_credits.get())
            .bind(new.price.amount_string())
            .bind(new.price.currency().code())
            .bind(i64::from(new.active))
            .bind(new.position)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            Ok::<_, StoreError>(())
        })?;
        self.package(&id).await
    }

    /// Changes a package. Payments already begun keep the price and credits they captured.
    pub async fn update_package(
        &self,
        id: &PackageId,
        change: &PackageChange,
    ) -> Result<Package, StoreError> {
        let updated = in_transaction!(self, |conn| async {
            let affected = sqlx::query(
                "UPDATE credit_packages SET
                     name = COALESCE($2, name),
                     credits = COALESCE($3, credits),
                     bonus_credits = COALESCE($4, bonus_credits),
                     price_amount = COALESCE($5, price_amount),
                     price_currency = COALESCE($6, price_currency),
                     active = COALESCE($7, active),
                     position = COALESCE($8, position),
                     updated_at = $9
                 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(change.name.as_ref().map(PackageName::as_str))
            .bind(change.credits.map(Credits::get))
            .bind(change.bonus_credits.map(Credits::get))
            .bind(change.price.map(|p| p.amount_string()))
            .bind(change.price.map(|p| p.currency().code()))
            .bind(change.active.map(i64::from))
            .bind(change.position)
            .bind(now_millis())
            .execute(&mut *conn)
            .await?
            .rows_affected();
            Ok::<_, StoreError>(affected)
        })?;
        if updated == 0 {
            return Err(StoreError::PackageNotFound);
        }
        self.package(id).await
    }

    pub async fn package(&self, id: &PackageId) -> Result<Package, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM credit_packages WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::PackageNotFound)?;
        package_from_row(&row)
    }

    /// Packages in their order on the page; hidden ones only if asked for.
    pub async fn packages(&self, include_hidden: bool) -> Result<Vec<Package>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM credit_packages WHERE active = 1 OR $1 = 1
             ORDER BY position, created_at, id"
        ))
        .bind(i64::from(include_hidden))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(package_from_row).collect()
    }
}
