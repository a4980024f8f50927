//! The portal's interaction pages: registration, data requests, feedback, ratings and
//! comments, applications for conditionally open data, the showcase, and the inbox where
//! administrators moderate and departments answer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_core::policy::Role;
use tongshu_portal::interact::{Decision, PostInput};
use tongshu_portal::{Interaction, InteractionKind};

use crate::AppState;
use crate::http::caller::{Caller, session_cookie};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiQuery;
use crate::http::extract::ClientIp;
use crate::http::render::{DoneQuery, posted_flash};
use crate::http::render::{base, error_page, render, see_other};

type FormResult<T> = Result<axum::Form<T>, axum::extract::rejection::FormRejection>;

fn form_or_400<T>(form: FormResult<T>) -> Result<T, ApiError> {
    form.map(|axum::Form(f)| f).map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("bad form: {e}")))
}

/// What a page shows of a post.
pub fn post_view(p: &Interaction) -> Value {
    json!({
        "id": p.id, "kind": p.kind.as_str(), "user": p.user_name, "dataset": p.dataset, "org": p.org_name,
        "title": p.title, "body": p.body, "rating": p.rating, "link": p.link, "status": p.status.as_str(),
        "answer": p.answer, "answered_at": p.answered_at.map(rfc3339), "expires_at": p.expires_at.map(rfc3339),
        "created_at": rfc3339(p.created_at),
        // What a list shows: the title, or the start of the text of untitled comments.
        "summary": if p.title.is_empty() { p.body.chars().take(40).collect::<String>() } else { p.title.clone() },
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

// --- Registration ---

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(default)]
    next: Option<String>,
}

fn register_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    f: &RegisterForm,
    error: Option<String>,
) -> Response {
    let mut ctx = base(caller, "register", "注册");
    ctx.insert("f".into(), json!({"username": f.username, "display_name": f.display_name, "next": f.next}));
    ctx.insert("error".into(), json!(error));
    render(state, status, "register.html", ctx)
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn register_form(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<NextQuery>, ApiError>,
) -> Response {
    let next = q.ok().and_then(|q| q.0.next);
    register_page(&state, &caller, StatusCode::OK, &RegisterForm { next, ..Default::default() }, None)
}

/// Registers a member of the public and signs them in.
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    form: FormResult<RegisterForm>,
) -> Response {
    let f = match form_or_400(form) {
        Ok(f) => f,
        Err(e) => return error_page(&state, &caller, e),
    };
    if f.password != f.password2 {
        return register_page(
            &state,
            &caller,
            StatusCode::UNPROCESSABLE_ENTITY,
            &f,
            Some("两次输入的密码不一致".into()),
        );
    }
    if let Err(e) = state.accounts.register(&f.username, &f.display_name, &f.password).await {
        let e = ApiError::from(e);
        let msg = if e.code == ErrorCode::Conflict {
            caller.wording("this username is taken")
        } else {
            caller.wording(&e.message)
        };
        return register_page(&state, &caller, e.code.status(), &f, Some(msg));
    }
    match state.accounts.sign_in(&f.username, &f.password, ip).await {
        Ok(s) => {
            let next = crate::http::render::safe_next(
                f.next.as_deref().filter(|n| !n.is_empty()).or(Some("/account?done=registered")),
            );
            ([(SET_COOKIE, session_cookie(Some(&s.token), state.settings.secure_cookies))], see_other(&next))
                .into_response()
        }
        Err(e) => error_page(&state, &caller, e.into()),
    }
}

// --- Posting ---

#[derive(Deserialize, Default)]
pub struct PostForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    rating: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    org: Option<String>,
}

async fn file_post(
    state: &AppState,
    caller: &Caller,
    kind: InteractionKind,
    dataset: Option<String>,
    form: FormResult<PostForm>,
    back: &str,
) -> Response {
    let result = async {
        let who = caller.required()?;
        let f = form_or_400(form)?;
        let rating = match f.rating.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => {
                Some(r.parse::<i64>().map_err(|_| ApiError::new(ErrorCode::BadRequest, "rating must be 1 to 5"))?)
            }
            None => None,
        };
        let input = PostInput { dataset, org: f.org, title: f.title, body: f.body, rating, link: f.link };
        Ok::<_, ApiError>(state.portal.post(who, kind, &input).await?)
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("{back}?done=posted-{}", kind.as_str())),
        Err(e) => error_page(state, caller, e),
    }
}

/// `POST /datasets/{name}/posts/{kind}`: feedback, a comment or an application on a dataset.
pub async fn post_on_dataset(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, kind)): Path<(String, String)>,
    form: FormResult<PostForm>,
) -> Response {
    let kind = match InteractionKind::parse(&kind) {
        Some(k @ (InteractionKind::Feedback | InteractionKind::Comment | InteractionKind::Application)) => k,
        _ => {
            return error_page(
                &state,
                &caller,
                ApiError::new(ErrorCode::NotFound, format!("no such post kind {kind:?}")),
            );
        }
    };
    let back = format!("/datasets/{name}");
    file_post(&state, &caller, kind, Some(name), form, &back).await
}

pub async fn post_request(State(state): State<AppState>, caller: Caller, form: FormResult<PostForm>) -> Response {
    file_post(&state, &caller, InteractionKind::Request, None, form, "/requests").await
}

pub async fn post_showcase(State(state): State<AppState>, caller: Caller, form: FormResult<PostForm>) -> Response {
    file_post(&state, &caller, InteractionKind::Showcase, None, form, "/showcase").await
}

// --- Public lists ---

async fn list_page(
    state: &AppState,
    caller: &Caller,
    kind: InteractionKind,
    done: Option<&str>,
    template: &str,
    title: &str,
) -> Response {
    let posts = match state.portal.public_posts(kind, None).await {
        Ok(p) => p,
        Err(e) => return error_page(state, caller, e.into()),
    };
    let mut ctx = base(caller, template.trim_end_matches(".html"), title);
    ctx.insert("posts".into(), Value::Array(posts.iter().map(post_view).collect()));
    ctx.insert("flash".into(), json!(posted_flash(done)));
    if kind == InteractionKind::Request {
        let orgs: Vec<Value> =
            state.portal.organizations().into_iter().map(|(o, _)| json!({"slug": o.slug, "name": o.name})).collect();
        ctx.insert("orgs".into(), Value::Array(orgs));
    }
    render(state, StatusCode::OK, template, ctx)
}

/// `GET /requests`: the public list of data requests and their answers, and the form.
pub async fn requests(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<DoneQuery>, ApiError>,
) -> Response {
    let done = q.ok().and_then(|q| q.0.done);
    list_page(&state, &caller, InteractionKind::Request, done.as_deref(), "requests.html", "数据需求").await
}

/// `GET /showcase`: apps and research built on the data, and the form to submit one.
pub async fn showcase(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<DoneQuery>, ApiError>,
) -> Response {
    let done = q.ok().and_then(|q| q.0.done);
    list_page(&state, &caller, InteractionKind::Showcase, done.as_deref(), "showcase.html", "应用成果").await
}

// --- Inbox ---

/// `GET /inbox`: the caller's own posts with their answers; for administrators and data
/// officers also what waits for them.
pub async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<DoneQuery>, ApiError>,
) -> Response {
    let done = q.ok().and_then(|q| q.0.done);
    let result = async {
        let who = caller.required()?;
        let waiting = state.portal.inbox(who).await?;
        let mine = state.portal.my_posts(who).await?;
        Ok::<_, ApiError>((waiting, mine, who.role))
    }
    .await;
    match result {
        Ok((waiting, mine, role)) => {
            let mut ctx = base(&caller, "inbox", "我的互动");
            ctx.insert("waiting".into(), Value::Array(waiting.iter().map(post_view).collect()));
            ctx.insert("mine".into(), Value::Array(mine.iter().map(post_view).collect()));
            ctx.insert("admin".into(), json!(role == Role::PlatformAdmin));
            ctx.insert("flash".into(), json!(posted_flash(done.as_deref())));
            render(&state, StatusCode::OK, "inbox.html", ctx)
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

#[derive(Deserialize, Default)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    days: Option<String>,
}

/// Parses a decision as forms and the JSON API give it.
pub fn decision(kind: &str, answer: String, days: Option<&str>) -> Result<Decision, ApiError> {
    let days = match days.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(d.parse::<i64>().map_err(|_| ApiError::new(ErrorCode::BadRequest, "days must be a number"))?),
        None => None,
    };
    Ok(match kind {
        "publish" => Decision::Publish,
        "hide" => Decision::Hide,
        "answer" => Decision::Answer { answer },
        "approve" => Decision::Approve { answer: Some(answer).filter(|a| !a.trim().is_empty()), days },
        "refuse" => Decision::Refuse { answer },
        other => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("decision {other:?}: use publish, hide, answer, approve or refuse"),
            ));
        }
    })
}

/// `POST /inbox/{id}`: moderate or answer a post.
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: FormResult<DecisionForm>,
) -> Response {
    let result = async {
        let who = caller.required()?;
        let f = form_or_400(form)?;
        let d = decision(&f.decision, f.answer, f.days.as_deref())?;
        Ok::<_, ApiError>(state.portal.decide(who, crate::http::extract::parse_id(&id)?, &d).await?)
    }
    .await;
    match result {
        Ok(_) => see_other("/inbox?done=decided"),
        Err(e) => error_page(&state, &caller, e),
    }
}
