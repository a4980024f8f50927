//! National identifiers with their check rules (GB/T 2260, GB 11643, GB 32100).
//!
//! Each identifier is a newtype that can only be built by `parse`, so code that holds one
//! can trust it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier did not parse. Messages name what was wrong with the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be {expected} characters, got {got}")]
    Length { expected: usize, got: usize },
    #[error("character {ch:?} at position {pos} is not allowed")]
    BadChar { ch: char, pos: usize },
    #[error("check character should be {expected:?}, got {got:?}")]
    Checksum { expected: char, got: char },
    #[error("birth date {0} is not a real date")]
    BadDate(String),
}

macro_rules! string_newtype_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A 6-digit administrative division code (GB/T 2260).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DistrictCode(String);
string_newtype_serde!(DistrictCode);

impl DistrictCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        check_len(s, 6)?;
        check_chars(s, |c| c.is_ascii_digit())?;
        Ok(Self(s.to_owned()))
    }

    /// The code of the prefecture this division belongs to (`371302` → `371300`).
    pub fn prefecture(&self) -> DistrictCode {
        DistrictCode(format!("{}00", &self.0[..4]))
    }
}

/// The model city and its 12 districts and counties.
pub const LINYI: (&str, &str) = ("371300", "临沂市");
pub const LINYI_DISTRICTS: [(&str, &str); 12] = [
    ("371302", "兰山区"),
    ("371311", "罗庄区"),
    ("371312", "河东区"),
    ("371321", "沂南县"),
    ("371322", "郯城县"),
    ("371323", "沂水县"),
    ("371324", "兰陵县"),
    ("371325", "费县"),
    ("371326", "平邑县"),
    ("371327", "莒南县"),
    ("371328", "蒙阴县"),
    ("371329", "临沭县"),
];

/// A resident identity number (GB 11643-1999): district, birth date, sequence, check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);
string_newtype_serde!(IdNumber);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

impl IdNumber {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim().to_ascii_uppercase();
        check_len(&s, 18)?;
        check_chars(&s, |c| c.is_ascii_alphanumeric())?;
        check_chars(&s[..17], |c| c.is_ascii_digit())?;
        let last = s.chars().nth(17).unwrap_or(' ');
        if !(last.is_ascii_digit() || last == 'X') {
            return Err(IdError::BadChar { ch: last, pos: 18 });
        }
        let expected = Self::check_char(&s[..17]);
        if expected != last {
            return Err(IdError::Checksum { expected, got: last });
        }
        let (y, m, d) = (&s[6..10], &s[10..12], &s[12..14]);
        let date_ok = (|| {
            let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
            time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
        })();
        if date_ok.is_none() {
            return Err(IdError::BadDate(s[6..14].to_owned()));
        }
        Ok(Self(s))
    }

    /// The check character for the first 17 digits (which must be ASCII digits).
    pub fn check_char(first17: &str) -> char {
        let sum: u32 = first17.bytes().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
        ID_CHECK[(sum % 11) as usize]
    }

    /// Builds a valid number from its parts (used by the demo generator and tests).
    pub fn compose(district: &DistrictCode, birth: time::Date, sequence: u16) -> Self {
        let first17 = format!(
            "{}{:04}{:02}{:02}{:03}",
            district.as_str(),
            birth.year(),
            u8::from(birth.month()),
            birth.day(),
            sequence % 1000
        );
        let c = Self::check_char(&first17);
        Self(format!("{first17}{c}"))
    }

    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }
}

/// A unified social credit code (GB 32100-2015).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);
string_newtype_serde!(CreditCode);

const CREDIT_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

impl CreditCode {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim().to_ascii_uppercase();
        check_len(&s, 18)?;
        check_chars(&s, |c| CREDIT_CHARS.contains(c))?;
        let expected = Self::check_char(&s[..17]);
        let got = s.chars().nth(17).unwrap_or(' ');
        if expected != got {
            return Err(IdError::Checksum { expected, got });
        }
        Ok(Self(s))
    }

    /// The check character for 17 characters from the code alphabet.
    pub fn check_char(first17: &str) -> char {
        let sum: u32 =
            first17.chars().zip(CREDIT_WEIGHTS).map(|(c, w)| CREDIT_CHARS.find(c).unwrap_or(0) as u32 * w).sum();
        let check = (31 - sum % 31) % 31;
        CREDIT_CHARS.as_bytes()[check as usize] as char
    }

    /// Builds a valid code from 17 characters of the alphabet (demo generator, tests).
    pub fn compose(first17: &str) -> Result<Self, IdError> {
        check_len(first17, 17)?;
        check_chars(first17, |c| CREDIT_CHARS.contains(c))?;
        Ok(Self(format!("{first17}{}", Self::check_char(first17))))
    }

    /// The alphabet of the code, for generators.
    pub fn alphabet() -> &'static str {
        CREDIT_CHARS
    }
}

/// A mainland mobile number: 11 digits starting with 1[3-9].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);
string_newtype_serde!(Mobile);

impl Mobile {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        check_len(s, 11)?;
        check_chars(s, |c| c.is_ascii_digit())?;
        let second = s.as_bytes()[1];
        if s.as_bytes()[0] != b'1' || !(b'3'..=b'9').contains(&second) {
            return Err(IdError::BadChar { ch: second as char, pos: 2 });
        }
        Ok(Self(s.to_owned()))
    }
}

fn check_len(s: &str, expected: usize) -> Result<(), IdError> {
    let got = s.chars().count();
    if got == expected { Ok(()) } else { Err(IdError::Length { expected, got }) }
}

fn check_chars(s: &str, ok: impl Fn(char) -> bool) -> Result<(), IdError> {
    match s.chars().enumerate().find(|(_, c)| !ok(*c)) {
        Some((i, ch)) => Err(IdError::BadChar { ch, pos: i + 1 }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_id_number_example_is_valid() {
        // The worked example in GB 11643-1999's annex.
        assert!(IdNumber::parse("11010519491231002X").is_ok());
        assert_eq!(IdNumber::parse("110105194912310021"), Err(IdError::Checksum { expected: 'X', got: '1' }));
    }

    #[test]
    fn credit_code_check_character_follows_gb_32100() {
        // Weighted sum of "91371300MA3C00001" is 1294; 1294 mod 31 = 23; 31 - 23 = 8 -> '8'.
        assert_eq!(CreditCode::check_char("91371300MA3C00001"), '8');
        assert!(CreditCode::parse("91371300MA3C000018").is_ok());
        assert!(CreditCode::parse("91371300MA3C000019").is_err());
        assert!(CreditCode::parse("91371300MA3C00001I").is_err());
    }

    #[test]
    fn id_number_rejects_impossible_birth_date() {
        let first17 = "37130219990230001";
        let s = format!("{first17}{}", IdNumber::check_char(first17));
        assert_eq!(IdNumber::parse(&s), Err(IdError::BadDate("19990230".into())));
    }

    #[test]
    fn mobile_numbers() {
        assert!(Mobile::parse("13812345678").is_ok());
        assert!(Mobile::parse("12812345678").is_err());
        assert!(Mobile::parse("1381234567").is_err());
    }

    proptest! {
        #[test]
        fn composed_id_numbers_parse_and_any_single_digit_change_is_caught(
            d in 0usize..12, days in 0i64..40000, seq in 0u16..1000, pos in 0usize..17, delta in 1u8..10
        ) {
            let district = DistrictCode::parse(LINYI_DISTRICTS[d].0).unwrap();
            let birth = time::Date::from_calendar_date(1920, time::Month::January, 1).unwrap()
                + time::Duration::days(days);
            let id = IdNumber::compose(&district, birth, seq);
            prop_assert!(IdNumber::parse(id.as_str()).is_ok());
            let mut bytes = id.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(IdNumber::parse(&changed).is_err());
        }

        #[test]
        fn composed_credit_codes_parse_and_a_single_change_is_caught(
            body in "[0-9A-HJ-NP-RTUW-Y]{17}", pos in 0usize..17, delta in 1usize..31
        ) {
            let code = CreditCode::compose(&body).unwrap();
            prop_assert!(CreditCode::parse(code.as_str()).is_ok());
            let alphabet: Vec<char> = CreditCode::alphabet().chars().collect();
            let mut chars: Vec<char> = code.as_str().chars().collect();
            let i = alphabet.iter().position(|c| *c == chars[pos]).unwrap();
            chars[pos] = alphabet[(i + delta) % 31];
            let changed: String = chars.into_iter().collect();
            prop_assert!(CreditCode::parse(&changed).is_err());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = IdNumber::parse(&s);
            let _ = CreditCode::parse(&s);
            let _ = DistrictCode::parse(&s);
            let _ = Mobile::parse(&s);
        }
    }
}
