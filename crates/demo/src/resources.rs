//! How a demo catalog entry is described: its information items and attributes follow from
//! what the resource is about (people, legal persons, things and events, statistics).

use tongshu_core::catalog::{EntryInput, ItemInput};

/// What a resource is about, guessed from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Person,
    LegalPerson,
    Statistic,
    Thing,
}

pub fn subject_of(name: &str) -> Subject {
    const STAT: [&str; 5] = ["统计", "汇总", "指标", "监测", "预报"];
    const PERSON: [&str; 18] = [
        "人口",
        "人员",
        "对象",
        "学生",
        "学籍",
        "驾驶人",
        "婚姻",
        "火化",
        "参保",
        "残疾人",
        "退役军人",
        "律师",
        "医师",
        "教师",
        "出生",
        "死亡",
        "接种",
        "核酸",
    ];
    const LEGAL: [&str; 10] =
        ["企业", "市场主体", "纳税人", "合作社", "农场", "机构", "单位", "公司", "经营者", "许可"];
    if STAT.iter().any(|k| name.contains(k)) {
        Subject::Statistic
    } else if PERSON.iter().any(|k| name.contains(k))
        || name.contains("证件")
        || name.contains("健康码")
        || name.contains("行程码")
    {
        Subject::Person
    } else if LEGAL.iter().any(|k| name.contains(k)) {
        Subject::LegalPerson
    } else {
        Subject::Thing
    }
}

fn item(name: &str, data_type: &str, length: Option<u32>, description: &str, element: Option<&str>) -> ItemInput {
    ItemInput {
        name: name.into(),
        data_type: data_type.into(),
        length,
        description: description.into(),
        element_code: element.map(Into::into),
    }
}

/// The information items of a resource. Element codes follow the pattern of the national
/// data element standards (`DE` + number).
pub fn items_for(name: &str, subject: Subject) -> Vec<ItemInput> {
    let core = name.trim_end_matches("信息");
    let mut items = match subject {
        Subject::Person => vec![
            item("姓名", "text", Some(50), "自然人姓名", Some("DE00001")),
            item("公民身份号码", "text", Some(18), "18位居民身份证号码", Some("DE00002")),
            item("性别", "text", Some(2), "GB/T 2261.1 性别代码", Some("DE00003")),
            item("出生日期", "date", None, "", Some("DE00004")),
            item("联系电话", "text", Some(11), "手机号码", Some("DE00005")),
            item("户籍地址", "text", Some(200), "", Some("DE00006")),
        ],
        Subject::LegalPerson => vec![
            item("统一社会信用代码", "text", Some(18), "GB 32100 统一社会信用代码", Some("DE00101")),
            item("单位名称", "text", Some(200), "", Some("DE00102")),
            item("法定代表人", "text", Some(50), "", Some("DE00103")),
            item("住所", "text", Some(200), "", Some("DE00104")),
            item("成立日期", "date", None, "", Some("DE00105")),
        ],
        Subject::Statistic => vec![
            item("统计年月", "text", Some(7), "YYYY-MM", Some("DE00201")),
            item("行政区划代码", "text", Some(6), "GB/T 2260", Some("DE00202")),
            item("指标名称", "text", Some(100), "", None),
            item("指标值", "number", Some(18), "", None),
            item("计量单位", "text", Some(20), "", None),
        ],
        Subject::Thing => vec![
            item("名称", "text", Some(200), "", None),
            item("地址", "text", Some(200), "", Some("DE00104")),
            item("行政区划代码", "text", Some(6), "GB/T 2260", Some("DE00202")),
            item("经度", "number", Some(12), "WGS84", None),
            item("纬度", "number", Some(12), "WGS84", None),
        ],
    };
    if subject != Subject::Statistic {
        items.push(item(&format!("{core}编号"), "text", Some(32), &format!("{core}的业务编号"), None));
        items.push(item("办理日期", "date", None, "", None));
        items.push(item("状态", "text", Some(20), "", None));
    }
    items.push(item("更新时间", "datetime", None, "数据最后更新时间", Some("DE00900")));
    items
}

/// Attributes of a demo entry, picked from the subject and a deterministic random number.
pub fn describe(name: &str, provider: &str, class: (&str, u32, u32), roll: u64) -> EntryInput {
    let subject = subject_of(name);
    let pick = |n: u64| (roll % n) as usize;
    let (sharing, open, grading) = match subject {
        Subject::Person => match pick(10) {
            0 => ("not_shared", "not_open", "core"),
            1..=6 => ("conditional", "not_open", "important"),
            _ => ("conditional", "conditional", "important"),
        },
        Subject::LegalPerson => match pick(10) {
            0..=5 => ("unconditional", "open", "general"),
            6..=8 => ("conditional", "conditional", "general"),
            _ => ("conditional", "not_open", "important"),
        },
        Subject::Statistic => ("unconditional", "open", "general"),
        Subject::Thing => match pick(5) {
            0 => ("conditional", "not_open", "important"),
            _ => ("unconditional", "open", "general"),
        },
    };
    let cycles = ["daily", "weekly", "monthly", "quarterly", "yearly", "realtime"];
    let cycle =
        if subject == Subject::Statistic { ["monthly", "quarterly", "yearly"][pick(3)] } else { cycles[pick(6)] };
    let formats = ["database", "database", "database", "spreadsheet", "service"];
    let format = formats[(roll / 7 % 5) as usize];
    let methods: Vec<String> = match format {
        "service" => vec!["interface".into()],
        "spreadsheet" => vec!["file_download".into()],
        _ if roll.is_multiple_of(2) => vec!["interface".into(), "database".into()],
        _ => vec!["interface".into()],
    };
    let core = name.trim_end_matches("信息");
    let mut keywords = vec![core.to_owned()];
    if let Some(short) = provider.strip_prefix("临沂市") {
        keywords.push(short.to_owned());
    }
    let summary = format!(
        "{provider}在履行职责过程中产生的{core}数据，{}，用于{}。",
        match subject {
            Subject::Person => "包含自然人身份与业务办理信息",
            Subject::LegalPerson => "包含市场主体和单位的登记与许可信息",
            Subject::Statistic => "按行政区划和统计周期汇总",
            Subject::Thing => "包含对象名称、位置与业务状态",
        },
        match pick(4) {
            0 => "政务服务办理与身份核验",
            1 => "跨部门业务协同和监管",
            2 => "社会公众查询与开发利用",
            _ => "辅助决策和统计分析",
        }
    );
    EntryInput {
        class: class.0.into(),
        item: format!("{:02}", class.1),
        category: format!("{:03}", class.2),
        sub_category: None,
        name: name.into(),
        summary,
        format: format.into(),
        format_detail: Some(match format {
            "spreadsheet" => "xlsx".into(),
            "service" => "REST/JSON".into(),
            _ => "关系型数据库表".into(),
        }),
        items: items_for(name, subject),
        sharing_type: sharing.into(),
        sharing_condition: (sharing == "conditional")
            .then(|| "仅限因履行法定职责需要的部门申请使用，需说明用途".into()),
        sharing_legal_basis: (sharing == "not_shared")
            .then(|| "《中华人民共和国个人信息保护法》第十三条、第三十四条".into()),
        sharing_methods: if sharing == "not_shared" { vec![] } else { methods },
        open_type: open.into(),
        open_condition: (open == "conditional")
            .then(|| "申请人需实名注册并说明数据用途，经数源部门审核同意后使用".into()),
        update_cycle: cycle.into(),
        grading: grading.into(),
        publish_date: None,
        related_codes: vec![],
        keywords,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_name() {
        assert_eq!(subject_of("户籍人口基本信息"), Subject::Person);
        assert_eq!(subject_of("市场主体登记信息"), Subject::LegalPerson);
        assert_eq!(subject_of("户籍人口统计信息"), Subject::Statistic);
        assert_eq!(subject_of("城市道路信息"), Subject::Thing);
    }

    #[test]
    fn every_described_entry_validates() {
        for roll in 0..200 {
            for name in ["户籍人口基本信息", "市场主体登记信息", "空气质量监测信息", "城市道路信息"]
            {
                let input = describe(name, "临沂市公安局", ("3", 2, 1), roll);
                input.validate().unwrap_or_else(|e| panic!("{name} {roll}: {e}"));
            }
        }
    }
}
