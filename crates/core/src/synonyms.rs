//! The portal's synonym dictionary: rules that let a search find the official term for the
//! word people type (`社保` → `社会保险`). Administrators keep it; it is seeded with
//! [`SEED`], common terms of government data.
//!
//! A rule is written as a line, the way search engines write synonym files:
//! `社保, 社会保险, 社会保障` (every term finds the others) or `离婚, 结婚 => 婚姻登记` (the
//! terms on the left also find those on the right, not the other way round).

use serde::{Deserialize, Serialize};

use crate::FieldErrors;

/// A synonym rule, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SynonymInput {
    /// The terms (without targets: equivalent to each other).
    pub terms: Vec<String>,
    /// Terms the `terms` also find, one way. Empty: the terms are equivalent.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// The longest term, in characters.
pub const MAX_TERM_CHARS: usize = 30;
/// The most terms on one side of a rule.
pub const MAX_TERMS: usize = 20;

impl SynonymInput {
    /// Parses a rule line (`a, b, c` or `a, b => c`). Commas may be ASCII or full-width,
    /// and `、` separates too.
    pub fn parse(line: &str) -> Result<Self, FieldErrors> {
        let split = |s: &str| -> Vec<String> {
            s.split([',', '，', '、']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
        };
        let input = match line.split_once("=>") {
            Some((l, r)) => Self { terms: split(l), targets: split(r) },
            None => Self { terms: split(line), targets: Vec::new() },
        };
        input.validate()
    }

    /// Checks the rule and normalizes its terms (trimmed, lower case, no repeats).
    pub fn validate(self) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let clean = |field: &str, terms: Vec<String>, errors: &mut FieldErrors| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for (i, t) in terms.into_iter().enumerate() {
                let t = t.trim().to_lowercase();
                let n = t.chars().count();
                if n == 0 {
                    errors.add(format!("{field}[{i}]"), "a term cannot be empty");
                } else if n > MAX_TERM_CHARS {
                    errors.add(
                        format!("{field}[{i}]"),
                        format!("a term has at most {MAX_TERM_CHARS} characters, this one {n}"),
                    );
                } else if t.contains([',', '，', '、', '=', '>', '\n']) {
                    errors.add(format!("{field}[{i}]"), "a term cannot hold a comma, 、 or =>");
                } else if !out.contains(&t) {
                    out.push(t);
                }
            }
            if out.len() > MAX_TERMS {
                errors.add(field, format!("a rule has at most {MAX_TERMS} terms on a side"));
            }
            out
        };
        let terms = clean("terms", self.terms, &mut errors);
        let targets = clean("targets", self.targets, &mut errors);
        if targets.is_empty() && terms.len() < 2 {
            errors.add("terms", "a rule needs at least two terms, or targets (terms => targets)");
        }
        if terms.is_empty() && !targets.is_empty() {
            errors.add("terms", "name the terms that find the targets (terms => targets)");
        }
        if let Some(t) = terms.iter().find(|t| targets.contains(t)) {
            errors.add("targets", format!("{t:?} cannot be both a term and a target"));
        }
        errors.into_result(Self { terms, targets })
    }

    /// The rule as a line (what [`SynonymInput::parse`] reads).
    pub fn to_line(&self) -> String {
        let terms = self.terms.join(", ");
        if self.targets.is_empty() { terms } else { format!("{terms} => {}", self.targets.join(", ")) }
    }
}

/// The dictionary a new platform starts with: colloquial and official terms, common
/// abbreviations (of services and of departments) and older names.
pub const SEED: &[&str] = &[
    // Social security, medical insurance, housing fund.
    "社保, 社会保险, 社会保障",
    "社保卡, 社会保障卡",
    "医保, 医疗保险, 医疗保障",
    "公积金, 住房公积金",
    "养老金, 退休金 => 养老保险",
    "失业金 => 失业保险金",
    "低保, 最低生活保障",
    "五保, 特困供养",
    // Civil affairs, identity, households.
    "离婚, 结婚 => 婚姻登记",
    "身份证, 居民身份证",
    "户口, 户籍",
    "外来人口, 暂住人口 => 流动人口",
    "护照, 港澳通行证, 签证 => 出入境证件",
    "出生证, 出生证明 => 出生医学证明",
    "死亡证明 => 死亡医学证明",
    "殡仪, 丧葬 => 殡葬",
    "退伍军人, 复员军人 => 退役军人",
    "残疾证 => 持证残疾人",
    "打疫苗, 疫苗 => 预防接种, 疫苗接种",
    // Transport.
    "网约车, 网络预约出租汽车",
    "出租车, 的士, 出租汽车",
    "公交, 公共交通",
    "驾照, 驾驶证 => 驾驶人",
    "违章, 交通违法",
    "汽车, 车辆 => 机动车",
    // Firms, markets, taxes.
    "营业执照, 工商登记 => 市场主体登记, 企业开办",
    "工商, 市场监管, 市场监督",
    "个体户, 个体工商户",
    "黑名单, 失信 => 经营异常名录, 纳税信用, 信用等级",
    "外资, 外商投资",
    "外贸, 进出口, 对外贸易",
    "高企, 高新企业, 高新技术企业",
    "小微企业, 中小企业",
    "交税, 缴税, 纳税",
    "罚款, 处罚决定 => 行政处罚",
    "招投标, 招标, 投标",
    "规上企业, 规上工业 => 规模以上工业企业, 规模以上企业",
    "社零, 社消零 => 社会消费品零售",
    // Housing, land, city.
    "房产证, 房产 => 不动产登记",
    "二手房, 买房 => 房屋网签备案, 商品房预售",
    "廉租房, 公租房, 公共租赁住房",
    "物业, 物业服务",
    "垃圾, 环卫",
    // Environment, weather, water.
    "pm2.5, 雾霾, 空气污染 => 空气质量",
    "天气, 气象",
    "河长, 河道",
    "自来水, 供水",
    "用电, 电力, 电费",
    // Education, health, culture.
    "学籍, 学生档案",
    "托幼, 幼儿园",
    "医院, 诊所 => 医疗机构",
    "药店, 药房",
    "景点, 景区, 旅游景区",
    "网吧, 上网服务营业场所",
    "快递, 邮政快递",
    // Government services and departments.
    "一网通办, 办事 => 政务服务",
    "好差评, 评价",
    "人社, 人社局 => 人力资源和社会保障",
    "发改, 发改委 => 发展和改革",
    "住建, 住建局 => 住房和城乡建设",
    "卫健, 卫健委 => 卫生健康",
    "市监局 => 市场监督管理",
    "工信, 工信局 => 工业和信息化",
    "gdp, 生产总值, 地区生产总值 => 国民经济",
    "cpi, 物价, 价格监测",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_both_ways_and_name_the_bad_term() {
        let r = SynonymInput::parse("社保，社会保险、 社会保障").unwrap();
        assert_eq!(r.terms, ["社保", "社会保险", "社会保障"]);
        assert!(r.targets.is_empty());
        let r = SynonymInput::parse("离婚, 结婚 => 婚姻登记").unwrap();
        assert_eq!((r.terms.len(), r.targets.as_slice()), (2, &["婚姻登记".to_owned()][..]));
        assert_eq!(SynonymInput::parse(&r.to_line()).unwrap(), r);
        assert_eq!(SynonymInput::parse("PM2.5, 雾霾").unwrap().terms[0], "pm2.5", "lower case");

        let e = SynonymInput::parse("社保").unwrap_err();
        assert_eq!(e.0[0].field, "terms");
        let e = SynonymInput { terms: vec!["a".into(), "长".repeat(31)], targets: vec![] }.validate().unwrap_err();
        assert_eq!(e.0[0].field, "terms[1]");
        assert!(SynonymInput::parse("a => a").is_err());
        assert!(SynonymInput::parse(" => a").is_err());
    }

    #[test]
    fn the_seed_is_valid() {
        for line in SEED {
            SynonymInput::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
        assert!(SEED.len() >= 50);
    }
}
