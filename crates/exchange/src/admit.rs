//! Admitting an interface call cheaply on several nodes: one round trip to the shared
//! store decides the app's revocation, the nonce, both quota windows and reads the change
//! counters ([`MetaStore::admit_call`]); what was computed at a stamp of those counters
//! (an app's record and opened secret, a caller's [`Access`]) is reused while the stamp
//! holds. Every change of an entry, a table record, a grant, the negative list, a masking
//! rule or an app bumps a counter in its own transaction (migrations 0007 and 0012), so a
//! cache checked against the counters of the call being admitted is never staler than the
//! store was at admission, on any node. A grant's window is checked against the clock too:
//! an access expires when its grant does, or when a later grant starts.

use std::collections::HashMap;
use std::sync::Mutex;

use time::OffsetDateTime;
use tongshu_store::{Admission, AppRecord, Stamp, Verdict};

use crate::access::{Access, Consumer};
use crate::signing::{self, Signed};
use crate::{Exchange, ExchangeError, Result};

/// Most accesses (or apps) kept; beyond it the cache starts again.
const MOST_KEPT: usize = 10_000;

/// The caches of one [`Exchange`] (and its clones).
#[derive(Default)]
pub(crate) struct Caches {
    apps: Mutex<HashMap<String, KnownApp>>,
    access: Mutex<Accesses>,
    /// The counters as this node last read them (at an admission or a group commit of call
    /// records): whatever is read from the store after it is at least that new.
    last: Mutex<Option<Stamp>>,
}

/// An app as loaded when the exchange counter was `seen`, with its opened secret.
#[derive(Clone)]
struct KnownApp {
    seen: i64,
    app: AppRecord,
    secret: String,
}

/// Whose access to what: (organization, app, table).
type AccessKey = (i64, Option<i64>, String);

#[derive(Default)]
struct Accesses {
    stamp: Stamp,
    /// (organization, app, table) → the access and when it stops holding (a grant's end, or
    /// the start of a newer grant).
    kept: HashMap<AccessKey, (Access, Option<OffsetDateTime>)>,
}

impl Caches {
    /// Remembers the counters as just read from the store.
    pub(crate) fn saw(&self, stamp: Stamp) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(stamp);
        }
    }

    fn last(&self) -> Option<Stamp> {
        *self.last.lock().ok()?
    }

    fn app(&self, key: &str) -> Option<KnownApp> {
        self.apps.lock().ok()?.get(key).cloned()
    }

    fn keep_app(&self, known: KnownApp) {
        if let Ok(mut apps) = self.apps.lock() {
            if apps.len() >= MOST_KEPT {
                apps.clear();
            }
            apps.insert(known.app.app_key.clone(), known);
        }
    }

    fn access(&self, stamp: Stamp, key: &AccessKey, now: OffsetDateTime) -> Option<Access> {
        let kept = self.access.lock().ok()?;
        if kept.stamp != stamp {
            return None;
        }
        let (access, until) = kept.kept.get(key)?;
        until.is_none_or(|u| now < u).then(|| access.clone())
    }

    fn keep_access(
        &self,
        stamp: Stamp,
        key: (i64, Option<i64>, String),
        access: Access,
        until: Option<OffsetDateTime>,
    ) {
        if let Ok(mut kept) = self.access.lock() {
            if kept.stamp != stamp || kept.kept.len() >= MOST_KEPT {
                kept.kept.clear();
                kept.stamp = stamp;
            }
            kept.kept.insert(key, (access, until));
        }
    }
}

fn unauthorized(m: &str) -> ExchangeError {
    ExchangeError::Unauthorized(m.to_owned())
}

impl Exchange {
    /// Checks a signed call and admits it: a known, unrevoked app key, a timestamp within
    /// the clock window, a signature over exactly this request, and room in the app's
    /// quotas on `subject`. (The nonce is used with the call's evidence record, so only
    /// once the signature holds: forged calls cannot use up nonces.) Returns the app whose signature
    /// holds and whether it was admitted (with the stamp it was admitted at).
    pub(crate) async fn admit_signed(
        &self,
        s: &Signed,
        req: &crate::CallRequest<'_>,
    ) -> Result<(AppRecord, Result<Stamp>)> {
        let known = match self.caches.app(&s.app_key) {
            Some(k) => k,
            None => self.load_app(&s.app_key, self.store.stamp().await?.exchange).await?,
        };
        let text = self.check_signed(s, req, &known.secret)?;
        let admitted = match self.admit(Some(known.app.id), &known.app.app_key, req.subject).await {
            Ok(stamp) => stamp,
            Err(refused) => return Ok((known.app, Err(refused))),
        };
        if admitted.exchange == known.seen {
            return Ok((known.app, Ok(admitted)));
        }
        // Something of the exchange changed since the app was loaded: load it again, as of
        // this admission, and check the signature with what the store holds now.
        let fresh = self.load_app(&s.app_key, admitted.exchange).await?;
        if !signing::check(&fresh.secret, &text, &s.signature) {
            return Err(unauthorized("bad signature"));
        }
        Ok((fresh.app, Ok(admitted)))
    }

    /// A signed call admitted without asking the store, when nothing needs counting: the
    /// app is known as of the counters this node last read, has no quota (none of its own,
    /// none by default) and its signature holds. The answer is then computed at that stamp
    /// and released only if the counters still stand there when its record is committed
    /// ([`MetaStore::append_calls`]); otherwise the call is admitted again the usual way.
    /// `None`: admit it the usual way (also for every failure, which that way decides).
    pub(crate) fn admit_known(&self, s: &Signed, req: &crate::CallRequest<'_>) -> Option<(AppRecord, Stamp)> {
        let stamp = self.caches.last()?;
        let known = self.caches.app(&s.app_key).filter(|k| k.seen == stamp.exchange)?;
        let day = known.app.per_day.unwrap_or(self.settings.per_day);
        let minute = known.app.per_minute.unwrap_or(self.settings.per_minute);
        if day > 0 || minute > 0 {
            return None;
        }
        self.check_signed(s, req, &known.secret).ok()?;
        Some((known.app, stamp))
    }

    /// The clock window, the nonce's form and the signature over exactly this request;
    /// answers the text that was signed.
    fn check_signed(&self, s: &Signed, req: &crate::CallRequest<'_>, secret: &str) -> Result<String> {
        let ts: i64 = s.timestamp.trim().parse().map_err(|_| unauthorized("the timestamp must be Unix seconds"))?;
        let now = tongshu_core::now().unix_timestamp();
        if (now - ts).abs() > self.settings.clock_skew_secs {
            return Err(ExchangeError::Unauthorized(format!(
                "stale timestamp: {}s from the platform's clock (at most {}s)",
                now - ts,
                self.settings.clock_skew_secs
            )));
        }
        if s.nonce.trim().is_empty() || s.nonce.len() > 64 {
            return Err(unauthorized("the nonce must be 1 to 64 characters"));
        }
        let text = signing::string_to_sign(req.method, req.path, req.query, req.body, &s.timestamp, &s.nonce);
        if !signing::check(secret, &text, &s.signature) {
            return Err(unauthorized("bad signature"));
        }
        Ok(text)
    }

    /// Loads an app (known and unrevoked) and keeps it as seen at exchange counter `seen`,
    /// read before the load.
    async fn load_app(&self, key: &str, seen: i64) -> Result<KnownApp> {
        let app = self.store.exchange_app_by_key(key).await?.ok_or_else(|| unauthorized("unknown app key"))?;
        if app.revoked_at.is_some() {
            return Err(unauthorized("this app key is revoked"));
        }
        let secret =
            self.key.open(&app.secret_sealed).map_err(|_| unauthorized("the app's secret cannot be opened"))?;
        let known = KnownApp { seen, app, secret };
        self.caches.keep_app(known.clone());
        Ok(known)
    }

    /// Counts a call of `caller` (an app key, or a user) on `interface`
    /// against its quotas, in one round trip; over a quota the answer says how many
    /// seconds to wait. The counts live in the store, so every node counts against the
    /// same quota.
    pub(crate) async fn admit(&self, app: Option<i64>, caller: &str, interface: &str) -> Result<Stamp> {
        let now = tongshu_core::now().unix_timestamp();
        // Days are Beijing days.
        let (minute, day) = (now / 60, (now + 8 * 3600) / 86_400);
        let (day_key, minute_key) = (format!("d:{day}"), format!("m:{minute}"));
        let admitted = self
            .store
            .admit_call(&Admission {
                app,
                caller,
                subject: interface,
                day: (&day_key, self.settings.per_day, (day + 1) * 86_400 - 8 * 3600),
                minute: (&minute_key, self.settings.per_minute, (minute + 1) * 60),
            })
            .await?;
        self.caches.saw(admitted.stamp);
        match admitted.verdict {
            Verdict::Admitted => Ok(admitted.stamp),
            Verdict::NoApp => Err(unauthorized("this app key is revoked")),
            Verdict::DayFull => Err(ExchangeError::TooManyRequests(
                format!("{} calls a day on {interface}", admitted.day_limit),
                (86_400 - ((now + 8 * 3600) % 86_400)) as u64,
            )),
            Verdict::MinuteFull => Err(ExchangeError::TooManyRequests(
                format!("{} calls a minute on {interface}", admitted.minute_limit),
                (60 - now % 60) as u64,
            )),
        }
    }

    /// What `who` may see of `table` now: its own organization everything in clear; anyone
    /// else needs an active grant whose window holds now, for its app or for every app of
    /// its organization (the newest such grant counts). Reused from the cache while the
    /// store's counters stand where they stood when it was computed.
    pub async fn access(&self, who: &Consumer, table: &str) -> Result<Access> {
        let stamp = match who.stamp {
            Some(s) => s,
            None => self.store.stamp().await?,
        };
        let key = (who.org_id, who.app_id, table.to_owned());
        let now = tongshu_core::now();
        if let Some(access) = self.caches.access(stamp, &key, now) {
            return Ok(access);
        }
        let (entry, columns) = self.shared_entry_of(table).await?;
        let (access, until) = self.access_until(who, table, entry, columns, now).await?;
        self.caches.keep_access(stamp, key, access.clone(), until);
        Ok(access)
    }
}
