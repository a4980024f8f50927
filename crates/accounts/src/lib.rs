//! Accounts: password hashing (argon2id), sign-in with throttling, browser sessions with
//! CSRF tokens, and API tokens for programs.
//!
//! Secrets never reach the store in clear: session and API tokens are random, handed to the
//! client once, and stored as SHA-256 hashes; passwords are stored as argon2id PHC strings.

use std::net::IpAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use sha2::{Digest, Sha256};
use tongshu_core::org::OrgKind;
use tongshu_core::policy::{Principal, Role};
use tongshu_store::{MetaStore, NewToken, NewUser, SessionInfo, StoreError, TokenOwner};
/// Records this service hands out.
pub use tongshu_store::{TokenInfo, UsageDay, UserRecord};

/// How sign-in failures are limited. Counts live in the store, so every node sees them.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Failures of one name from one address before that pair waits out the window: the
    /// attacker's own address pays, the owner elsewhere does not.
    pub per_name_and_address: i64,
    /// Failures from one address over all names (guessing across accounts).
    pub per_address: i64,
    pub window_secs: i64,
    /// Failures of one name from all addresses within `name_window_secs` (a spread-out
    /// attack). It does not apply to addresses the account signed in from recently, so a
    /// botnet cannot lock the owner out.
    pub per_name: i64,
    pub name_window_secs: i64,
    /// How long a successful sign-in makes its address known for the account.
    pub known_secs: i64,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_name_and_address: 5,
            per_address: 50,
            window_secs: 15 * 60,
            per_name: 100,
            name_window_secs: 3600,
            known_secs: 30 * 86_400,
        }
    }
}

/// How long a browser session lives.
pub const SESSION_TTL: time::Duration = time::Duration::hours(12);
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// API tokens start with this, so that leaked tokens are easy to find in logs and code.
pub const TOKEN_PREFIX: &str = "tsk_";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed sign-ins, try again in {0} seconds")]
    Throttled(u64),
    #[error("password must be at least {MIN_PASSWORD} characters and mix letters and digits")]
    WeakPassword,
    #[error("username must be 3 to 32 letters, digits, '_', '-' or '.'")]
    BadUsername,
    #[error("username {0:?} is taken or looks like an existing account; choose another")]
    LookalikeUsername(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("organization {0} does not exist")]
    NoSuchOrganization(i64),
}

/// A new session: the cookie value to hand to the browser, and who it belongs to.
pub struct NewSession {
    pub token: String,
    pub info: SessionInfo,
}

/// The accounts service. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    store: MetaStore,
    limits: SignInLimits,
}

/// The organization of self-registered members of the public.
pub const PUBLIC_ORG_SLUG: &str = "public";

impl Accounts {
    pub fn new(store: MetaStore) -> Self {
        Self::with_limits(store, SignInLimits::default())
    }

    pub fn with_limits(store: MetaStore, limits: SignInLimits) -> Self {
        Self { store, limits }
    }

    /// Whether the metadata store answers (readiness).
    pub async fn ping(&self) -> Result<(), AccountError> {
        Ok(self.store.ping().await?)
    }

    /// Every organization: the city, its districts, then departments.
    pub async fn organizations(&self) -> Result<Vec<tongshu_core::org::Organization>, AccountError> {
        Ok(self.store.list_orgs().await?)
    }

    pub async fn organization(&self, id: i64) -> Result<tongshu_core::org::Organization, AccountError> {
        Ok(self.store.get_org(id).await?)
    }

    /// Every user account.
    pub async fn users(&self) -> Result<Vec<UserRecord>, AccountError> {
        Ok(self.store.list_users().await?)
    }

    /// Checks a username and password and opens a session. Names match case-insensitively.
    /// Failures count per name and address, per address, and per name; past a limit every
    /// attempt it covers is refused until its window passes, right password or not. The
    /// per-name limit spares addresses the account signed in from recently.
    pub async fn sign_in(&self, username: &str, password: &str, client: IpAddr) -> Result<NewSession, AccountError> {
        let l = self.limits;
        let name = tongshu_core::username::key(username);
        let now = tongshu_core::now().unix_timestamp();
        let pair = format!("pair:{name}|{client}");
        let known_key = format!("known:{name}|{client}");
        let known = self.store.sign_in_failures(&known_key, now, l.known_secs).await?.is_some();
        // (key, limit, window, applies to this address)
        let counters = [
            (pair.clone(), l.per_name_and_address, l.window_secs, true),
            (format!("addr:{client}"), l.per_address, l.window_secs, true),
            (format!("name:{name}"), l.per_name, l.name_window_secs, !known),
        ];
        let mut wait = 0;
        for (key, max, window, applies) in &counters {
            if *applies
                && let Some((failures, start)) = self.store.sign_in_failures(key, now, *window).await?
                && failures >= *max
            {
                wait = wait.max(start + window - now);
            }
        }
        if wait > 0 {
            return Err(AccountError::Throttled(wait.max(1) as u64));
        }
        let found = self.store.user_credentials(&name).await?;
        let ok = match &found {
            Some((user, hash)) if !user.disabled => verify_password(password, hash).await,
            // Spend the same time on unknown users so that timing does not reveal them.
            _ => {
                let _ = hash_password(password).await;
                false
            }
        };
        let user = match (ok, found) {
            (true, Some((user, _))) => user,
            _ => {
                // Every counter counts, the per-name one too (so that an address that is known
                // still adds to a spread-out attack's count).
                for (key, _, window, _) in &counters {
                    self.store.count_sign_in_failure(key, now, *window).await?;
                }
                tracing::info!(username, %client, "sign-in refused");
                return Err(AccountError::BadCredentials);
            }
        };
        // A success clears this name-and-address count and makes the address known; the
        // address's own count stays, so guessing across many accounts still hits its limit.
        self.store.clear_sign_in_failures(&pair).await?;
        self.store.mark_sign_in_known(&known_key, now).await?;
        let token = random_token(32);
        let csrf_token = random_token(16);
        self.store.create_session(&token_hash(&token), user.id, &csrf_token, tongshu_core::now() + SESSION_TTL).await?;
        tracing::info!(user_id = user.id, role = user.role.as_str(), "signed in");
        Ok(NewSession { token, info: SessionInfo { principal: user.principal(), csrf_token } })
    }

    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>, AccountError> {
        Ok(self.store.session(&token_hash(token)).await?)
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AccountError> {
        Ok(self.store.delete_session(&token_hash(token)).await?)
    }

    /// Creates an API token for `owner`. The returned string is the only time it is shown.
    pub async fn create_token(&self, owner: &Principal, name: &str) -> Result<(String, TokenInfo), AccountError> {
        self.create_app(owner, name, None).await
    }

    /// Registers an app of `owner` (developer centre): an API token with a name and a
    /// description. The returned key is the only time it is shown.
    pub async fn create_app(
        &self,
        owner: &Principal,
        name: &str,
        description: Option<&str>,
    ) -> Result<(String, TokenInfo), AccountError> {
        let token = format!("{TOKEN_PREFIX}{}", random_token(24));
        let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let name = if name.trim().is_empty() { "api" } else { name.trim() };
        let new = NewToken {
            name: name.chars().take(100).collect(),
            token_hash: token_hash(&token),
            prefix,
            description: description.map(str::trim).filter(|d| !d.is_empty()).map(|d| d.chars().take(1000).collect()),
            rate_per_minute: None,
        };
        let info = self.store.insert_token(owner.user_id, &new).await?;
        Ok((token, info))
    }

    /// The owner of a bearer token, when the token is live.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<TokenOwner>, AccountError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        // Looked up on every call (one indexed row): a token revoked, a rate changed or a
        // user disabled on any node holds at once on every node; no node keeps its own copy.
        Ok(self.store.token_owner(&token_hash(token)).await?)
    }

    /// Counts one call of API key `token_id` against `per_minute` (0: unlimited) in the
    /// store, so that every node counts against the same limit: `Ok(())`, or the seconds
    /// until the next minute when the key's minute is full.
    pub async fn take_key_call(&self, token_id: i64, per_minute: u32) -> Result<Result<(), u64>, AccountError> {
        if per_minute == 0 {
            return Ok(Ok(()));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let minute = now / 60;
        let window = [(format!("m:{minute}"), i64::from(per_minute), (minute + 1) * 60)];
        Ok(match self.store.count_call(&format!("key:{token_id}"), "open-api", &window).await? {
            None => Ok(()),
            Some(_) => Err((60 - now % 60).max(1) as u64),
        })
    }

    pub async fn list_tokens(&self, owner: &Principal) -> Result<Vec<TokenInfo>, AccountError> {
        Ok(self.store.list_tokens(owner.user_id).await?)
    }

    pub async fn revoke_token(&self, owner: &Principal, token_id: i64) -> Result<(), AccountError> {
        self.store.revoke_token(owner.user_id, token_id).await?;
        Ok(())
    }

    /// Gives a key its own rate limit on the public data APIs (`None`: the platform's
    /// keyed rate). For administrators; takes effect at once.
    pub async fn set_token_rate(&self, token_id: i64, rate_per_minute: Option<i64>) -> Result<TokenInfo, AccountError> {
        let info = self.store.set_token_rate(token_id, rate_per_minute).await?;
        Ok(info)
    }

    /// Registers a member of the public (role [`Role::Public`], in the platform's public
    /// organization, created on first use).
    pub async fn register(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<UserRecord, AccountError> {
        let org = match self.store.get_org_by_slug(PUBLIC_ORG_SLUG).await {
            Ok(o) => o,
            Err(StoreError::NotFound(_)) => {
                let new = tongshu_core::org::Organization {
                    id: 0,
                    parent_id: None,
                    kind: OrgKind::Other,
                    name: "社会公众".into(),
                    slug: PUBLIC_ORG_SLUG.into(),
                    district_code: "000000".into(),
                    credit_code: None,
                };
                match self.store.insert_org(&new).await {
                    Err(StoreError::Conflict(_)) => self.store.get_org_by_slug(PUBLIC_ORG_SLUG).await?,
                    other => other?,
                }
            }
            Err(e) => return Err(e.into()),
        };
        self.add_user(username, display_name, password, Role::Public, org.id).await
    }

    /// Creates an account after checking the username and password rules.
    pub async fn add_user(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        role: Role,
        org_id: i64,
    ) -> Result<UserRecord, AccountError> {
        let username = parse_username(username)?;
        match self.store.get_org(org_id).await {
            Err(StoreError::NotFound(_)) => return Err(AccountError::NoSuchOrganization(org_id)),
            other => other?,
        };
        if let Some(existing) = self.store.username_lookalike(&username).await? {
            if tongshu_core::username::key(&existing) == tongshu_core::username::key(&username) {
                return Err(StoreError::Conflict(format!("user {username:?} already exists")).into());
            }
            tracing::info!(username, existing, "username refused: looks like an existing account");
            return Err(AccountError::LookalikeUsername(username));
        }
        check_password(password)?;
        let password_hash = hash_password(password).await?;
        let display_name =
            if display_name.trim().is_empty() { username.clone() } else { display_name.trim().to_owned() };
        Ok(self.store.insert_user(&NewUser { username, display_name, password_hash, role, org_id }).await?)
    }

    /// Sets a new password and ends the user's sessions.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<(), AccountError> {
        check_password(password)?;
        let (user, _) = self
            .store
            .user_credentials(username)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))?;
        self.store.set_password_hash(user.id, &hash_password(password).await?).await?;
        self.store.delete_sessions_of(user.id).await?;
        Ok(())
    }
}

fn parse_username(s: &str) -> Result<String, AccountError> {
    let s = tongshu_core::username::normalize(s);
    let s = s.as_str();
    let ok =
        (3..=32).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok { Ok(s.to_owned()) } else { Err(AccountError::BadUsername) }
}

fn check_password(p: &str) -> Result<(), AccountError> {
    let long = p.chars().count() >= MIN_PASSWORD;
    let letters = p.chars().any(|c| c.is_alphabetic());
    let digits = p.chars().any(|c| c.is_ascii_digit());
    if long && letters && digits { Ok(()) } else { Err(AccountError::WeakPassword) }
}

/// Hashes a password with argon2id on a blocking thread (it takes tens of milliseconds).
pub async fn hash_password(password: &str) -> Result<String, AccountError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A random token of `bytes` random bytes, hex-encoded.
pub fn random_token(bytes: usize) -> String {
    let buf: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(buf)
}

/// The stored form of a session or API token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("secret123").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("secret123", &h).await);
        assert!(!verify_password("secret124", &h).await);
        assert!(!verify_password("secret123", "not a hash").await);
    }

    #[test]
    fn password_and_username_rules() {
        assert!(check_password("abc12345").is_ok());
        assert!(check_password("abcdefgh").is_err());
        assert!(check_password("a1").is_err());
        assert!(parse_username("li.ming").is_ok());
        assert!(parse_username("李明").is_err());
        assert!(parse_username("ab").is_err());
    }
}
