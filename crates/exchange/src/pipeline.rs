//! The one interface-call pipeline: every data interface (table rows, verification, lookup,
//! view rows; later consent-based and CDC-fed ones) is called through [`Exchange::call`],
//! which decides who calls (a signed app, or a department user's session or token), counts
//! the call against its quota, runs the interface's own work, and writes the call's
//! evidence record before the answer is released: an answer whose record could not be
//! written is withheld.

use std::time::Instant;

use tongshu_core::evidence::EvidenceFields;
use tongshu_core::policy::Principal;

use crate::access::Consumer;
use crate::signing::{self, Signed};
use crate::{Exchange, ExchangeError, evidence_now};

/// One incoming interface call, as the transport received it.
pub struct CallRequest<'a> {
    /// What is called (`table:<name>`, `view:<name>`): the evidence subject and quota key.
    pub subject: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
    /// The signature headers, when the caller is an app.
    pub signed: Option<Result<Signed, String>>,
    /// The signed-in user, when the caller is one.
    pub user: Option<&'a Principal>,
    /// The interface's work only reads (a page of rows): it may be computed again when the
    /// store changed while it ran (see [`Exchange::call`]).
    pub repeatable: bool,
}

/// What an interface's work hands back: the answer and what went out.
pub struct Delivered<T> {
    pub answer: T,
    /// The status the answer carries (HTTP's numbers).
    pub status: u16,
    pub rows: usize,
    pub bytes: usize,
}

/// An error of a call as the evidence record keeps it: status and message.
pub trait CallFailure: From<ExchangeError> {
    fn status(&self) -> u16;
    fn message(&self) -> String;
}

impl Exchange {
    /// Runs one interface call through the pipeline (see the module): `work` gets the
    /// consumer and produces the answer; the evidence record of the call, whatever its
    /// outcome, is written before the answer is returned.
    ///
    /// A repeatable call of a signed app without quotas is first answered without a trip
    /// to the store, at the counters this node last read, and released only if its record
    /// commits while they still stand there; if they moved, it is answered once more,
    /// admitted the usual way (nothing of the first answer is released or recorded).
    pub async fn call<T, E, F, Fut>(&self, req: CallRequest<'_>, work: F) -> Result<T, E>
    where
        E: CallFailure,
        F: Fn(Consumer) -> Fut,
        Fut: std::future::Future<Output = Result<Delivered<T>, E>>,
    {
        if req.repeatable
            && let Some(done) = self.attempt(&req, &work, true).await
        {
            return done;
        }
        match self.attempt(&req, &work, false).await {
            Some(done) => done,
            None => Err(E::from(ExchangeError::Store(tongshu_store::StoreError::Corrupt(
                "a call admitted by the store was refused as stale".into(),
            )))),
        }
    }

    /// One answer of a call (see [`Exchange::call`]); `None`: it was computed at counters
    /// that moved before its record was written, so it is neither released nor recorded.
    async fn attempt<T, E, F, Fut>(&self, req: &CallRequest<'_>, work: &F, quick: bool) -> Option<Result<T, E>>
    where
        E: CallFailure,
        F: Fn(Consumer) -> Fut,
        Fut: std::future::Future<Output = Result<Delivered<T>, E>>,
    {
        let started = Instant::now();
        let text = signing::string_to_sign(req.method, req.path, req.query, req.body, "", "");
        let mut ev = EvidenceFields {
            subject: req.subject.to_owned(),
            request_hash: tongshu_core::masking::sm3_hex(text.as_bytes()),
            ..evidence_now("call")
        };
        let known = match (&req.signed, quick) {
            (Some(Ok(signed)), true) => self.admit_known(signed, req),
            _ => None,
        };
        if quick && known.is_none() {
            return None;
        }
        let at = known.as_ref().map(|(_, stamp)| *stamp);
        let outcome = async {
            let consumer = match known {
                Some((app, stamp)) => {
                    (ev.org_id, ev.app_id) = (Some(app.org_id), Some(app.id));
                    Consumer { org_id: app.org_id, app_id: Some(app.id), user_id: None, stamp: Some(stamp) }
                }
                None => self.caller_of(req, &mut ev).await.map_err(E::from)?,
            };
            work(consumer).await
        }
        .await;
        ev.duration_ms = started.elapsed().as_millis() as i64;
        let result = match outcome {
            Ok(d) => {
                (ev.status, ev.rows_out, ev.bytes_out) = (i64::from(d.status), d.rows as i64, d.bytes as i64);
                Ok(d.answer)
            }
            Err(e) => {
                (ev.status, ev.detail) = (i64::from(e.status()), e.message());
                Err(e)
            }
        };
        // The nonce is used once the signature held (the record then names the app).
        let nonce = match (&req.signed, ev.app_id) {
            (Some(Ok(signed)), Some(app)) => Some((app, signed.nonce.clone())),
            _ => None,
        };
        Some(match self.record_call(ev, nonce, at).await {
            Ok(true) => result,
            Ok(false) => return None,
            Err(ExchangeError::Unauthorized(m)) => Err(E::from(ExchangeError::Unauthorized(m))),
            Err(e) => {
                tracing::error!(error = %e, subject = req.subject, "evidence not written, answer withheld");
                Err(E::from(e))
            }
        })
    }

    /// Who calls: the app whose signature verifies, else a department user; admitted
    /// under its quota (counted under the app's key, or the user).
    async fn caller_of(&self, req: &CallRequest<'_>, ev: &mut EvidenceFields) -> Result<Consumer, ExchangeError> {
        if let Some(signed) = &req.signed {
            let signed = signed.as_ref().map_err(|m| ExchangeError::Unauthorized(m.clone()))?;
            // Once the signature holds, the record names the app, even of a call that its
            // quota or a replayed nonce then refuses.
            let (app, admitted) = self.admit_signed(signed, req).await?;
            (ev.org_id, ev.app_id) = (Some(app.org_id), Some(app.id));
            let stamp = admitted?;
            return Ok(Consumer { org_id: app.org_id, app_id: Some(app.id), user_id: None, stamp: Some(stamp) });
        }
        let who = req.user.ok_or_else(|| {
            ExchangeError::Unauthorized("sign the call with an app key, or send a department user's token".into())
        })?;
        if !who.is_government() {
            return Err(ExchangeError::Forbidden("data interfaces are for departments".into()));
        }
        (ev.org_id, ev.user_id) = (Some(who.org_id), Some(who.user_id));
        // The user's quota, counted in the store like an app's.
        let stamp = self.admit(None, &format!("user:{}", who.user_id), req.subject).await?;
        Ok(Consumer { org_id: who.org_id, app_id: None, user_id: Some(who.user_id), stamp: Some(stamp) })
    }
}
