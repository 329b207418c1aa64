//! [`StatusStore`] on Postgres.
//!
//! Allocation is `INSERT … SELECT … WHERE <list open> ON CONFLICT DO NOTHING`, one statement
//! per random candidate (no counter row). A status change locks its credential rows first
//! (`SELECT … FOR UPDATE`, in id order), then bumps each list's version (in list order): one
//! lock order for every transaction, so concurrent batches cannot deadlock, and the version
//! increments are serialized by the list row lock, so none is lost (G9).

use async_trait::async_trait;
use vdc_store::status::{check_changes, check_list, latest_per_index};
use vdc_store::{
    CredentialStatus, IssuedCredentialRecord, Result, StatusChange, StatusChangeOutcome,
    StatusChangeRecord, StatusListRecord, StatusListSnapshot, StatusStore, StoreError, UnixTime,
};

use vdc_store::rows::{CredentialRow, StatusChangeRow, StatusListRow};
use vdc_store::stored::{read_u64, write_u64};

use crate::error::{db_err, db_err_fk};
use crate::{PostgresStore, t};

async fn list_row(
    conn: &mut sqlx::PgConnection,
    issuer_id: &str,
    list_id: &str,
) -> Result<Option<StatusListRecord>> {
    sqlx::query_as!(
        StatusListRow,
        "SELECT issuer_id, list_id, bits, size, version, created_at, sealed_at
         FROM status_lists WHERE issuer_id = $1 AND list_id = $2",
        issuer_id,
        list_id,
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    .map(TryInto::try_into)
    .transpose()
}

#[async_trait]
impl StatusStore for PostgresStore {
    async fn create_status_list(&self, list: &StatusListRecord) -> Result<()> {
        check_list(list)?;
        sqlx::query!(
            "INSERT INTO status_lists (issuer_id, list_id, bits, size, version, created_at,
                sealed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            list.issuer_id,
            list.list_id,
            i32::from(list.bits),
            write_u64(list.size)?,
            write_u64(list.version)?,
            t(list.created_at),
            list.sealed_at.map(t),
        )
        .execute(&self.pool)
        .await
        .map_err(|e| db_err_fk(e, "issuer"))?;
        Ok(())
    }

    async fn get_status_list(
        &self,
        issuer_id: &str,
        list_id: &str,
    ) -> Result<Option<StatusListRecord>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        list_row(&mut conn, issuer_id, list_id).await
    }

    async fn status_lists(&self, issuer_id: &str) -> Result<Vec<StatusListRecord>> {
        sqlx::query_as!(
            StatusListRow,
            "SELECT issuer_id, list_id, bits, size, version, created_at, sealed_at
             FROM status_lists WHERE issuer_id = $1
             ORDER BY created_at, length(list_id), list_id",
            issuer_id,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn seal_status_list(&self, issuer_id: &str, list_id: &str, at: UnixTime) -> Result<bool> {
        let updated = sqlx::query!(
            "UPDATE status_lists SET sealed_at = $3
             WHERE issuer_id = $1 AND list_id = $2 AND sealed_at IS NULL",
            issuer_id,
            list_id,
            t(at),
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn free_status_indexes(
        &self,
        issuer_id: &str,
        list_id: &str,
        candidates: &[u64],
    ) -> Result<Vec<u64>> {
        let wanted = candidates
            .iter()
            .map(|c| write_u64(*c))
            .collect::<Result<Vec<i64>>>()?;
        // One statement: the candidates inside an unsealed list that no entry holds. Each
        // candidate is one primary-key probe (a LATERAL subquery with LIMIT cannot be
        // flattened): written as NOT EXISTS, Postgres' generic plan could become an anti
        // join reading every entry of the list once per candidate whenever the table had no
        // statistics yet (issue 11: the cost grew with the list).
        let free = sqlx::query_scalar!(
            r#"SELECT c.idx AS "idx!" FROM status_lists l
               CROSS JOIN UNNEST($3::BIGINT[]) AS c(idx)
               LEFT JOIN LATERAL (SELECT 1 AS taken FROM status_entries e
                   WHERE e.issuer_id = $1 AND e.list_id = $2 AND e.idx = c.idx
                   LIMIT 1) t ON TRUE
               WHERE l.issuer_id = $1 AND l.list_id = $2 AND l.sealed_at IS NULL
                 AND c.idx >= 0 AND c.idx < l.size AND t.taken IS NULL"#,
            issuer_id,
            list_id,
            &wanted,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        free.into_iter()
            .map(|i| read_u64(i, "status list index"))
            .collect()
    }

    async fn change_statuses(
        &self,
        issuer_id: &str,
        changes: &[StatusChange],
        actor: &str,
        now: UnixTime,
        outbox: &vdc_store::Outbox,
    ) -> Result<StatusChangeOutcome> {
        check_changes(changes)?;
        let mut tx = self.begin_write().await?;
        // Phase 1: lock every credential, in id order.
        let mut by_id: Vec<&StatusChange> = changes.iter().collect();
        by_id.sort_by(|a, b| a.credential_id.cmp(&b.credential_id));
        let mut current = std::collections::HashMap::new();
        for change in by_id {
            let row = sqlx::query_as!(
                CredentialRow,
                "SELECT issuer_id, credential_id, offer_id, credential_configuration_id,
                    holder_key_thumbprint, status_list_id, status_list_index, status,
                    issued_at, expires_at
                 FROM issued_credentials WHERE issuer_id = $1 AND credential_id = $2
                 FOR UPDATE",
                issuer_id,
                change.credential_id,
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            let Some(row) = row else {
                tx.rollback().await.map_err(db_err)?;
                return Ok(StatusChangeOutcome::UnknownCredential(
                    change.credential_id.clone(),
                ));
            };
            let record = IssuedCredentialRecord::try_from(row)?;
            // Revoked is final, checked under the row lock.
            if record.status == CredentialStatus::Revoked {
                tx.rollback().await.map_err(db_err)?;
                return Ok(StatusChangeOutcome::Revoked(change.credential_id.clone()));
            }
            current.insert(change.credential_id.clone(), record);
        }
        // Phase 2: apply, in list order.
        let mut by_list: Vec<&StatusChange> = changes.iter().collect();
        by_list.sort_by_key(|c| {
            let list = current
                .get(&c.credential_id)
                .and_then(|r| r.status_list.as_ref())
                .map(|s| s.list_id.clone());
            (list, c.credential_id.clone())
        });
        for change in by_list {
            let Some(record) = current.get_mut(&change.credential_id) else {
                continue;
            };
            if record.status == change.status {
                continue;
            }
            sqlx::query!(
                "UPDATE issued_credentials SET status = $3
                 WHERE issuer_id = $1 AND credential_id = $2",
                issuer_id,
                change.credential_id,
                change.status.as_str(),
            )
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            record.status = change.status;
            let Some(entry) = &record.status_list else {
                continue;
            };
            let version = sqlx::query_scalar!(
                "UPDATE status_lists SET version = version + 1
                 WHERE issuer_id = $1 AND list_id = $2 RETURNING version",
                issuer_id,
                entry.list_id,
            )
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("status list"))?;
            sqlx::query!(
                "INSERT INTO status_changes (issuer_id, list_id, version, idx, credential_id,
                    status, at, actor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                issuer_id,
                entry.list_id,
                version,
                write_u64(entry.index)?,
                change.credential_id,
                change.status.as_str(),
                t(now),
                actor,
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| db_err_fk(e, "status list"))?;
        }
        crate::outbox::write(&mut tx, outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(StatusChangeOutcome::Changed(
            changes
                .iter()
                .filter_map(|c| current.get(&c.credential_id).cloned())
                .collect(),
        ))
    }

    async fn status_list_version(&self, issuer_id: &str, list_id: &str) -> Result<Option<u64>> {
        sqlx::query_scalar!(
            "SELECT version FROM status_lists WHERE issuer_id = $1 AND list_id = $2",
            issuer_id,
            list_id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|v| read_u64(v, "version"))
        .transpose()
    }

    async fn status_list_snapshot(
        &self,
        issuer_id: &str,
        list_id: &str,
    ) -> Result<Option<StatusListSnapshot>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        // The version first: the entries read after it are at least that new.
        let Some(list) = list_row(&mut conn, issuer_id, list_id).await? else {
            return Ok(None);
        };
        let rows = sqlx::query!(
            "SELECT status_list_index AS \"idx!\", status FROM issued_credentials
             WHERE issuer_id = $1 AND status_list_id = $2 AND status <> 'valid'
               AND status_list_index IS NOT NULL
             ORDER BY status_list_index",
            issuer_id,
            list_id,
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        let entries = rows
            .into_iter()
            .map(|r| {
                Ok((
                    read_u64(r.idx, "index")?,
                    CredentialStatus::from_stored(&r.status)?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Some(StatusListSnapshot { list, entries }))
    }

    async fn status_list_at(
        &self,
        issuer_id: &str,
        list_id: &str,
        at: UnixTime,
    ) -> Result<Option<StatusListSnapshot>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let Some(list) = list_row(&mut conn, issuer_id, list_id).await? else {
            return Ok(None);
        };
        let rows = sqlx::query!(
            "SELECT version, idx, status FROM status_changes
             WHERE issuer_id = $1 AND list_id = $2 AND at <= $3",
            issuer_id,
            list_id,
            t(at),
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        let rows = rows
            .into_iter()
            .map(|r| {
                Ok((
                    read_u64(r.version, "version")?,
                    read_u64(r.idx, "index")?,
                    CredentialStatus::from_stored(&r.status)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(StatusListSnapshot {
            list,
            entries: latest_per_index(rows),
        }))
    }

    async fn status_history(
        &self,
        issuer_id: &str,
        credential_id: &str,
    ) -> Result<Vec<StatusChangeRecord>> {
        let rows = sqlx::query_as!(
            StatusChangeRow,
            "SELECT issuer_id, list_id, version, idx, credential_id, status, at, actor
             FROM status_changes WHERE issuer_id = $1 AND credential_id = $2
             ORDER BY version",
            issuer_id,
            credential_id,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
