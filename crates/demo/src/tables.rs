//! Demo tables for the resource library: synthetic but consistent people and firms.
//!
//! One pool of residents (valid GB 11643 ID numbers with real district codes and birth
//! dates) feeds the population, medical-insurance, social-security and funeral tables, so
//! that some insured people are in fact dead, as in the city's real comparison work. Firms
//! carry valid unified social credit codes. Every table matches the items of the catalog
//! entry it is linked to.

use std::fmt::Write as _;
use std::path::Path;

use tongshu_core::ids::{CreditCode, DistrictCode, IdNumber, LINYI_DISTRICTS};

/// A small deterministic generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马",
    "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "建华", "志强", "海燕", "玉兰", "振国", "淑珍", "文", "晨",
];
const STREETS: &[&str] =
    &["通达路", "沂蒙路", "北京路", "解放路", "金雀山路", "银雀山路", "涑河街", "蒙山大道", "滨河大道", "平安路"];
const FIRM_WORDS: &[&str] = &["商贸", "物流", "建材", "食品", "机械", "木业", "电子", "农业科技", "医药", "纺织"];
const FIRM_KINDS: &[&str] = &["有限公司", "股份有限公司", "有限责任公司", "合作社"];

/// One resident of the pool.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: IdNumber,
    pub name: String,
    pub male: bool,
    pub birth: time::Date,
    pub district: (&'static str, &'static str),
    pub address: String,
    pub mobile: String,
}

/// `n` residents, the same for the same `n`.
pub fn people(n: usize) -> Vec<Person> {
    let mut rng = Rng::new(20_221_126);
    let start = time::Date::from_calendar_date(1935, time::Month::January, 1).unwrap_or(time::Date::MIN);
    let mut seen = std::collections::HashSet::new();
    (0..n)
        .map(|i| {
            let district = *rng.pick(&LINYI_DISTRICTS);
            let code = DistrictCode::parse(district.0).unwrap_or_else(|_| unreachable_district());
            let mut birth = start + time::Duration::days(rng.below(365 * 85) as i64);
            let mut seq = (i % 1000) as u16;
            // Two residents may draw the same district, birthday and sequence; move on.
            let id = loop {
                let id = IdNumber::compose(&code, birth, seq);
                if seen.insert(id.to_string()) {
                    break id;
                }
                seq = (seq + 1) % 1000;
                if seq == (i % 1000) as u16 {
                    birth += time::Duration::days(1);
                }
            };
            let male = id.is_male();
            let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
            let address = format!("{}{}{}号", district.1, rng.pick(STREETS), 1 + rng.below(300));
            let mobile = format!("1{}{:09}", [3, 5, 7, 8, 9][rng.below(5) as usize], rng.below(1_000_000_000));
            Person { id, name, male, birth, district, address, mobile }
        })
        .collect()
}

fn unreachable_district() -> DistrictCode {
    // LINYI_DISTRICTS holds valid codes; this keeps the generator total without a panic.
    DistrictCode::parse("371300").unwrap_or_else(|_| DistrictCode::parse("000000").expect("six digits"))
}

fn date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Writes the CSV for a person-kind entry: the demo catalog's person items, filled from the
/// residents chosen by `take` (index → keep?).
pub fn person_csv(
    path: &Path,
    core: &str,
    pool: &[Person],
    take: impl Fn(usize) -> bool,
    seed: u64,
) -> std::io::Result<usize> {
    let mut rng = Rng::new(seed);
    let mut out = format!("姓名,公民身份号码,性别,出生日期,联系电话,户籍地址,{core}编号,办理日期,状态,更新时间\n");
    let mut n = 0;
    let base = time::Date::from_calendar_date(2018, time::Month::January, 1).unwrap_or(time::Date::MIN);
    for (i, p) in pool.iter().enumerate().filter(|(i, _)| take(*i)) {
        let handled = base + time::Duration::days(rng.below(365 * 6) as i64);
        let state = ["有效", "有效", "有效", "注销", "暂停"][rng.below(5) as usize];
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}{:08},{},{},{} {:02}:{:02}:00",
            p.name,
            p.id,
            if p.male { "男" } else { "女" },
            date(p.birth),
            p.mobile,
            p.address,
            p.district.0,
            i,
            date(handled),
            state,
            date(handled),
            8 + rng.below(10),
            rng.below(60)
        );
        n += 1;
    }
    std::fs::write(path, out)?;
    Ok(n)
}

/// Writes the CSV for a legal-person entry: `n` firms with valid credit codes.
pub fn firm_csv(path: &Path, core: &str, n: usize, seed: u64) -> std::io::Result<usize> {
    let mut rng = Rng::new(seed);
    let alphabet: Vec<char> = CreditCode::alphabet().chars().collect();
    let mut out = format!("统一社会信用代码,单位名称,法定代表人,住所,成立日期,{core}编号,办理日期,状态,更新时间\n");
    let base = time::Date::from_calendar_date(2000, time::Month::January, 1).unwrap_or(time::Date::MIN);
    for i in 0..n {
        let district = *rng.pick(&LINYI_DISTRICTS);
        let body: String = (0..9).map(|_| alphabet[rng.below(31) as usize]).collect();
        let code = CreditCode::compose(&format!("91{}{body}", district.0)).map(|c| c.to_string()).unwrap_or_default();
        let founded = base + time::Duration::days(rng.below(365 * 24) as i64);
        let handled = founded + time::Duration::days(rng.below(365) as i64);
        let _ = writeln!(
            out,
            "{code},临沂{}{}{},{}{},{}{}{}号,{},{}{:08},{},{},{} 09:00:00",
            district.1.trim_end_matches(['区', '县']),
            rng.pick(FIRM_WORDS),
            rng.pick(FIRM_KINDS),
            rng.pick(SURNAMES),
            rng.pick(GIVEN),
            district.1,
            rng.pick(STREETS),
            1 + rng.below(500),
            date(founded),
            district.0,
            i,
            date(handled),
            ["存续", "存续", "存续", "注销", "吊销"][rng.below(5) as usize],
            date(handled),
        );
    }
    std::fs::write(path, out)?;
    Ok(n)
}

/// Writes the CSV for a "thing" entry (facilities, places, events): `n` named objects with
/// addresses and WGS84 coordinates inside the city.
pub fn thing_csv(path: &Path, core: &str, n: usize, seed: u64) -> std::io::Result<usize> {
    let mut rng = Rng::new(seed);
    let mut out = format!("名称,地址,行政区划代码,经度,纬度,{core}编号,办理日期,状态,更新时间\n");
    let base = time::Date::from_calendar_date(2015, time::Month::January, 1).unwrap_or(time::Date::MIN);
    for i in 0..n {
        let district = *rng.pick(&LINYI_DISTRICTS);
        let handled = base + time::Duration::days(rng.below(365 * 10) as i64);
        let _ = writeln!(
            out,
            "{}{}{}{}号,{}{}{}号,{},{:.6},{:.6},{}{:08},{},{},{} 10:30:00",
            district.1,
            rng.pick(STREETS),
            core,
            1 + i,
            district.1,
            rng.pick(STREETS),
            1 + rng.below(800),
            district.0,
            117.6 + rng.below(1_300_000) as f64 / 1e6,
            34.4 + rng.below(1_400_000) as f64 / 1e6,
            district.0,
            i,
            date(handled),
            ["在用", "在用", "在用", "停用", "在建"][rng.below(5) as usize],
            date(handled),
        );
    }
    std::fs::write(path, out)?;
    Ok(n)
}

/// Writes the CSV for a statistics entry: monthly figures per district.
pub fn statistic_csv(path: &Path, indicator: &str, months: usize, seed: u64) -> std::io::Result<usize> {
    let mut rng = Rng::new(seed);
    let mut out = String::from("统计年月,行政区划代码,指标名称,指标值,计量单位,更新时间\n");
    let mut n = 0;
    for m in 0..months {
        let (y, mo) = (2024 + (m / 12) as i32, (m % 12) + 1);
        for d in LINYI_DISTRICTS {
            let value = 1000.0 + rng.below(100_000) as f64 / 10.0;
            let _ = writeln!(out, "{y:04}-{mo:02},{},{indicator},{value:.1},件,{y:04}-{mo:02}-28 18:00:00", d.0);
            n += 1;
        }
    }
    std::fs::write(path, out)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_valid_and_deterministic() {
        let a = people(500);
        let b = people(500);
        assert_eq!(
            a.iter().map(|p| p.id.to_string()).collect::<Vec<_>>(),
            b.iter().map(|p| p.id.to_string()).collect::<Vec<_>>()
        );
        let mut ids = std::collections::HashSet::new();
        for p in &a {
            assert!(IdNumber::parse(p.id.as_str()).is_ok());
            assert!(ids.insert(p.id.to_string()), "ID numbers are unique");
            assert!(tongshu_core::ids::Mobile::parse(&p.mobile).is_ok(), "{}", p.mobile);
        }
    }
}
