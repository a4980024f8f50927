//! Server-rendered pages: minijinja templates compiled into the binary, with filters that
//! turn wire values into Chinese labels and UTC times into Beijing time.

use minijinja::{Environment, Value};
use serde::Serialize;
use tongshu_core::catalog::{
    DataType, EntryStatus, Grading, OpenType, ResourceFormat, SharingMethod, SharingType, UpdateCycle, Vocabulary,
};
use tongshu_core::city::City;
use tongshu_core::org::OrgKind;
use tongshu_core::policy::Role;

pub struct Templates {
    env: Environment<'static>,
}

macro_rules! templates {
    ($env:ident, $($name:literal),* $(,)?) => {
        $($env.add_template($name, include_str!(concat!("../../templates/", $name))).expect($name);)*
    };
}

impl Templates {
    pub fn new(city: &City) -> Self {
        let mut env = Environment::new();
        templates!(
            env,
            "base.html",
            "home.html",
            "catalog_list.html",
            "catalog_detail.html",
            "login.html",
            "account.html",
            "workbench.html",
            "entry_form.html",
            "review.html",
            "synonyms.html",
            "error.html",
            "macros.html",
            "library.html",
            "job.html",
            "channel.html",
            "channel_detail.html",
            "sql.html",
            "datasets.html",
            "dataset.html",
            "register.html",
            "requests.html",
            "showcase.html",
            "inbox.html",
            "stats.html",
            "sharing_nav.html",
            "sharing.html",
            "sharing_apply.html",
            "sharing_requests.html",
            "sharing_grants.html",
            "sharing_supervision.html",
            "sharing_usage.html",
            "sharing_interface.html",
            "projects.html",
            "project.html",
            "systems.html",
            "evaluation_round.html",
        );
        env.add_filter("label", label);
        env.add_function("t", t);
        env.add_filter("beijing", beijing);
        let areas = city.clone();
        env.add_filter("district", move |code: String| areas.area_label(&code));
        let names = city.clone();
        env.add_function("site", move |state: &minijinja::State, what: String| site(&names, is_english(state), &what));
        env.add_function("choices", choices);
        Self { env }
    }

    pub fn render(&self, name: &str, ctx: impl Serialize) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(Value::from(minijinja::value::Serde(ctx)))
    }
}

/// `t("中文")`: the English wording when the page is in English and there is one. (A loop
/// variable named `t` hides this function inside its loop: name loop variables otherwise.)
fn t(state: &minijinja::State, zh: String) -> String {
    match is_english(state).then(|| crate::http::en::english(&zh)).flatten() {
        Some(en) => en.to_owned(),
        None => zh,
    }
}

fn vocab_label<T: Vocabulary>(v: &str) -> Option<&'static str> {
    T::parse(v).map(|x| x.label())
}

/// `{{ value|label("open_type") }}` → the label of a wire value: Chinese, or in English pages
/// the English of that label, else the wire value itself made readable (`not_shared` → "Not
/// shared"; wire values are English words).
fn label(state: &minijinja::State, value: String, kind: String) -> String {
    let zh = zh_label(&value, &kind);
    if !is_english(state) {
        return zh.map(str::to_owned).unwrap_or(value);
    }
    if let Some(en) = zh.and_then(crate::http::en::english) {
        return en.to_owned();
    }
    let mut words = value.replace('_', " ");
    if let Some(first) = words.get(..1) {
        words.replace_range(..1, &first.to_ascii_uppercase());
    }
    words
}

fn is_english(state: &minijinja::State) -> bool {
    state.lookup("lang").is_some_and(|l| l.as_str() == Some("en"))
}

fn zh_label(value: &str, kind: &str) -> Option<&'static str> {
    match kind {
        "format" => vocab_label::<ResourceFormat>(value),
        "data_type" => vocab_label::<DataType>(value),
        "sharing_type" => vocab_label::<SharingType>(value),
        "sharing_method" => vocab_label::<SharingMethod>(value),
        "open_type" => vocab_label::<OpenType>(value),
        "update_cycle" => vocab_label::<UpdateCycle>(value),
        "grading" => vocab_label::<Grading>(value),
        "status" => vocab_label::<EntryStatus>(value),
        "role" => Role::parse(value).map(Role::label),
        "org_kind" => OrgKind::parse(value).map(OrgKind::label),
        "interaction" => match value {
            "request" => Some("数据需求"),
            "feedback" => Some("纠错反馈"),
            "comment" => Some("评价"),
            "application" => Some("开放申请"),
            "showcase" => Some("应用成果"),
            _ => None,
        },
        "post_status" => match value {
            "pending" => Some("待处理"),
            "published" => Some("已公开"),
            "answered" => Some("已答复"),
            "approved" => Some("已批准"),
            "refused" => Some("未通过"),
            "hidden" => Some("已屏蔽"),
            _ => None,
        },
        "zombie" => tongshu_core::projects::zombie::Severity::parse(value).map(|v| v.label()),
        "stage" => tongshu_core::projects::Stage::parse(value).map(|v| v.label()),
        "document" => tongshu_core::projects::document_kind(value),
        "ticket" => match value {
            "open" => Some("整改中"),
            "fixed" => Some("已整改（复查通过）"),
            "merged" => Some("已整合"),
            "stopped" => Some("已停用"),
            _ => None,
        },
        "project_step" => match value {
            "create" => Some("申报"),
            "edit" => Some("修改申报"),
            "submit" => Some("提交评审"),
            "close_review" => Some("评审通过"),
            "return" => Some("退回"),
            "approve" => Some("批准立项"),
            "reject" => Some("不予立项"),
            "complete" => Some("建设完成"),
            "accept" => Some("验收通过"),
            "start_evaluation" => Some("开始后评价"),
            "finish_evaluation" => Some("完成后评价"),
            "rectify" => Some("责令整改"),
            "fixed" => Some("整改完成"),
            "retire" => Some("停用"),
            "document" => Some("上传文档"),
            "assign_expert" => Some("指定专家"),
            "score" => Some("专家评分"),
            "register_data" => Some("数据共享登记"),
            "reuse_review" => Some("集约利旧审查"),
            "milestone" => Some("计划里程碑"),
            "progress" => Some("报告进度"),
            "rebaseline" => Some("调整基线"),
            "payment" => Some("支付"),
            "checklist" => Some("清单核验"),
            "risk" => Some("调整风险等级"),
            "evaluation" => Some("后评价打分"),
            "reminder" => Some("期限提醒"),
            _ => None,
        },
        "channel_state" => match value {
            "new" => Some("未启动"),
            "starting" => Some("启动中"),
            "snapshotting" => Some("快照中"),
            "streaming" => Some("实时同步中"),
            "paused" => Some("已暂停"),
            "failed" => Some("失败"),
            "stopped" => Some("已停止"),
            _ => None,
        },
        "job_status" => match value {
            "queued" => Some("排队中"),
            "running" => Some("导入中"),
            "succeeded" => Some("已完成"),
            "failed" => Some("失败"),
            _ => None,
        },
        _ => None,
    }
}

/// `{{ ts|beijing }}`: an RFC 3339 UTC time shown as `YYYY-MM-DD HH:MM` in Beijing time.
fn beijing(value: String) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(&value, &Rfc3339) else {
        return value;
    };
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let t = t.to_offset(offset);
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// `site("portal")`: what the configured city's sites are called, in the page's language
/// (`portal`, `platform`, `brand`, `description`, `footer`).
fn site(city: &City, english: bool, what: &str) -> String {
    match (what, english) {
        ("portal", false) => city.portal_title.clone(),
        ("portal", true) => city.portal_title_en.clone(),
        ("platform", false) => format!("通数 {}公共数据平台", city.name),
        ("platform", true) => format!("Tongshu {} public data platform", city.name_en),
        ("brand", false) => format!("通数 · {}", city.short_name()),
        ("brand", true) => format!("Tongshu · {}", city.name_en),
        ("description", false) => format!("{}政务信息资源目录、共享与开放平台", city.name),
        ("description", true) => format!("{}'s government data catalog, sharing and open data platform", city.name_en),
        ("footer", false) => format!("{} · 通数公共数据平台", city.bureau),
        ("footer", true) => format!("{} · Tongshu public data platform", city.bureau_en),
        _ => String::new(),
    }
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
}

fn list<T: Vocabulary>() -> Value {
    Value::from(minijinja::value::Serde(
        T::all().iter().map(|v| Choice { value: v.as_str(), label: v.label() }).collect::<Vec<_>>(),
    ))
}

/// `choices("format")` → the value/label pairs of a vocabulary, for select boxes.
fn choices(kind: String) -> Value {
    match kind.as_str() {
        "format" => list::<ResourceFormat>(),
        "data_type" => list::<DataType>(),
        "sharing_type" => list::<SharingType>(),
        "sharing_method" => list::<SharingMethod>(),
        "open_type" => list::<OpenType>(),
        "update_cycle" => list::<UpdateCycle>(),
        "grading" => list::<Grading>(),
        "status" => list::<EntryStatus>(),
        _ => Value::from(Vec::<Value>::new()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_file_is_registered() {
        let t = super::Templates::new(&tongshu_core::city::City::linyi());
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for f in std::fs::read_dir(dir).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            assert!(t.env.get_template(&name).is_ok(), "{name} is not registered in Templates::new");
        }
    }
}
