//! User accounts, browser sessions and API tokens. Secrets are stored only as hashes, which
//! the accounts crate computes; this module never sees a password or a token in clear.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use tongshu_core::policy::{Principal, Role};

use crate::{MetaStore, Result, StoreError, conflict_on_unique, parse_ts, ts};

/// A user account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub org_id: i64,
}

/// A stored user account (without its password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: i64,
    pub org_name: String,
    pub disabled: bool,
}

impl UserRecord {
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            org_id: self.org_id,
        }
    }
}

/// A live browser session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub principal: Principal,
    pub csrf_token: String,
}

/// An API token as listed to its owner (the token itself is shown only once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, so the owner can tell tokens apart.
    pub prefix: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<time::OffsetDateTime>,
    /// What the app using the token does (developer centre).
    pub description: Option<String>,
    /// The token's own rate limit on public data APIs; `None`: the platform default.
    pub rate_per_minute: Option<i64>,
}

/// The owner of a live token, and what the token allows.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenOwner {
    pub principal: Principal,
    pub token_id: i64,
    pub rate_per_minute: Option<i64>,
}

/// A token to store (its hash; the token itself is never stored).
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    pub name: String,
    pub token_hash: String,
    pub prefix: String,
    pub description: Option<String>,
    pub rate_per_minute: Option<i64>,
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, u.org_id, o.name AS org_name, u.disabled";

fn user_from_row(r: &AnyRow) -> Result<UserRecord> {
    let role: String = r.try_get("role")?;
    Ok(UserRecord {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("org_name")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

const TOKEN_COLUMNS: &str = "id, name, prefix, created_at, last_used_at, revoked_at, description, rate_per_minute";

fn token_from_row(r: &AnyRow) -> Result<TokenInfo> {
    let opt_ts = |c: &str| -> Result<Option<time::OffsetDateTime>> {
        r.try_get::<Option<String>, _>(c)?.as_deref().map(parse_ts).transpose()
    };
    Ok(TokenInfo {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        last_used_at: opt_ts("last_used_at")?,
        revoked_at: opt_ts("revoked_at")?,
        description: r.try_get("description")?,
        rate_per_minute: r.try_get("rate_per_minute")?,
    })
}

impl MetaStore {
    pub async fn insert_user(&self, u: &NewUser) -> Result<UserRecord> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (username, display_name, password_hash, role, org_id, created_at, username_key,
                 username_skeleton)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(u.role.as_str())
        .bind(u.org_id)
        .bind(ts(tongshu_core::now()))
        .bind(tongshu_core::username::key(&u.username))
        .bind(tongshu_core::username::skeleton(&u.username))
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("user {:?} already exists", u.username)))?;
        self.get_user(id).await
    }

    pub async fn get_user(&self, id: i64) -> Result<UserRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        user_from_row(&row)
    }

    /// An existing account whose name looks like `username` (same skeleton), if any.
    pub async fn username_lookalike(&self, username: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT username FROM users WHERE username_skeleton = $1 LIMIT 1")
            .bind(tongshu_core::username::skeleton(username))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(n,)| n))
    }

    /// The account and its password hash, for signing in. Names match case-insensitively
    /// (after normalization).
    pub async fn user_credentials(&self, username: &str) -> Result<Option<(UserRecord, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u JOIN organizations o ON o.id = u.org_id
             WHERE u.username_key = $1"
        )))
        .bind(tongshu_core::username::key(username))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((user_from_row(&r)?, r.try_get("password_hash")?))),
        }
    }

    pub async fn set_password_hash(&self, user_id: i64, hash: &str) -> Result<()> {
        let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN organizations o ON o.id = u.org_id ORDER BY u.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at: time::OffsetDateTime,
    ) -> Result<()> {
        // Expired sessions are useless; clearing them here keeps the table small.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ts(tongshu_core::now()))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(ts(tongshu_core::now()))
        .bind(ts(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session with this token hash, if it exists, has not expired and its user is
    /// not disabled.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionInfo>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
             JOIN organizations o ON o.id = u.org_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
        )))
        .bind(token_hash)
        .bind(ts(tongshu_core::now()))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(SessionInfo {
                principal: user_from_row(&r)?.principal(),
                csrf_token: r.try_get("csrf_token")?,
            })),
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Ends every session of a user (after a password change).
    pub async fn delete_sessions_of(&self, user_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn insert_token(&self, user_id: i64, t: &NewToken) -> Result<TokenInfo> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, description, rate_per_minute, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(user_id)
        .bind(t.name.clone())
        .bind(t.token_hash.clone())
        .bind(t.prefix.clone())
        .bind(t.description.clone())
        .bind(t.rate_per_minute)
        .bind(ts(tongshu_core::now()))
        .fetch_one(&self.pool)
        .await?;
        token_from_row(&row)
    }

    /// The owner of a live (not revoked) token. The token's last use is recorded at most
    /// once a minute, so busy API clients cost no write per call.
    pub async fn token_owner(&self, token_hash: &str) -> Result<Option<TokenOwner>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, t.id AS token_id, t.rate_per_minute, t.last_used_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             JOIN organizations o ON o.id = u.org_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let token_id: i64 = r.try_get("token_id")?;
        let now = tongshu_core::now();
        let last: Option<String> = r.try_get("last_used_at")?;
        let stale = match last.as_deref().map(parse_ts).transpose()? {
            Some(t) => now - t >= time::Duration::minutes(1),
            None => true,
        };
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(ts(now))
                .bind(token_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(TokenOwner {
            principal: user_from_row(&r)?.principal(),
            token_id,
            rate_per_minute: r.try_get("rate_per_minute")?,
        }))
    }

    pub async fn list_tokens(&self, user_id: i64) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Sets a token's own rate limit (`None`: the platform's keyed rate). Any user's token:
    /// the caller has checked that an administrator asks.
    pub async fn set_token_rate(&self, token_id: i64, rate_per_minute: Option<i64>) -> Result<TokenInfo> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE api_tokens SET rate_per_minute = $1 WHERE id = $2 RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(rate_per_minute)
        .bind(token_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("api token {token_id}")))?;
        token_from_row(&row)
    }

    /// Revokes one of the user's own tokens. Revoking twice is fine; another user's token is
    /// "not found".
    pub async fn revoke_token(&self, user_id: i64, token_id: i64) -> Result<()> {
        let r =
            sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3")
                .bind(ts(tongshu_core::now()))
                .bind(token_id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("api token {token_id}")));
        }
        Ok(())
    }

    /// Counts one failed sign-in for `key` in a fixed window of `window_secs` that starts
    /// at the window's first failure; returns the count after this one.
    pub async fn count_sign_in_failure(&self, key: &str, now: i64, window_secs: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "INSERT INTO sign_in_failures (key, window_start, failures) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET
                 failures = CASE WHEN sign_in_failures.window_start + $3 <= $2 THEN 1
                                 ELSE sign_in_failures.failures + 1 END,
                 window_start = CASE WHEN sign_in_failures.window_start + $3 <= $2 THEN $2
                                 ELSE sign_in_failures.window_start END
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(window_secs)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// The failures of `key` in its current window and when that window started (none when
    /// the window of `window_secs` has passed).
    pub async fn sign_in_failures(&self, key: &str, now: i64, window_secs: i64) -> Result<Option<(i64, i64)>> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT failures, window_start FROM sign_in_failures WHERE key = $1 AND window_start + $3 > $2",
        )
        .bind(key)
        .bind(now)
        .bind(window_secs)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row)
    }

    /// Forgets the failures of `key` (a successful sign-in from that name and address).
    pub async fn clear_sign_in_failures(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1").bind(key).execute(&self.pool).await?;
        Ok(())
    }

    /// Records that `key` (`known:<name>|<address>`) signed in successfully at `now`.
    pub async fn mark_sign_in_known(&self, key: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO sign_in_failures (key, window_start, failures) VALUES ($1, $2, 0)
             ON CONFLICT (key) DO UPDATE SET window_start = $2",
        )
        .bind(key)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
