//! The portal's interaction layer (the Forest Index's platform layer): data requests,
//! feedback on a dataset, ratings and comments, applications for conditionally open data,
//! showcase entries — who may post, who answers, and what the public sees.
//!
//! - Requests, comments and showcase entries wait for an administrator to publish them
//!   (or hide them); published requests are answered by the department they name or by
//!   the platform, in public.
//! - Feedback goes to the dataset's provider, who answers the poster.
//! - Applications go to the provider, who approves them for a period (scoped access to
//!   that dataset's rows for that applicant) or refuses them with a reason.

use tongshu_core::catalog::OpenType;
use tongshu_core::policy::Principal;
use tongshu_store::{Interaction, InteractionFilter, InteractionKind, InteractionStatus, NewInteraction};

use crate::{Dataset, Portal, PortalError, Result};

/// What a signed-in user posts.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PostInput {
    /// The dataset's name, for feedback, comments and applications (and optionally for
    /// requests and showcase entries).
    pub dataset: Option<String>,
    /// The department a data request is addressed to (slug), when the poster knows it.
    pub org: Option<String>,
    pub title: String,
    pub body: String,
    /// 1 to 5, for comments.
    pub rating: Option<i64>,
    /// http(s) address of a showcase entry.
    pub link: Option<String>,
}

/// How a post is answered.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Moderation: show it to everyone (requests, comments, showcase entries).
    Publish,
    /// Moderation: remove it from view.
    Hide,
    /// Answer a request or feedback.
    Answer { answer: String },
    /// Grant an application for `days` days (default 365).
    Approve { answer: Option<String>, days: Option<i64> },
    /// Turn an application or showcase entry down, with a reason.
    Refuse { answer: String },
}

impl Decision {
    /// The decision's name as the API takes it (`publish`, `answer`, ...), for messages.
    pub fn verb(&self) -> &'static str {
        match self {
            Decision::Publish => "publish",
            Decision::Hide => "hide",
            Decision::Answer { .. } => "answer",
            Decision::Approve { .. } => "approve",
            Decision::Refuse { .. } => "refuse",
        }
    }
}

/// What the public sees of each kind.
pub fn visible_statuses(kind: InteractionKind) -> Vec<InteractionStatus> {
    match kind {
        InteractionKind::Request => vec![InteractionStatus::Published, InteractionStatus::Answered],
        InteractionKind::Comment | InteractionKind::Showcase => vec![InteractionStatus::Published],
        // Feedback and applications are between the poster and the provider.
        InteractionKind::Feedback | InteractionKind::Application => vec![],
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let v = value.trim();
    if chars(v) < min || chars(v) > max {
        return Err(PortalError::Invalid(format!("{field} must be {min} to {max} characters (has {})", chars(v))));
    }
    Ok(v.to_owned())
}

impl Portal {
    /// Files a post of `kind` by a signed-in user.
    pub async fn post(&self, who: &Principal, kind: InteractionKind, input: &PostInput) -> Result<Interaction> {
        let dataset = match input.dataset.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(name) => Some(self.dataset(name)?),
            None => None,
        };
        let needs_dataset =
            matches!(kind, InteractionKind::Feedback | InteractionKind::Comment | InteractionKind::Application);
        if needs_dataset && dataset.is_none() {
            return Err(PortalError::Invalid(format!("a {} needs the dataset it concerns", kind.as_str())));
        }
        let title_min = if kind == InteractionKind::Comment { 0 } else { 2 };
        let title = check_text("title", &input.title, title_min, 100)?;
        let body = check_text("body", &input.body, 2, 5000)?;
        let rating = match (kind, input.rating) {
            (InteractionKind::Comment, Some(r)) if (1..=5).contains(&r) => Some(r),
            (InteractionKind::Comment, Some(r)) => {
                return Err(PortalError::Invalid(format!("rating must be 1 to 5, not {r}")));
            }
            _ => None,
        };
        let link = match (kind, input.link.as_deref().map(str::trim).filter(|l| !l.is_empty())) {
            (InteractionKind::Showcase, None) => {
                return Err(PortalError::Invalid("a showcase entry needs a link (http or https)".into()));
            }
            (_, Some(l)) if !(l.starts_with("http://") || l.starts_with("https://")) || chars(l) > 500 => {
                return Err(PortalError::Invalid(format!("link {l:?} must be an http or https address")));
            }
            (_, l) => l.map(str::to_owned),
        };
        if kind == InteractionKind::Application {
            let ds = dataset.as_ref().expect("checked above");
            if ds.entry.body.open.kind != OpenType::Conditional {
                return Err(PortalError::Invalid(format!(
                    "{:?} is open to everyone; only conditionally open data needs an application",
                    ds.entry.body.name
                )));
            }
            if self.has_access(who, ds).await? {
                return Err(PortalError::Invalid("you already have access to this dataset".into()));
            }
        }
        let org_id = match (&dataset, input.org.as_deref().map(str::trim).filter(|o| !o.is_empty())) {
            (Some(ds), _) => Some(ds.org.id),
            (None, Some(slug)) => Some(
                self.store
                    .get_org_by_slug(slug)
                    .await
                    .map_err(|_| PortalError::Invalid(format!("there is no department {slug:?}")))?
                    .id,
            ),
            (None, None) => None,
        };
        let new = NewInteraction {
            user_id: who.user_id,
            dataset: dataset.map(|d| d.name.clone()),
            org_id,
            title,
            body,
            rating,
            link,
        };
        Ok(self.store.insert_interaction(kind, InteractionStatus::Pending, &new).await?)
    }

    /// Answers or moderates a post. Administrators may take every decision; a department's
    /// data officer answers the requests, feedback and applications addressed to it.
    pub async fn decide(&self, who: &Principal, id: i64, decision: &Decision) -> Result<Interaction> {
        let post = self.store.get_interaction(id).await.map_err(|_| PortalError::NotFound(format!("post {id}")))?;
        let admin = who.runs_the_platform();
        let provider = post.org_id.is_some_and(|o| who.answers_for(o));
        use InteractionKind as K;
        use InteractionStatus as S;
        let (status, answer, expires) = match decision {
            Decision::Publish | Decision::Hide if !admin => {
                return Err(PortalError::Forbidden("only administrators moderate posts".into()));
            }
            Decision::Publish if matches!(post.kind, K::Request | K::Comment | K::Showcase) => {
                (S::Published, None, None)
            }
            Decision::Hide => (S::Hidden, None, None),
            Decision::Answer { answer } if matches!(post.kind, K::Request | K::Feedback) => {
                if !(admin || provider) {
                    return Err(PortalError::Forbidden(
                        "only the department addressed or administrators answer".into(),
                    ));
                }
                if post.kind == K::Request && post.status == S::Pending && !admin {
                    return Err(PortalError::Invalid("the request waits for moderation first".into()));
                }
                (S::Answered, Some(check_text("answer", answer, 2, 5000)?), None)
            }
            Decision::Approve { answer, days } if post.kind == K::Application => {
                if !(admin || provider) {
                    return Err(PortalError::Forbidden("only the providing department decides applications".into()));
                }
                let days = days.unwrap_or(365);
                if !(1..=3650).contains(&days) {
                    return Err(PortalError::Invalid(format!("access lasts 1 to 3650 days, not {days}")));
                }
                let answer = answer.as_deref().map(|a| check_text("answer", a, 0, 5000)).transpose()?;
                (S::Approved, answer, Some(tongshu_core::now() + time::Duration::days(days)))
            }
            Decision::Refuse { answer } if matches!(post.kind, K::Application | K::Showcase) => {
                let allowed = admin || (post.kind == K::Application && provider);
                if !allowed {
                    return Err(PortalError::Forbidden("you may not decide this post".into()));
                }
                (S::Refused, Some(check_text("reason", answer, 2, 5000)?), None)
            }
            d => {
                return Err(PortalError::Invalid(format!(
                    "a {} cannot be decided with {:?}",
                    post.kind.as_str(),
                    d.verb()
                )));
            }
        };
        let settled = matches!(post.status, S::Approved | S::Refused | S::Hidden);
        if settled && !matches!(decision, Decision::Hide | Decision::Publish) {
            return Err(PortalError::Invalid(format!("post {id} is already {}", post.status.as_str())));
        }
        Ok(self.store.answer_interaction(id, status, answer.as_deref(), &who.username, expires).await?)
    }

    /// What everyone may see of `kind` (optionally of one dataset), newest first.
    pub async fn public_posts(&self, kind: InteractionKind, dataset: Option<&str>) -> Result<Vec<Interaction>> {
        let statuses = visible_statuses(kind);
        if statuses.is_empty() {
            return Ok(vec![]);
        }
        let f =
            InteractionFilter { kind: Some(kind), statuses, dataset: dataset.map(str::to_owned), ..Default::default() };
        Ok(self.store.list_interactions(&f).await?)
    }

    /// A user's own posts, with their answers.
    pub async fn my_posts(&self, who: &Principal) -> Result<Vec<Interaction>> {
        Ok(self
            .store
            .list_interactions(&InteractionFilter { user_id: Some(who.user_id), ..Default::default() })
            .await?)
    }

    /// Posts waiting for `who`: everything pending for administrators; for a data officer,
    /// the published requests, feedback and applications addressed to its department.
    pub async fn inbox(&self, who: &Principal) -> Result<Vec<Interaction>> {
        if who.runs_the_platform() {
            return Ok(self
                .store
                .list_interactions(&InteractionFilter {
                    statuses: vec![InteractionStatus::Pending],
                    ..Default::default()
                })
                .await?);
        }
        if !who.answers_requests() {
            return Ok(vec![]);
        }
        let f = InteractionFilter {
            org_id: Some(who.org_id),
            statuses: vec![InteractionStatus::Pending, InteractionStatus::Published],
            ..Default::default()
        };
        let posts = self.store.list_interactions(&f).await?;
        Ok(posts
            .into_iter()
            .filter(|p| match p.kind {
                InteractionKind::Request => p.status == InteractionStatus::Published,
                InteractionKind::Feedback | InteractionKind::Application => true,
                _ => false,
            })
            .collect())
    }

    /// Whether `who` may read the rows of `ds`: anyone for unconditionally open data; for
    /// conditionally open data, its provider, administrators, and applicants whose
    /// application is approved and not expired.
    pub async fn has_access(&self, who: &Principal, ds: &Dataset) -> Result<bool> {
        if ds.rows_public() || who.may_edit_for(ds.org.id) {
            return Ok(true);
        }
        let f = InteractionFilter {
            kind: Some(InteractionKind::Application),
            statuses: vec![InteractionStatus::Approved],
            dataset: Some(ds.name.clone()),
            user_id: Some(who.user_id),
            ..Default::default()
        };
        let now = tongshu_core::now();
        Ok(self.store.list_interactions(&f).await?.iter().any(|a| a.expires_at.is_some_and(|e| e > now)))
    }

    /// The average published rating of a dataset and how many rated it.
    pub async fn rating(&self, dataset: &str) -> Result<Option<(f64, usize)>> {
        let rated: Vec<i64> = self
            .public_posts(InteractionKind::Comment, Some(dataset))
            .await?
            .into_iter()
            .filter_map(|c| c.rating)
            .collect();
        if rated.is_empty() {
            return Ok(None);
        }
        Ok(Some((rated.iter().sum::<i64>() as f64 / rated.len() as f64, rated.len())))
    }
}
