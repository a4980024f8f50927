//! The city a platform serves: its name and GB/T 2260 code, its districts and counties,
//! and the names its sites carry. Configuration, with Linyi (the model city) as the default.

use serde::{Deserialize, Serialize};

use crate::ids::{DistrictCode, LINYI, LINYI_DISTRICTS};

/// A district or county of the city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct District {
    pub code: String,
    pub name: String,
}

/// The city and what its sites are called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct City {
    /// GB/T 2260 code of the prefecture (`371300`).
    pub code: String,
    /// `临沂市`.
    pub name: String,
    /// For the English pages: `Linyi`.
    pub name_en: String,
    pub districts: Vec<District>,
    /// The open data portal's title: `临沂市公共数据开放网`.
    pub portal_title: String,
    pub portal_title_en: String,
    /// The body that runs the platform (the DCAT publisher): `临沂市大数据局`.
    pub bureau: String,
    pub bureau_en: String,
    /// The bureau's organization slug in the catalog (its DCAT agent IRI).
    pub bureau_slug: String,
}

impl Default for City {
    fn default() -> Self {
        Self::linyi()
    }
}

impl City {
    /// The model city: Linyi, Shandong, with its three districts and nine counties.
    pub fn linyi() -> Self {
        let mut city = Self::named(LINYI.0, LINYI.1, "Linyi");
        city.districts = LINYI_DISTRICTS
            .iter()
            .map(|(code, name)| District { code: (*code).into(), name: (*name).into() })
            .collect();
        city.bureau_slug = "dsjj".into();
        city
    }

    /// A city with the usual names made from its own (`济南市` → `济南市公共数据开放网`,
    /// `济南市大数据局`) and no districts yet.
    pub fn named(code: &str, name: &str, name_en: &str) -> Self {
        Self {
            code: code.to_owned(),
            name: name.to_owned(),
            name_en: name_en.to_owned(),
            districts: vec![],
            portal_title: format!("{name}公共数据开放网"),
            portal_title_en: format!("{name_en} Open Data"),
            bureau: format!("{name}大数据局"),
            bureau_en: format!("{name_en} Big Data Bureau"),
            bureau_slug: "dsjj".into(),
        }
    }

    /// Checks the codes: the city's is a prefecture's (`…00`), each district's is a
    /// six-digit code within it, none twice, every name given. Errors name the field.
    pub fn validate(self) -> Result<Self, String> {
        let code = DistrictCode::parse(&self.code).map_err(|e| format!("city.code {:?}: {e}", self.code))?;
        if code.prefecture() != code {
            return Err(format!("city.code {:?} is not a prefecture's code (it ends in 00)", self.code));
        }
        for (field, v) in [
            ("name", &self.name),
            ("name_en", &self.name_en),
            ("portal_title", &self.portal_title),
            ("portal_title_en", &self.portal_title_en),
            ("bureau", &self.bureau),
            ("bureau_en", &self.bureau_en),
            ("bureau_slug", &self.bureau_slug),
        ] {
            if v.trim().is_empty() {
                return Err(format!("city.{field} is empty"));
            }
        }
        for (i, d) in self.districts.iter().enumerate() {
            let dc = DistrictCode::parse(&d.code).map_err(|e| format!("city.districts[{i}].code {:?}: {e}", d.code))?;
            if dc.prefecture() != code || dc == code {
                return Err(format!("city.districts[{i}].code {:?} is not a district of {}", d.code, self.code));
            }
            if d.name.trim().is_empty() {
                return Err(format!("city.districts[{i}].name is empty"));
            }
            if self.districts[..i].iter().any(|e| e.code == d.code) {
                return Err(format!("city.districts[{i}].code {:?} is listed twice", d.code));
            }
        }
        Ok(self)
    }

    /// The name of the city's or a district's code, `None` for any other code.
    pub fn area(&self, code: &str) -> Option<&str> {
        if code == self.code {
            return Some(&self.name);
        }
        self.districts.iter().find(|d| d.code == code).map(|d| d.name.as_str())
    }

    /// How a list shows an area: `市本级` for the city's own bodies, a district's name, or
    /// the code itself when it is neither.
    pub fn area_label(&self, code: &str) -> String {
        if code == self.code {
            return "市本级".into();
        }
        self.area(code).map(str::to_owned).unwrap_or_else(|| code.to_owned())
    }

    /// The city's name without its `市` (`临沂`), for short brands.
    pub fn short_name(&self) -> &str {
        self.name.strip_suffix('市').filter(|s| !s.is_empty()).unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linyi_is_the_default_and_valid() {
        let c = City::default().validate().unwrap();
        assert_eq!((c.code.as_str(), c.districts.len(), c.short_name()), ("371300", 12, "临沂"));
        assert_eq!(c.area("371302"), Some("兰山区"));
        assert_eq!(c.area_label("371300"), "市本级");
        assert_eq!(c.area_label("370102"), "370102");
    }

    #[test]
    fn bad_codes_are_refused_with_the_field() {
        let mut c = City::named("370100", "济南市", "Jinan");
        c.districts.push(District { code: "371302".into(), name: "兰山区".into() });
        assert!(c.clone().validate().unwrap_err().contains("city.districts[0].code"));
        c.districts[0] = District { code: "370102".into(), name: "历下区".into() };
        c.districts.push(c.districts[0].clone());
        assert!(c.clone().validate().unwrap_err().contains("listed twice"));
        assert!(City::named("370102", "历下区", "Lixia").validate().unwrap_err().contains("prefecture"));
        assert!(City::named("3701", "济南市", "Jinan").validate().unwrap_err().contains("city.code"));
    }
}
