//! Masking of shared values: the mask types of Ranger and the Chinese
//! conventions for names, ID numbers, mobiles, addresses and bank cards. No national standard
//! fixes the positions, so the presets are rule data ([`DEFAULT_RULES`]) an administrator can
//! change; this module only knows how to apply a mask and which rule fits an item.

use serde::{Deserialize, Serialize};

use crate::catalog::Grading;

/// How one value is shown to a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mask {
    /// The value as stored.
    Clear,
    /// The first `first` and last `last` characters kept, every other one shown as `*`.
    Keep { first: u8, last: u8 },
    /// Every character shown as `*`.
    Redact,
    /// A keyed SM3 hash (HMAC-SM3) of the value in hex: equal values stay equal under one
    /// key (one grant), nothing else is revealed, and without the platform's secret no
    /// dictionary of names or ID numbers can reverse it.
    Sm3,
    /// No value at all.
    Null,
    /// A date shown as its year only.
    Year,
}

impl Mask {
    /// Parses the text form: `clear`, `keep:F:L`, `redact`, `sm3`, `null`, `year`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "clear" => Mask::Clear,
            "redact" => Mask::Redact,
            "sm3" => Mask::Sm3,
            "null" => Mask::Null,
            "year" => Mask::Year,
            other => {
                let rest = other.strip_prefix("keep:")?;
                let (f, l) = rest.split_once(':')?;
                Mask::Keep { first: f.parse().ok()?, last: l.parse().ok()? }
            }
        })
    }

    /// Applies the mask; `None` is a null. `key` keys the `sm3` mask (see [`MaskKey`]).
    pub fn apply(self, value: &str, key: &MaskKey) -> Option<String> {
        match self {
            Mask::Clear => Some(value.to_owned()),
            Mask::Null => None,
            Mask::Redact => Some("*".repeat(value.chars().count())),
            Mask::Sm3 => Some(hmac_sm3_hex(&key.0, value.as_bytes())),
            Mask::Year => {
                let y: String = value.chars().take(4).collect();
                (y.len() == 4 && y.chars().all(|c| c.is_ascii_digit())).then_some(y)
            }
            Mask::Keep { first, last } => {
                let chars: Vec<char> = value.chars().collect();
                let n = chars.len();
                let (first, last) = (first as usize, last as usize);
                // A value too short to keep both ends still hides at least one character.
                let (first, last) = if first + last >= n { (first.min(n.saturating_sub(1)), 0) } else { (first, last) };
                Some(chars.iter().enumerate().map(|(i, c)| if i < first || i >= n - last { *c } else { '*' }).collect())
            }
        }
    }
}

impl std::fmt::Display for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mask::Clear => f.write_str("clear"),
            Mask::Keep { first, last } => write!(f, "keep:{first}:{last}"),
            Mask::Redact => f.write_str("redact"),
            Mask::Sm3 => f.write_str("sm3"),
            Mask::Null => f.write_str("null"),
            Mask::Year => f.write_str("year"),
        }
    }
}

impl Serialize for Mask {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mask {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Mask::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown mask {s:?}: use clear, keep:F:L, redact, sm3, null or year"))
        })
    }
}

fn hex32(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// SM3 of `bytes` as lowercase hex.
pub fn sm3_hex(bytes: &[u8]) -> String {
    use sm3::Digest;
    hex32(&sm3::Sm3::digest(bytes))
}

/// HMAC-SM3 of `bytes` under `key`, as lowercase hex.
pub fn hmac_sm3(key: &[u8], bytes: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sm3::Sm3>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(bytes);
    mac.finalize().into_bytes().into()
}

/// HMAC-SM3 of `bytes` under `key`, as lowercase hex.
pub fn hmac_sm3_hex(key: &[u8], bytes: &[u8]) -> String {
    hex32(&hmac_sm3(key, bytes))
}

/// The key of the `sm3` mask: derived from the platform's secret and one grant, so equal
/// values match within a grant, but not across grants, and nobody without the secret can
/// hash a dictionary to reverse them.
#[derive(Clone, PartialEq, Eq)]
pub struct MaskKey([u8; 32]);

impl MaskKey {
    /// The key of grant `grant_id` under the platform secret `secret`.
    pub fn for_grant(secret: &[u8], grant_id: i64) -> Self {
        MaskKey(hmac_sm3(secret, format!("tongshu mask key v1 grant {grant_id}").as_bytes()))
    }
}

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKey(***)")
    }
}

/// How one caller sees the items of one table: a mask per item, and the key of the `sm3`
/// mask. Masks apply to output columns by name, so a column that comes back twice is
/// masked twice.
#[derive(Debug, Clone)]
pub struct Masks {
    pub items: Vec<(String, Mask)>,
    pub key: MaskKey,
}

impl Masks {
    /// Every item in clear (the table's own organization).
    pub fn clear(items: &[String]) -> Self {
        Masks { items: items.iter().map(|i| (i.clone(), Mask::Clear)).collect(), key: MaskKey([0; 32]) }
    }

    /// The mask of `item`; items not listed are not shown at all, so they count as masked
    /// (`Null`), never as clear.
    pub fn of(&self, item: &str) -> Mask {
        self.items.iter().find(|(n, _)| n == item).map_or(Mask::Null, |(_, m)| *m)
    }

    /// Whether the caller sees `item` other than as stored.
    pub fn hides(&self, item: &str) -> bool {
        self.of(item) != Mask::Clear
    }
}

/// A masking rule: items whose name contains one of `patterns` are masked with `mask` when
/// their entry is graded `min_grading` or higher, unless a grant shows them in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MaskRule {
    pub name: String,
    /// Parts of item names, separated by `|` (e.g. `身份证|证件号码`).
    pub patterns: String,
    /// `keep:F:L` (keep the first F and last L characters), `redact`, `sm3`, `null`, `year`
    /// or `clear`.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, example = "keep:6:4", pattern = r"^(clear|redact|sm3|null|year|keep:[0-9]+:[0-9]+)$")
    )]
    pub mask: Mask,
    pub min_grading: Grading,
}

impl MaskRule {
    pub fn matches(&self, item: &str) -> bool {
        self.patterns.split('|').map(str::trim).any(|p| !p.is_empty() && item.contains(p))
    }
}

/// The presets seeded into a new store (name, patterns, mask, grading from which it applies).
pub const DEFAULT_RULES: &[(&str, &str, &str, &str)] = &[
    ("公民身份号码", "身份证|公民身份号码|证件号码", "keep:6:4", "general"),
    ("手机号码", "手机|联系电话|电话号码", "keep:3:4", "general"),
    ("银行卡号", "银行卡|银行账号|卡号", "keep:4:4", "general"),
    ("姓名", "姓名|联系人|法定代表人|户主", "keep:1:0", "general"),
    ("住址", "住址|地址|居住地", "keep:6:0", "important"),
    ("出生日期", "出生日期", "year", "important"),
];

fn grading_rank(g: Grading) -> u8 {
    match g {
        Grading::General => 0,
        Grading::Important => 1,
        Grading::Core => 2,
    }
}

/// The mask for item `item` of an entry graded `grading`: clear when the grant says so,
/// otherwise the first matching rule that applies at this grading, otherwise clear. Core
/// (核心) data is never shown in clear without the grant's word: unmatched items are hashed.
pub fn mask_for(item: &str, grading: Grading, rules: &[MaskRule], granted_clear: bool) -> Mask {
    if granted_clear {
        return Mask::Clear;
    }
    let rule = rules.iter().find(|r| grading_rank(grading) >= grading_rank(r.min_grading) && r.matches(item));
    match (rule, grading) {
        (Some(r), _) => r.mask,
        (None, Grading::Core) => Mask::Sm3,
        (None, _) => Mask::Clear,
    }
}

/// The seed rules, parsed.
pub fn default_rules() -> Vec<MaskRule> {
    DEFAULT_RULES
        .iter()
        .filter_map(|(name, patterns, mask, grading)| {
            Some(MaskRule {
                name: (*name).into(),
                patterns: (*patterns).into(),
                mask: Mask::parse(mask)?,
                min_grading: <Grading as crate::catalog::Vocabulary>::parse(grading)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_chinese_conventions() {
        let key = MaskKey::for_grant(b"secret", 1);
        let k = |f, l| Mask::Keep { first: f, last: l };
        assert_eq!(k(1, 0).apply("张三丰", &key).as_deref(), Some("张**"));
        assert_eq!(k(6, 4).apply("37130219900101123X", &key).as_deref(), Some("371302********123X"));
        assert_eq!(k(3, 4).apply("13812345678", &key).as_deref(), Some("138****5678"));
        assert_eq!(k(4, 4).apply("6222021234567890123", &key).as_deref(), Some("6222***********0123"));
        assert_eq!(k(6, 0).apply("山东省临沂市兰山区解放路1号", &key).as_deref(), Some("山东省临沂市********"));
        assert_eq!(Mask::Year.apply("1990-01-01", &key).as_deref(), Some("1990"));
        assert_eq!(Mask::Year.apply("不详", &key), None);
        assert_eq!(Mask::Null.apply("x", &key), None);
        assert_eq!(Mask::Redact.apply("秘密", &key).as_deref(), Some("**"));
        // SM3("abc"), the standard's test vector.
        assert_eq!(sm3_hex(b"abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
        // The sm3 mask is keyed: not the plain hash a dictionary could reverse, equal within
        // one grant, different across grants.
        let hashed = Mask::Sm3.apply("abc", &key).unwrap();
        assert_ne!(hashed, sm3_hex(b"abc"));
        assert_eq!(Mask::Sm3.apply("abc", &key).unwrap(), hashed);
        assert_ne!(Mask::Sm3.apply("abc", &MaskKey::for_grant(b"secret", 2)).unwrap(), hashed);
        assert_ne!(Mask::Sm3.apply("abc", &MaskKey::for_grant(b"other", 1)).unwrap(), hashed);
        assert_eq!(hashed.len(), 64);
        // Too short to keep both ends: still hides something.
        assert_eq!(k(1, 1).apply("张三", &key).as_deref(), Some("张*"));
        assert_eq!(k(6, 4).apply("1", &key).as_deref(), Some("*"));
    }

    #[test]
    fn rules_pick_masks_by_item_name_and_grading() {
        let rules = default_rules();
        assert_eq!(rules.len(), DEFAULT_RULES.len(), "every preset parses");
        assert_eq!(mask_for("公民身份号码", Grading::General, &rules, false), Mask::Keep { first: 6, last: 4 });
        assert_eq!(mask_for("公民身份号码", Grading::General, &rules, true), Mask::Clear);
        assert_eq!(mask_for("住址", Grading::General, &rules, false), Mask::Clear, "addresses from 重要 up");
        assert_eq!(mask_for("住址", Grading::Important, &rules, false), Mask::Keep { first: 6, last: 0 });
        assert_eq!(mask_for("性别", Grading::Important, &rules, false), Mask::Clear);
        assert_eq!(mask_for("性别", Grading::Core, &rules, false), Mask::Sm3);
    }

    proptest! {
        #[test]
        fn masks_round_trip_through_text(f in 0u8..20, l in 0u8..20, pick in 0usize..6) {
            let m = [Mask::Clear, Mask::Keep { first: f, last: l }, Mask::Redact, Mask::Sm3, Mask::Null, Mask::Year][pick];
            prop_assert_eq!(Mask::parse(&m.to_string()), Some(m));
        }

        #[test]
        fn keep_never_reveals_more_than_asked_and_keeps_the_length(v in "\\PC{0,40}", f in 0u8..10, l in 0u8..10) {
            let key = MaskKey::for_grant(b"k", 1);
            let masked = Mask::Keep { first: f, last: l }.apply(&v, &key).unwrap();
            prop_assert_eq!(masked.chars().count(), v.chars().count());
            let shown = masked.chars().zip(v.chars()).filter(|(m, o)| m == o && *o != '*').count();
            prop_assert!(shown <= (f as usize + l as usize));
            if !v.is_empty() && !v.chars().all(|c| c == '*') {
                prop_assert!(masked.contains('*'), "something is hidden");
            }
        }
    }
}
