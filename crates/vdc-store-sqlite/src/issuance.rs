//! [`IssuanceStore`] on SQLite: issuers, offers, access tokens, `c_nonce`s, issued
//! credentials (with their status entries), deferred issuance, notifications and settings.

use async_trait::async_trait;
use serde_json::Value;
use vdc_store::rows::{
    AccessTokenRow, CredentialRow, DeferredRow, IssuerRow, OfferRow, read_tx_code_failures,
};
use vdc_store::{
    AccessTokenRecord, DeferredOutcome, DeferredRecord, IssuanceStore, IssuedCredentialRecord,
    IssuerRecord, NewAccessToken, NonceUse, NotificationRecord, OfferRecord, Outbox, Result,
    SecretHash, StoreError, UnixTime, check_records,
};

use crate::error::{db_err, db_err_fk};
use crate::{SqliteStore, outbox, t, to_json};

fn max_failures(max: u32) -> i64 {
    i64::from(max)
}

/// Allocates the entry `(list_id, index)` for `credential_id` inside the issuance
/// transaction (R1, G9): an insert under the primary key on an unsealed list that holds the
/// index. A taken index is [`StoreError::Duplicate`]; an unknown or sealed list or an index
/// outside it is [`StoreError::NotFound`]. Either way the caller's transaction is dropped,
/// so a refused request leaves no entry behind.
async fn allocate_status_entry(
    tx: &mut sqlx::SqliteConnection,
    issuer_id: &str,
    list_id: &str,
    index: i64,
    credential_id: &str,
    now: UnixTime,
) -> Result<()> {
    let inserted = sqlx::query!(
        "INSERT INTO status_entries (issuer_id, list_id, idx, allocated_at, credential_id)
         SELECT l.issuer_id, l.list_id, $3, $5, $4 FROM status_lists l
         WHERE l.issuer_id = $1 AND l.list_id = $2 AND l.sealed_at IS NULL
           AND l.size > $3
         ON CONFLICT (issuer_id, list_id, idx) DO NOTHING",
        issuer_id,
        list_id,
        index,
        credential_id,
        t(now),
    )
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if inserted == 1 {
        return Ok(());
    }
    let exists = sqlx::query_scalar!(
        "SELECT idx FROM status_entries WHERE issuer_id = $1 AND list_id = $2 AND idx = $3",
        issuer_id,
        list_id,
        index,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    Err(match exists {
        Some(_) => StoreError::Duplicate("status list entry"),
        None => StoreError::NotFound("status list entry"),
    })
}

/// Counts `count` more credentials for the offer and marks it `CredentialIssued`, unless it
/// would then exceed `max_credentials` ([`StoreError::Exhausted`]) or its code was never
/// redeemed ([`StoreError::NotFound`]). One conditional UPDATE under the offer's row lock,
/// so concurrent requests for one offer cannot together pass the limit.
async fn count_offer_credentials(
    tx: &mut sqlx::SqliteConnection,
    issuer_id: &str,
    offer_id: &str,
    count: usize,
    max_credentials: u32,
) -> Result<()> {
    let count = i64::try_from(count).map_err(|_| StoreError::Invalid("record count"))?;
    let max = i64::from(max_credentials);
    let updated = sqlx::query!(
        "UPDATE credential_offers
         SET status = 'credential_issued', credentials_issued = credentials_issued + $3
         WHERE issuer_id = $1 AND offer_id = $2
           AND status IN ('token_issued', 'credential_issued')
           AND credentials_issued + $3 <= $4",
        issuer_id,
        offer_id,
        count,
        max,
    )
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if updated == 1 {
        return Ok(());
    }
    let redeemed = sqlx::query_scalar!(
        "SELECT offer_id FROM credential_offers
         WHERE issuer_id = $1 AND offer_id = $2
           AND status IN ('token_issued', 'credential_issued')",
        issuer_id,
        offer_id,
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    Err(match redeemed {
        Some(_) => StoreError::Exhausted("credentials per offer"),
        None => StoreError::NotFound("offer with a redeemed code"),
    })
}

/// Consumes `nonce` inside `tx` (G2): inserts its hash, which the primary key lets happen
/// once. The nonce itself was made without a write (sealed by the issuer); only used ones
/// are stored, until they expire. False for a used or expired nonce.
async fn consume_nonce(
    tx: &mut sqlx::SqliteConnection,
    issuer_id: &str,
    nonce: &NonceUse,
    now: UnixTime,
) -> Result<bool> {
    if nonce.expires_at <= now {
        return Ok(false);
    }
    let inserted = sqlx::query!(
        "INSERT INTO c_nonces (issuer_id, nonce_hash, expires_at, consumed_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (issuer_id, nonce_hash) DO NOTHING",
        issuer_id,
        nonce.hash.as_bytes().as_slice(),
        t(nonce.expires_at),
        t(now),
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| db_err_fk(e, "issuer"))?
    .rows_affected();
    Ok(inserted == 1)
}

/// Counts the records against the offer's limit and marks it `CredentialIssued`, then
/// allocates each status entry and inserts the records and the optional notification, all
/// inside `tx`. Callers checked the records with [`check_records`].
async fn write_issuance(
    tx: &mut sqlx::SqliteConnection,
    issuer_id: &str,
    offer_id: &str,
    records: &[IssuedCredentialRecord],
    notification: Option<&NotificationRecord>,
    max_credentials: u32,
) -> Result<()> {
    // The limit first: it takes the offer's row lock and refuses early.
    count_offer_credentials(
        &mut *tx,
        issuer_id,
        offer_id,
        records.len(),
        max_credentials,
    )
    .await?;
    for r in records {
        let (list_id, index) = match &r.status_list {
            Some(s) => (
                Some(s.list_id.as_str()),
                Some(i64::try_from(s.index).map_err(|_| StoreError::Invalid("status list index"))?),
            ),
            None => (None, None),
        };
        if let (Some(list_id), Some(index)) = (list_id, index) {
            allocate_status_entry(
                &mut *tx,
                issuer_id,
                list_id,
                index,
                &r.credential_id,
                r.issued_at,
            )
            .await?;
        }
        sqlx::query!(
            "INSERT INTO issued_credentials (issuer_id, credential_id, offer_id,
                credential_configuration_id, holder_key_thumbprint, status_list_id,
                status_list_index, status, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            r.issuer_id,
            r.credential_id,
            r.offer_id,
            r.credential_configuration_id,
            r.holder_key_thumbprint,
            list_id,
            index,
            r.status.as_str(),
            t(r.issued_at),
            r.expires_at.map(t),
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err_fk(e, "offer"))?;
    }
    if let Some(n) = notification {
        sqlx::query!(
            "INSERT INTO notifications (issuer_id, notification_id_hash, offer_id, expires_at)
             VALUES ($1, $2, $3, $4)",
            n.issuer_id,
            n.notification_id_hash.as_bytes().as_slice(),
            n.offer_id,
            t(n.expires_at),
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err_fk(e, "offer"))?;
    }
    Ok(())
}

#[async_trait]
impl IssuanceStore for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query!("SELECT 1 AS one")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn create_issuer(&self, issuer: &IssuerRecord) -> Result<()> {
        sqlx::query!(
            "INSERT INTO issuers (issuer_id, config, created_at) VALUES ($1, $2, $3)",
            issuer.id,
            to_json(&issuer.config)?,
            t(issuer.created_at),
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_issuer(&self, issuer_id: &str) -> Result<Option<IssuerRecord>> {
        let row = sqlx::query_as!(
            IssuerRow,
            "SELECT issuer_id, config, created_at FROM issuers WHERE issuer_id = $1",
            issuer_id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_issuers(&self) -> Result<Vec<IssuerRecord>> {
        let rows = sqlx::query_as!(
            IssuerRow,
            "SELECT issuer_id, config, created_at FROM issuers ORDER BY issuer_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn list_issuers_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IssuerRecord>> {
        // The empty string sorts before every slug: no cursor is "from the first".
        let after = after.unwrap_or("");
        let limit = i64::from(limit);
        let rows = sqlx::query_as!(
            IssuerRow,
            "SELECT issuer_id, config, created_at FROM issuers WHERE issuer_id > $1
             ORDER BY issuer_id LIMIT $2",
            after,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_issuer_config(&self, issuer_id: &str, config: &Value) -> Result<()> {
        let config = to_json(config)?;
        let updated = sqlx::query!(
            "UPDATE issuers SET config = $2 WHERE issuer_id = $1",
            issuer_id,
            config
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("issuer"));
        }
        Ok(())
    }

    async fn create_offer(&self, offer: &OfferRecord, outbox: &Outbox) -> Result<()> {
        let failures = i64::from(offer.tx_code_failures);
        let ids = to_json(&offer.credential_configuration_ids)?;
        let claims = offer.claims.as_ref().map(to_json).transpose()?;
        let credential_offer = to_json(&offer.credential_offer)?;
        let mut tx = self.begin_write().await?;
        sqlx::query!(
            "INSERT INTO credential_offers (issuer_id, offer_id, credential_configuration_ids,
                claims, credential_offer, pre_authorized_code_hash, tx_code_hash,
                tx_code_failures, deferred, status, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            offer.issuer_id,
            offer.offer_id,
            ids,
            claims,
            credential_offer,
            offer.pre_authorized_code_hash.as_bytes().as_slice(),
            offer.tx_code_hash.as_ref().map(|h| h.as_bytes().as_slice()),
            failures,
            offer.deferred,
            offer.status.as_str(),
            t(offer.created_at),
            t(offer.expires_at),
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err_fk(e, "issuer"))?;
        outbox::write(&mut tx, outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn get_offer(&self, issuer_id: &str, offer_id: &str) -> Result<Option<OfferRecord>> {
        sqlx::query_as!(
            OfferRow,
            "SELECT issuer_id, offer_id, credential_configuration_ids, claims, credential_offer,
                pre_authorized_code_hash, tx_code_hash, tx_code_failures, deferred, status,
                created_at, expires_at
             FROM credential_offers WHERE issuer_id = $1 AND offer_id = $2",
            issuer_id,
            offer_id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn cancel_offer(&self, issuer_id: &str, offer_id: &str) -> Result<bool> {
        let updated = sqlx::query!(
            "UPDATE credential_offers SET status = 'cancelled'
             WHERE issuer_id = $1 AND offer_id = $2 AND status = 'offered'",
            issuer_id,
            offer_id,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn find_live_offer_by_code(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
        max_tx_failures: u32,
    ) -> Result<Option<OfferRecord>> {
        sqlx::query_as!(
            OfferRow,
            "SELECT issuer_id, offer_id, credential_configuration_ids, claims, credential_offer,
                pre_authorized_code_hash, tx_code_hash, tx_code_failures, deferred, status,
                created_at, expires_at
             FROM credential_offers
             WHERE issuer_id = $1 AND pre_authorized_code_hash = $2 AND status = 'offered'
               AND expires_at > $3 AND tx_code_failures < $4",
            issuer_id,
            code_hash.as_bytes().as_slice(),
            t(now),
            max_failures(max_tx_failures),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn reserve_tx_code_attempt(
        &self,
        issuer_id: &str,
        offer_id: &str,
        max_tx_failures: u32,
    ) -> Result<Option<u32>> {
        let count = sqlx::query_scalar!(
            "UPDATE credential_offers SET tx_code_failures = tx_code_failures + 1
             WHERE issuer_id = $1 AND offer_id = $2 AND status = 'offered'
               AND tx_code_failures < $3
             RETURNING tx_code_failures",
            issuer_id,
            offer_id,
            max_failures(max_tx_failures),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        count.map(read_tx_code_failures).transpose()
    }

    #[allow(clippy::too_many_arguments)]
    async fn redeem_pre_authorized_code(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
        max_tx_failures: u32,
        token: &NewAccessToken,
        refund_tx_code_attempt: bool,
        outbox: &vdc_store::events::OfferOutbox<'_>,
    ) -> Result<Option<OfferRecord>> {
        let refund: i64 = refund_tx_code_attempt.into();
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query_as!(
            OfferRow,
            "UPDATE credential_offers
             SET status = 'token_issued', tx_code_failures = tx_code_failures - $5
             WHERE issuer_id = $1 AND pre_authorized_code_hash = $2 AND status = 'offered'
               AND expires_at > $3 AND tx_code_failures >= $5
               AND tx_code_failures - $5 < $4
               AND (tx_code_hash IS NULL OR $5 = 1)
             RETURNING issuer_id, offer_id, credential_configuration_ids, claims,
                credential_offer, pre_authorized_code_hash, tx_code_hash, tx_code_failures,
                deferred, status, created_at, expires_at",
            issuer_id,
            code_hash.as_bytes().as_slice(),
            t(now),
            max_failures(max_tx_failures),
            refund,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        else {
            tx.rollback().await.map_err(db_err)?;
            return Ok(None);
        };
        let offer = OfferRecord::try_from(row)?;
        let ids = to_json(&offer.credential_configuration_ids)?;
        sqlx::query!(
            "INSERT INTO access_tokens (issuer_id, token_hash, offer_id,
                credential_configuration_ids, expires_at, dpop_jkt)
             VALUES ($1, $2, $3, $4, $5, $6)",
            issuer_id,
            token.token_hash.as_bytes().as_slice(),
            offer.offer_id,
            ids,
            t(token.expires_at),
            token.dpop_jkt,
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err_fk(e, "offer"))?;
        outbox::write(&mut tx, &outbox(&offer)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(offer))
    }

    async fn find_access_token(
        &self,
        issuer_id: &str,
        token_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenRecord>> {
        sqlx::query_as!(
            AccessTokenRow,
            "SELECT issuer_id, token_hash, offer_id, credential_configuration_ids, expires_at,
                dpop_jkt, authorization_details, authorization_id
             FROM access_tokens WHERE issuer_id = $1 AND token_hash = $2 AND expires_at > $3",
            issuer_id,
            token_hash.as_bytes().as_slice(),
            t(now),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn find_token_offer(
        &self,
        issuer_id: &str,
        token_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<(AccessTokenRecord, OfferRecord)>> {
        let Some(row) = sqlx::query!(
            "SELECT a.token_hash, a.credential_configuration_ids AS token_configurations,
                a.expires_at AS token_expires_at, a.dpop_jkt, a.authorization_details,
                a.authorization_id,
                o.issuer_id, o.offer_id, o.credential_configuration_ids, o.claims,
                o.credential_offer, o.pre_authorized_code_hash, o.tx_code_hash,
                o.tx_code_failures, o.deferred, o.status, o.created_at, o.expires_at
             FROM access_tokens a
             JOIN credential_offers o ON o.issuer_id = a.issuer_id AND o.offer_id = a.offer_id
             WHERE a.issuer_id = $1 AND a.token_hash = $2 AND a.expires_at > $3",
            issuer_id,
            token_hash.as_bytes().as_slice(),
            t(now),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        else {
            return Ok(None);
        };
        let token = AccessTokenRecord::try_from(AccessTokenRow {
            issuer_id: row.issuer_id.clone(),
            token_hash: row.token_hash,
            offer_id: row.offer_id.clone(),
            credential_configuration_ids: row.token_configurations.into(),
            expires_at: row.token_expires_at,
            dpop_jkt: row.dpop_jkt,
            authorization_details: row.authorization_details,
            authorization_id: row.authorization_id,
        })?;
        let offer = OfferRecord::try_from(OfferRow {
            issuer_id: row.issuer_id,
            offer_id: row.offer_id,
            credential_configuration_ids: row.credential_configuration_ids.into(),
            claims: row.claims.into(),
            credential_offer: row.credential_offer.into(),
            pre_authorized_code_hash: row.pre_authorized_code_hash,
            tx_code_hash: row.tx_code_hash,
            tx_code_failures: row.tx_code_failures,
            deferred: row.deferred,
            status: row.status,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })?;
        Ok(Some((token, offer)))
    }

    async fn consume_nonce(
        &self,
        issuer_id: &str,
        nonce: &NonceUse,
        now: UnixTime,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        consume_nonce(&mut conn, issuer_id, nonce, now).await
    }

    // The nonce, the offer, its limit and what to write are one atomic step (G2, R1).
    #[allow(clippy::too_many_arguments)]
    async fn issue_credentials(
        &self,
        issuer_id: &str,
        nonce: &NonceUse,
        now: UnixTime,
        offer_id: &str,
        records: &[IssuedCredentialRecord],
        notification: Option<&NotificationRecord>,
        max_credentials: u32,
        outbox: &Outbox,
    ) -> Result<bool> {
        check_records(issuer_id, offer_id, records, notification)?;
        let mut tx = self.begin_write().await?;
        if !consume_nonce(&mut tx, issuer_id, nonce, now).await? {
            tx.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        write_issuance(
            &mut tx,
            issuer_id,
            offer_id,
            records,
            notification,
            max_credentials,
        )
        .await?;
        outbox::write(&mut tx, outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn get_credential(
        &self,
        issuer_id: &str,
        credential_id: &str,
    ) -> Result<Option<IssuedCredentialRecord>> {
        sqlx::query_as!(
            CredentialRow,
            "SELECT issuer_id, credential_id, offer_id, credential_configuration_id,
                holder_key_thumbprint, status_list_id, status_list_index, status, issued_at,
                expires_at
             FROM issued_credentials WHERE issuer_id = $1 AND credential_id = $2",
            issuer_id,
            credential_id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn credentials_for_offer(
        &self,
        issuer_id: &str,
        offer_id: &str,
    ) -> Result<Vec<IssuedCredentialRecord>> {
        sqlx::query_as!(
            CredentialRow,
            "SELECT issuer_id, credential_id, offer_id, credential_configuration_id,
                holder_key_thumbprint, status_list_id, status_list_index, status, issued_at,
                expires_at
             FROM issued_credentials WHERE issuer_id = $1 AND offer_id = $2
             ORDER BY credential_id",
            issuer_id,
            offer_id,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    async fn defer_issuance(
        &self,
        issuer_id: &str,
        nonce: &NonceUse,
        now: UnixTime,
        deferred: &DeferredRecord,
    ) -> Result<bool> {
        if deferred.issuer_id != issuer_id {
            return Err(StoreError::Invalid("deferred record of another issuer"));
        }
        let holder_keys = to_json(&deferred.holder_keys)?;
        let mut tx = self.begin_write().await?;
        if !consume_nonce(&mut tx, issuer_id, nonce, now).await? {
            tx.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        sqlx::query!(
            "INSERT INTO deferred_issuances (issuer_id, transaction_id_hash, offer_id,
                credential_configuration_id, holder_keys, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            issuer_id,
            deferred.transaction_id_hash.as_bytes().as_slice(),
            deferred.offer_id,
            deferred.credential_configuration_id,
            holder_keys,
            t(deferred.created_at),
            t(deferred.expires_at),
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err_fk(e, "offer"))?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn get_deferred(
        &self,
        issuer_id: &str,
        transaction_id_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeferredRecord>> {
        sqlx::query_as!(
            DeferredRow,
            "SELECT issuer_id, transaction_id_hash, offer_id, credential_configuration_id,
                holder_keys, created_at, expires_at
             FROM deferred_issuances
             WHERE issuer_id = $1 AND transaction_id_hash = $2 AND consumed_at IS NULL
               AND expires_at > $3",
            issuer_id,
            transaction_id_hash.as_bytes().as_slice(),
            t(now),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn set_offer_claims(
        &self,
        issuer_id: &str,
        offer_id: &str,
        claims: &Value,
    ) -> Result<bool> {
        let claims = to_json(claims)?;
        let updated = sqlx::query!(
            "UPDATE credential_offers SET claims = $3
             WHERE issuer_id = $1 AND offer_id = $2 AND deferred = 1 AND status <> 'cancelled'",
            issuer_id,
            offer_id,
            claims,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(updated == 1)
    }

    #[allow(clippy::too_many_arguments)]
    async fn redeem_deferred(
        &self,
        issuer_id: &str,
        transaction_id_hash: &SecretHash,
        now: UnixTime,
        records: &[IssuedCredentialRecord],
        notification: Option<&NotificationRecord>,
        max_credentials: u32,
        outbox: &Outbox,
    ) -> Result<DeferredOutcome> {
        let mut tx = self.begin_write().await?;
        let consumed = sqlx::query_scalar!(
            "UPDATE deferred_issuances SET consumed_at = $3
             WHERE issuer_id = $1 AND transaction_id_hash = $2 AND consumed_at IS NULL
               AND expires_at > $3
               AND EXISTS (SELECT 1 FROM credential_offers o
                           WHERE o.issuer_id = deferred_issuances.issuer_id
                             AND o.offer_id = deferred_issuances.offer_id
                             AND o.claims IS NOT NULL)
             RETURNING offer_id",
            issuer_id,
            transaction_id_hash.as_bytes().as_slice(),
            t(now),
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(offer_id) = consumed else {
            let pending = sqlx::query_scalar!(
                "SELECT count(*) AS \"count!\" FROM deferred_issuances
                 WHERE issuer_id = $1 AND transaction_id_hash = $2 AND consumed_at IS NULL
                   AND expires_at > $3",
                issuer_id,
                transaction_id_hash.as_bytes().as_slice(),
                t(now),
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.rollback().await.map_err(db_err)?;
            return Ok(if pending > 0 {
                DeferredOutcome::Pending
            } else {
                DeferredOutcome::Unknown
            });
        };
        check_records(issuer_id, &offer_id, records, notification)?;
        write_issuance(
            &mut tx,
            issuer_id,
            &offer_id,
            records,
            notification,
            max_credentials,
        )
        .await?;
        outbox::write(&mut tx, outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(DeferredOutcome::Issued)
    }

    async fn create_notification(&self, n: &NotificationRecord) -> Result<()> {
        sqlx::query!(
            "INSERT INTO notifications (issuer_id, notification_id_hash, offer_id, expires_at)
             VALUES ($1, $2, $3, $4)",
            n.issuer_id,
            n.notification_id_hash.as_bytes().as_slice(),
            n.offer_id,
            t(n.expires_at),
        )
        .execute(&self.pool)
        .await
        .map_err(|e| db_err_fk(e, "offer"))?;
        Ok(())
    }

    async fn consume_notification(
        &self,
        issuer_id: &str,
        offer_id: &str,
        notification_id_hash: &SecretHash,
        event: &str,
        now: UnixTime,
    ) -> Result<bool> {
        let updated = sqlx::query!(
            "UPDATE notifications SET consumed_at = COALESCE(consumed_at, $4), event = $3
             WHERE issuer_id = $1 AND notification_id_hash = $2 AND expires_at > $4 AND offer_id = $5
               AND (consumed_at IS NULL OR event = $3)",
            issuer_id,
            notification_id_hash.as_bytes().as_slice(),
            event,
            t(now),
            offer_id,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn purge_expired(&self, issuer_id: &str, now: UnixTime) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut removed = 0;
        removed += sqlx::query!(
            "DELETE FROM c_nonces WHERE issuer_id = $1 AND expires_at <= $2",
            issuer_id,
            t(now),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        removed += sqlx::query!(
            "DELETE FROM access_tokens WHERE issuer_id = $1 AND expires_at <= $2",
            issuer_id,
            t(now),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        removed += sqlx::query!(
            "DELETE FROM notifications WHERE issuer_id = $1 AND expires_at <= $2",
            issuer_id,
            t(now),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        removed += sqlx::query!(
            "DELETE FROM dpop_proofs WHERE issuer_id = $1 AND expires_at <= $2",
            issuer_id,
            t(now),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        // Refresh tokens before their authorizations (the foreign key); an authorization
        // outlives its refresh tokens (each one extends it), and one still referenced is kept.
        removed += sqlx::query!(
            "DELETE FROM refresh_tokens WHERE issuer_id = $1 AND expires_at <= $2",
            issuer_id,
            t(now),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        removed += sqlx::query!(
            "DELETE FROM authorizations
             WHERE issuer_id = $1 AND expires_at <= $2
               AND NOT EXISTS (SELECT 1 FROM refresh_tokens r
                   WHERE r.issuer_id = authorizations.issuer_id
                     AND r.authorization_id = authorizations.authorization_id)",
            issuer_id,
            t(now),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(removed)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar!("SELECT value FROM settings WHERE key = $1", key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool> {
        let inserted = sqlx::query!(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            key,
            value,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(inserted == 1)
    }
}
