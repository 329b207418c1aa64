//! [`AuthorizationStore`] on Postgres: pushed requests, logins, authorization codes, refresh
//! tokens and used DPoP `jti`s.
//!
//! Each handle is consumed by one conditional statement (`UPDATE … WHERE stage = $from`,
//! `DELETE`, `INSERT … ON CONFLICT DO NOTHING`); Postgres re-checks the condition after
//! waiting for a concurrent writer's row lock, so of N racers exactly one matches (G2). Every
//! write of a method is one transaction. The transactions that touch an authorization's
//! tokens (redeem, rotate, revoke) lock the authorization's row first, so they serialize per
//! authorization without deadlocks, and a revocation that waited sees the tokens of the
//! rotation it waited for.

use async_trait::async_trait;
use vdc_store::rows::{AuthorizationRow, RefreshTokenRow};
use vdc_store::{
    AuthorizationRecord, AuthorizationStage, AuthorizationStep, AuthorizationStore,
    AuthorizedOffer, CodeOutcome, CodeRedemption, OfferRecord, RefreshTokenRecord, Result,
    SecretHash, StoreError, UnixTime,
};

use crate::error::{db_err, db_err_fk};
use crate::{PostgresStore, outbox, t};

/// Refuses records of another tenant before anything is written (G6).
fn check_tenant(
    issuer_id: &str,
    redemption: &CodeRedemption<'_>,
    refresh: Option<&RefreshTokenRecord>,
) -> Result<()> {
    if let AuthorizedOffer::New(offer) = redemption.offer
        && offer.issuer_id != issuer_id
    {
        return Err(StoreError::Invalid("offer of another issuer"));
    }
    if refresh.is_some_and(|r| r.issuer_id != issuer_id) {
        return Err(StoreError::Invalid("refresh token of another issuer"));
    }
    Ok(())
}

/// Refuses a refresh token that continues another authorization than the one consumed.
fn check_continues(refresh: Option<&RefreshTokenRecord>, authorization_id: &str) -> Result<()> {
    if refresh.is_some_and(|r| r.authorization_id != authorization_id) {
        return Err(StoreError::Invalid(
            "refresh token of another authorization",
        ));
    }
    Ok(())
}

/// Inserts the offer of a login, as `token_issued` (its token is inserted with it).
async fn insert_offer(tx: &mut sqlx::PgConnection, offer: &OfferRecord) -> Result<()> {
    let failures = i32::try_from(offer.tx_code_failures)
        .map_err(|_| StoreError::Invalid("tx_code_failures"))?;
    sqlx::query!(
        "INSERT INTO credential_offers (issuer_id, offer_id, credential_configuration_ids,
            claims, credential_offer, pre_authorized_code_hash, tx_code_hash,
            tx_code_failures, deferred, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'token_issued', $10, $11)",
        offer.issuer_id,
        offer.offer_id,
        &offer.credential_configuration_ids,
        offer.claims,
        offer.credential_offer,
        offer.pre_authorized_code_hash.as_bytes().as_slice(),
        offer.tx_code_hash.as_ref().map(|h| h.as_bytes().as_slice()),
        failures,
        offer.deferred,
        t(offer.created_at),
        t(offer.expires_at),
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| db_err_fk(e, "issuer"))?;
    Ok(())
}

/// Stores or claims the offer of `redemption` inside `tx`: its id, or `None` if the
/// `Existing` offer is no longer `offered` and unexpired at `now` (the caller drops `tx`).
async fn claim_offer(
    tx: &mut sqlx::PgConnection,
    issuer_id: &str,
    offer: AuthorizedOffer<'_>,
    now: UnixTime,
) -> Result<Option<String>> {
    match offer {
        AuthorizedOffer::New(offer) => {
            insert_offer(&mut *tx, offer).await?;
            Ok(Some(offer.offer_id.clone()))
        }
        AuthorizedOffer::Existing { offer_id, claims } => sqlx::query_scalar!(
            "UPDATE credential_offers SET status = 'token_issued', claims = $3
             WHERE issuer_id = $1 AND offer_id = $2 AND status = 'offered'
               AND expires_at > $4
             RETURNING offer_id",
            issuer_id,
            offer_id,
            claims,
            t(now),
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err),
    }
}

/// Inserts the access token of `redemption` for `offer_id` and `authorization_id` inside
/// `tx`.
async fn insert_access_token(
    tx: &mut sqlx::PgConnection,
    issuer_id: &str,
    authorization_id: &str,
    offer_id: &str,
    redemption: &CodeRedemption<'_>,
) -> Result<()> {
    let token = redemption.token;
    sqlx::query!(
        "INSERT INTO access_tokens (issuer_id, token_hash, offer_id,
            credential_configuration_ids, expires_at, dpop_jkt, authorization_details,
            authorization_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        issuer_id,
        token.token_hash.as_bytes().as_slice(),
        offer_id,
        redemption.credential_configuration_ids,
        t(token.expires_at),
        token.dpop_jkt,
        redemption.authorization_details,
        authorization_id,
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| db_err_fk(e, "offer"))?;
    Ok(())
}

/// Inserts a refresh token inside `tx`.
async fn insert_refresh_token(
    tx: &mut sqlx::PgConnection,
    refresh: &RefreshTokenRecord,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO refresh_tokens (issuer_id, token_hash, authorization_id, dpop_jkt,
            expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        refresh.issuer_id,
        refresh.token_hash.as_bytes().as_slice(),
        refresh.authorization_id,
        refresh.dpop_jkt,
        t(refresh.expires_at),
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| db_err_fk(e, "authorization"))?;
    Ok(())
}

#[async_trait]
impl AuthorizationStore for PostgresStore {
    async fn push_authorization(&self, record: &AuthorizationRecord) -> Result<()> {
        sqlx::query!(
            "INSERT INTO authorizations (issuer_id, authorization_id, handle_hash, stage,
                request, subject, claims, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            record.issuer_id,
            record.authorization_id,
            record.handle_hash.as_bytes().as_slice(),
            record.stage.as_str(),
            record.request,
            record.subject,
            record.claims,
            t(record.created_at),
            t(record.expires_at),
        )
        .execute(&self.pool)
        .await
        .map_err(|e| db_err_fk(e, "issuer"))?;
        Ok(())
    }

    async fn find_authorization(
        &self,
        issuer_id: &str,
        handle_hash: &SecretHash,
        stage: AuthorizationStage,
        now: UnixTime,
    ) -> Result<Option<AuthorizationRecord>> {
        let Some(row) = sqlx::query_as!(
            AuthorizationRow,
            "SELECT issuer_id, authorization_id, handle_hash, stage, request, subject, claims,
                created_at, expires_at
             FROM authorizations
             WHERE issuer_id = $1 AND handle_hash = $2 AND stage = $3",
            issuer_id,
            handle_hash.as_bytes().as_slice(),
            stage.as_str(),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        else {
            return Ok(None);
        };
        // Expiry is checked here, not in the WHERE clause, so no plan can prefer the
        // `(issuer_id, expires_at)` index to the handle's (issue 11).
        if row.expires_at <= t(now) {
            return Ok(None);
        }
        row.try_into().map(Some)
    }

    async fn advance_authorization(
        &self,
        issuer_id: &str,
        handle_hash: &SecretHash,
        from: AuthorizationStage,
        step: &AuthorizationStep,
        now: UnixTime,
    ) -> Result<Option<AuthorizationRecord>> {
        sqlx::query_as!(
            AuthorizationRow,
            "UPDATE authorizations
             SET stage = $5, handle_hash = $6, expires_at = $7,
                 subject = COALESCE($8, subject), claims = COALESCE($9, claims)
             WHERE issuer_id = $1 AND handle_hash = $2 AND stage = $3 AND expires_at > $4
             RETURNING issuer_id, authorization_id, handle_hash, stage, request, subject,
                claims, created_at, expires_at",
            issuer_id,
            handle_hash.as_bytes().as_slice(),
            from.as_str(),
            t(now),
            step.stage.as_str(),
            step.handle_hash.as_bytes().as_slice(),
            t(step.expires_at),
            step.subject,
            step.claims,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(TryInto::try_into)
        .transpose()
    }

    async fn redeem_authorization_code(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
        redemption: &CodeRedemption<'_>,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<CodeOutcome> {
        check_tenant(issuer_id, redemption, refresh)?;
        let refresh_until = refresh.map(|r| t(r.expires_at));
        let mut tx = self.begin_write().await?;
        // G2: the code is consumed here; the row stays (as `redeemed`) so a replay is known.
        // GREATEST ignores a NULL $4 (no refresh token).
        let Some(row) = sqlx::query_as!(
            AuthorizationRow,
            "UPDATE authorizations
             SET stage = 'redeemed', expires_at = GREATEST(expires_at, $4)
             WHERE issuer_id = $1 AND handle_hash = $2 AND stage = 'authorized'
               AND expires_at > $3
             RETURNING issuer_id, authorization_id, handle_hash, stage, request, subject,
                claims, created_at, expires_at",
            issuer_id,
            code_hash.as_bytes().as_slice(),
            t(now),
            refresh_until,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        else {
            tx.rollback().await.map_err(db_err)?;
            return Ok(CodeOutcome::Unknown);
        };
        check_continues(refresh, &row.authorization_id)?;
        let Some(offer_id) = claim_offer(&mut tx, issuer_id, redemption.offer, now).await? else {
            tx.rollback().await.map_err(db_err)?;
            return Ok(CodeOutcome::OfferUsed);
        };
        insert_access_token(
            &mut tx,
            issuer_id,
            &row.authorization_id,
            &offer_id,
            redemption,
        )
        .await?;
        if let Some(refresh) = refresh {
            insert_refresh_token(&mut tx, refresh).await?;
        }
        outbox::write(&mut tx, redemption.outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CodeOutcome::Issued(offer_id))
    }

    async fn revoke_authorization(&self, issuer_id: &str, authorization_id: &str) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        // The authorization's row lock first (see the module docs): a rotation in flight
        // commits before the deletes below, which then see its tokens.
        sqlx::query_scalar!(
            "SELECT authorization_id FROM authorizations
             WHERE issuer_id = $1 AND authorization_id = $2
             FOR UPDATE",
            issuer_id,
            authorization_id,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut removed = sqlx::query!(
            "DELETE FROM access_tokens WHERE issuer_id = $1 AND authorization_id = $2",
            issuer_id,
            authorization_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        removed += sqlx::query!(
            "DELETE FROM refresh_tokens WHERE issuer_id = $1 AND authorization_id = $2",
            issuer_id,
            authorization_id,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        tx.commit().await.map_err(db_err)?;
        Ok(removed)
    }

    async fn revoke_subject_authorizations(
        &self,
        issuer_id: &str,
        subject: &str,
        now: UnixTime,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        // The subject's authorization rows locked first, in key order (see the module docs;
        // two such calls never deadlock): a redemption or rotation in flight commits before
        // the statements below, which then see its tokens; one that waited finds its code
        // redeemed or its refresh token gone.
        sqlx::query_scalar!(
            "SELECT authorization_id FROM authorizations
             WHERE issuer_id = $1 AND subject = $2
             ORDER BY authorization_id
             FOR UPDATE",
            issuer_id,
            subject,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let live = sqlx::query_scalar!(
            r#"SELECT COUNT(*) AS "n!" FROM authorizations a
             WHERE a.issuer_id = $1 AND a.subject = $2 AND (
                 (a.stage = 'authorized' AND a.expires_at > $3)
                 OR EXISTS (SELECT 1 FROM access_tokens k
                     WHERE k.issuer_id = $1 AND k.authorization_id = a.authorization_id
                       AND k.expires_at > $3)
                 OR EXISTS (SELECT 1 FROM refresh_tokens r
                     WHERE r.issuer_id = $1 AND r.authorization_id = a.authorization_id
                       AND r.expires_at > $3))"#,
            issuer_id,
            subject,
            t(now),
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query!(
            "UPDATE authorizations SET stage = 'redeemed'
             WHERE issuer_id = $1 AND subject = $2 AND stage = 'authorized'",
            issuer_id,
            subject,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query!(
            "DELETE FROM access_tokens
             WHERE issuer_id = $1 AND authorization_id IN (SELECT authorization_id
                 FROM authorizations WHERE issuer_id = $1 AND subject = $2)",
            issuer_id,
            subject,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query!(
            "DELETE FROM refresh_tokens
             WHERE issuer_id = $1 AND authorization_id IN (SELECT authorization_id
                 FROM authorizations WHERE issuer_id = $1 AND subject = $2)",
            issuer_id,
            subject,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        u64::try_from(live).map_err(|_| StoreError::Corrupt("negative count".into()))
    }

    async fn rotate_refresh_token(
        &self,
        issuer_id: &str,
        old_hash: &SecretHash,
        now: UnixTime,
        next: &RefreshTokenRecord,
        redemption: &CodeRedemption<'_>,
    ) -> Result<Option<AuthorizationRecord>> {
        let AuthorizedOffer::New(offer) = redemption.offer else {
            return Err(StoreError::Invalid("a refresh makes a new offer"));
        };
        check_tenant(issuer_id, redemption, Some(next))?;
        let mut tx = self.begin_write().await?;
        // The authorization's row lock first (see the module docs), then the old token,
        // deleted by the one statement that lets exactly one racer through (G2).
        let Some(row) = sqlx::query_as!(
            AuthorizationRow,
            "UPDATE authorizations SET expires_at = GREATEST(expires_at, $4)
             WHERE issuer_id = $1 AND stage = 'redeemed'
               AND authorization_id = (SELECT r.authorization_id FROM refresh_tokens r
                   WHERE r.issuer_id = $1 AND r.token_hash = $2 AND r.expires_at > $3)
             RETURNING issuer_id, authorization_id, handle_hash, stage, request, subject,
                claims, created_at, expires_at",
            issuer_id,
            old_hash.as_bytes().as_slice(),
            t(now),
            t(next.expires_at),
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        else {
            tx.rollback().await.map_err(db_err)?;
            return Ok(None);
        };
        let deleted = sqlx::query!(
            "DELETE FROM refresh_tokens
             WHERE issuer_id = $1 AND token_hash = $2 AND expires_at > $3",
            issuer_id,
            old_hash.as_bytes().as_slice(),
            t(now),
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if deleted != 1 {
            tx.rollback().await.map_err(db_err)?;
            return Ok(None);
        }
        let authorization = AuthorizationRecord::try_from(row)?;
        check_continues(Some(next), &authorization.authorization_id)?;
        insert_offer(&mut tx, offer).await?;
        insert_access_token(
            &mut tx,
            issuer_id,
            &authorization.authorization_id,
            &offer.offer_id,
            redemption,
        )
        .await?;
        insert_refresh_token(&mut tx, next).await?;
        outbox::write(&mut tx, redemption.outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(authorization))
    }

    async fn find_refresh_token(
        &self,
        issuer_id: &str,
        hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<(RefreshTokenRecord, AuthorizationRecord)>> {
        let Some(row) = sqlx::query!(
            "SELECT r.token_hash, r.dpop_jkt, r.expires_at AS token_expires_at,
                a.issuer_id, a.authorization_id, a.handle_hash, a.stage, a.request, a.subject,
                a.claims, a.created_at, a.expires_at
             FROM refresh_tokens r
             JOIN authorizations a
               ON a.issuer_id = r.issuer_id AND a.authorization_id = r.authorization_id
             WHERE r.issuer_id = $1 AND r.token_hash = $2",
            issuer_id,
            hash.as_bytes().as_slice(),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        else {
            return Ok(None);
        };
        // Expiry is checked here, not in the WHERE clause (issue 11, as for access tokens).
        if row.token_expires_at <= t(now) {
            return Ok(None);
        }
        let token = RefreshTokenRecord::try_from(RefreshTokenRow {
            issuer_id: row.issuer_id.clone(),
            token_hash: row.token_hash,
            authorization_id: row.authorization_id.clone(),
            dpop_jkt: row.dpop_jkt,
            expires_at: row.token_expires_at,
        })?;
        let authorization = AuthorizationRecord::try_from(AuthorizationRow {
            issuer_id: row.issuer_id,
            authorization_id: row.authorization_id,
            handle_hash: row.handle_hash,
            stage: row.stage,
            request: row.request.into(),
            subject: row.subject,
            claims: row.claims.into(),
            created_at: row.created_at,
            expires_at: row.expires_at,
        })?;
        Ok(Some((token, authorization)))
    }

    async fn use_dpop_proof(
        &self,
        issuer_id: &str,
        jti_hash: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool> {
        if expires_at <= now {
            return Ok(false);
        }
        let inserted = sqlx::query!(
            "INSERT INTO dpop_proofs (issuer_id, jti_hash, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (issuer_id, jti_hash) DO NOTHING",
            issuer_id,
            jti_hash.as_bytes().as_slice(),
            t(expires_at),
        )
        .execute(&self.pool)
        .await
        .map_err(|e| db_err_fk(e, "issuer"))?
        .rows_affected();
        Ok(inserted == 1)
    }
}
