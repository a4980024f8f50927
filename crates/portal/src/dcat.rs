//! DCAT-AP 3 descriptions of the public catalog, as Turtle and JSON-LD, conforming to the
//! official DCAT-AP 3.0.0 SHACL shapes (tested with pyshacl): the catalogue, its datasets
//! with their distributions (one per library table and format), publishers, themes (the
//! portal's topics as a SKOS scheme), spatial coverage, update frequency and access rights
//! from the EU authority tables.
//!
//! The description is built as a list of triples and then written out, so both formats say
//! exactly the same thing.

use std::fmt::Write as _;
use tongshu_core::city::City;

use serde_json::{Map, Value, json};
use tongshu_core::catalog::{OpenType, UpdateCycle};

use crate::{Dataset, TOPICS};

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
/// `rdfs:Resource`: the shapes require it of access and download URLs, and validators that
/// run without RDFS inference (pyshacl's default) do not infer it.
const RDFS_RESOURCE: &str = "http://www.w3.org/2000/01/rdf-schema#Resource";
const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
const EU: &str = "http://publications.europa.eu/resource/authority/";

const PREFIXES: [(&str, &str); 8] = [
    ("dcat", DCAT),
    ("dct", DCT),
    ("foaf", FOAF),
    ("skos", SKOS),
    ("vcard", VCARD),
    ("xsd", XSD),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
];

/// An RDF term in object position.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Iri(String),
    /// Text in Chinese.
    Zh(String),
    Typed(String, &'static str),
}

/// A set of triples.
#[derive(Debug, Default)]
pub struct Graph {
    triples: Vec<(String, String, Object)>,
}

impl Graph {
    fn add(&mut self, s: &str, p: String, o: Object) {
        self.triples.push((s.to_owned(), p, o));
    }

    fn a(&mut self, s: &str, class: String) {
        self.add(s, RDF_TYPE.to_owned(), Object::Iri(class));
    }

    /// Turtle, subjects grouped, with the usual prefixes.
    pub fn to_turtle(&self) -> String {
        let mut out = String::new();
        for (p, iri) in PREFIXES {
            let _ = writeln!(out, "@prefix {p}: <{iri}> .");
        }
        let mut subjects: Vec<&str> = Vec::new();
        for (s, _, _) in &self.triples {
            if !subjects.contains(&s.as_str()) {
                subjects.push(s);
            }
        }
        for s in subjects {
            let _ = write!(out, "\n<{}>", iri(s));
            let props: Vec<&(String, String, Object)> = self.triples.iter().filter(|t| t.0 == s).collect();
            for (i, (_, p, o)) in props.iter().enumerate() {
                let sep = if i + 1 == props.len() { " ." } else { " ;" };
                let _ = write!(out, "\n    {} {}{sep}", curie(p), turtle_object(o));
            }
            out.push('\n');
        }
        out
    }

    /// JSON-LD: a context with the prefixes and a `@graph` of nodes.
    pub fn to_jsonld(&self) -> Value {
        let mut nodes: Vec<(String, Map<String, Value>)> = Vec::new();
        for (s, p, o) in &self.triples {
            let i = match nodes.iter().position(|(id, _)| id == s) {
                Some(i) => i,
                None => {
                    let mut m = Map::new();
                    m.insert("@id".into(), Value::from(s.clone()));
                    nodes.push((s.clone(), m));
                    nodes.len() - 1
                }
            };
            let (key, value) = if p == RDF_TYPE {
                (
                    "@type".to_owned(),
                    match o {
                        Object::Iri(c) => Value::from(jsonld_name(c)),
                        _ => Value::Null,
                    },
                )
            } else {
                (
                    jsonld_name(p),
                    match o {
                        Object::Iri(x) => json!({"@id": x}),
                        Object::Zh(t) => json!({"@value": t, "@language": "zh"}),
                        Object::Typed(t, dt) => json!({"@value": t, "@type": format!("xsd:{dt}")}),
                    },
                )
            };
            let node = &mut nodes[i].1;
            match node.get_mut(&key) {
                None => {
                    node.insert(key, value);
                }
                Some(Value::Array(a)) => a.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
            }
        }
        let context: Map<String, Value> = PREFIXES.iter().map(|(p, i)| ((*p).to_owned(), Value::from(*i))).collect();
        json!({"@context": context, "@graph": nodes.into_iter().map(|(_, m)| Value::Object(m)).collect::<Vec<_>>()})
    }
}

/// An IRI made safe for Turtle's `<…>` (spaces and the few forbidden characters escaped).
fn iri(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' ' | '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// `p` as `prefix:local` when a prefix fits.
fn compact(p: &str) -> Option<String> {
    PREFIXES.iter().find_map(|(prefix, ns)| p.strip_prefix(ns).map(|local| format!("{prefix}:{local}")))
}

/// `p` for Turtle: a prefixed name, else `<iri>`.
fn curie(p: &str) -> String {
    compact(p).unwrap_or_else(|| format!("<{}>", iri(p)))
}

/// `p` for JSON-LD: a prefixed name, else the IRI itself (JSON-LD has no `<…>`).
fn jsonld_name(p: &str) -> String {
    compact(p).unwrap_or_else(|| p.to_owned())
}

fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn turtle_object(o: &Object) -> String {
    match o {
        Object::Iri(x) => {
            let short = curie(x);
            let simple = short.split_once(':').is_some_and(|(_, l)| l.chars().all(|c| c.is_ascii_alphanumeric()));
            if simple && !short.starts_with('<') { short } else { format!("<{}>", iri(x)) }
        }
        Object::Zh(t) => format!("{}@zh", literal(t)),
        Object::Typed(t, dt) => format!("{}^^xsd:{dt}", literal(t)),
    }
}

fn date_time(t: time::OffsetDateTime) -> Object {
    let t = t.to_offset(time::UtcOffset::UTC);
    Object::Typed(
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        "dateTime",
    )
}

fn frequency(c: UpdateCycle) -> &'static str {
    match c {
        UpdateCycle::RealTime => "CONT",
        UpdateCycle::Daily => "DAILY",
        UpdateCycle::Weekly => "WEEKLY",
        UpdateCycle::Monthly => "MONTHLY",
        UpdateCycle::Quarterly => "QUARTERLY",
        UpdateCycle::Yearly => "ANNUAL",
    }
}

/// The IRIs of the portal's things under `base` (the site's URL).
pub struct Iris<'a> {
    pub base: &'a str,
}

impl Iris<'_> {
    pub fn catalog(&self) -> String {
        format!("{}/catalog", self.base)
    }
    pub fn dataset(&self, d: &Dataset) -> String {
        format!("{}/datasets/{}", self.base, d.name)
    }
    fn org(&self, slug: &str) -> String {
        format!("{}/organizations/{slug}", self.base)
    }
    fn topic(&self, slug: &str) -> String {
        format!("{}/topics/{slug}", self.base)
    }
}

fn p(ns: &str, local: &str) -> String {
    format!("{ns}{local}")
}

/// Adds one dataset, its distributions, its publisher and its theme.
fn add_dataset(g: &mut Graph, iris: &Iris, d: &Dataset) {
    let e = &d.entry;
    let ds = iris.dataset(d);
    g.a(&ds, p(DCAT, "Dataset"));
    g.add(&ds, p(DCT, "identifier"), Object::Typed(e.code.as_str().to_owned(), "string"));
    g.add(&ds, p(DCT, "title"), Object::Zh(e.body.name.clone()));
    g.add(&ds, p(DCT, "description"), Object::Zh(e.body.summary.clone()));
    let publisher = iris.org(&d.org.slug);
    g.add(&ds, p(DCT, "publisher"), Object::Iri(publisher.clone()));
    for k in &e.body.keywords {
        g.add(&ds, p(DCAT, "keyword"), Object::Zh(k.clone()));
    }
    g.add(&ds, p(DCAT, "theme"), Object::Iri(iris.topic(d.topic.0)));
    g.add(&ds, p(DCT, "issued"), date_time(e.listed_at.unwrap_or(e.created_at)));
    g.add(&ds, p(DCT, "modified"), date_time(e.updated_at));
    let freq = format!("{EU}frequency/{}", frequency(e.body.update_cycle));
    g.add(&ds, p(DCT, "accrualPeriodicity"), Object::Iri(freq.clone()));
    let rights =
        format!("{EU}access-right/{}", if e.body.open.kind == OpenType::Open { "PUBLIC" } else { "RESTRICTED" });
    g.add(&ds, p(DCT, "accessRights"), Object::Iri(rights.clone()));
    let place = format!("{}/districts/{}", iris.base, e.district_code);
    g.add(&ds, p(DCT, "spatial"), Object::Iri(place.clone()));
    let contact = format!("{publisher}#contact");
    g.add(&ds, p(DCAT, "contactPoint"), Object::Iri(contact.clone()));
    g.add(&ds, p(DCAT, "landingPage"), Object::Iri(ds.clone()));
    let mut dists = Vec::new();
    for t in &d.tables {
        for (fmt, eu, media) in [
            ("csv", "CSV", "text/csv"),
            ("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ("json", "JSON", "application/json"),
            ("parquet", "PARQUET", "application/vnd.apache.parquet"),
        ] {
            let dist = format!("{ds}/distributions/{}.{fmt}", t.name);
            let url = format!("{}/api/v1/open/tables/{}/download?format={fmt}", iris.base, t.name);
            g.add(&ds, p(DCAT, "distribution"), Object::Iri(dist.clone()));
            dists.push((dist, url, eu, media, t));
        }
    }
    // The described things, each typed so that the shapes know them.
    g.a(&contact, p(VCARD, "Kind"));
    g.add(&contact, p(VCARD, "fn"), Object::Zh(d.org.name.clone()));
    g.a(&freq, p(DCT, "Frequency"));
    g.a(&rights, p(DCT, "RightsStatement"));
    g.a(&place, p(DCT, "Location"));
    g.a(&ds, p(FOAF, "Document"));
    let license = "https://creativecommons.org/licenses/by/4.0/".to_owned();
    for (dist, url, eu, media, t) in dists {
        g.a(&dist, p(DCAT, "Distribution"));
        g.add(&dist, p(DCT, "title"), Object::Zh(format!("{}（{eu}）", e.body.name)));
        g.add(&dist, p(DCAT, "accessURL"), Object::Iri(url.clone()));
        g.add(&dist, p(DCAT, "downloadURL"), Object::Iri(url.clone()));
        g.a(&url, RDFS_RESOURCE.to_owned());
        let format_iri = format!("{EU}file-type/{eu}");
        g.add(&dist, p(DCT, "format"), Object::Iri(format_iri.clone()));
        g.a(&format_iri, p(DCT, "MediaTypeOrExtent"));
        let media_iri = format!("https://www.iana.org/assignments/media-types/{media}");
        g.add(&dist, p(DCAT, "mediaType"), Object::Iri(media_iri.clone()));
        g.a(&media_iri, p(DCT, "MediaType"));
        g.add(&dist, p(DCT, "license"), Object::Iri(license.clone()));
        g.add(&dist, p(DCT, "modified"), date_time(t.updated_at));
    }
    if !d.tables.is_empty() {
        g.a(&license, p(DCT, "LicenseDocument"));
    }
}

fn add_agent(g: &mut Graph, iris: &Iris, slug: &str, name: &str) {
    let agent = iris.org(slug);
    g.a(&agent, p(FOAF, "Agent"));
    g.add(&agent, p(FOAF, "name"), Object::Zh(name.to_owned()));
}

fn add_topics(g: &mut Graph, iris: &Iris, used: &[&str], city: &City) -> String {
    let scheme = format!("{}/topics", iris.base);
    g.a(&scheme, p(SKOS, "ConceptScheme"));
    g.add(&scheme, p(DCT, "title"), Object::Zh(format!("{}公共数据开放主题", city.name)));
    for (slug, title, _) in TOPICS.iter().filter(|(s, _, _)| used.contains(s)) {
        let c = iris.topic(slug);
        g.a(&c, p(SKOS, "Concept"));
        g.add(&c, p(SKOS, "prefLabel"), Object::Zh((*title).to_owned()));
        g.add(&c, p(SKOS, "inScheme"), Object::Iri(scheme.clone()));
    }
    scheme
}

/// The whole catalogue: every public dataset.
pub fn catalog(datasets: &[std::sync::Arc<Dataset>], base: &str, city: &City) -> Graph {
    let iris = Iris { base };
    let mut g = Graph::default();
    let cat = iris.catalog();
    g.a(&cat, p(DCAT, "Catalog"));
    g.add(&cat, p(DCT, "title"), Object::Zh(city.portal_title.clone()));
    g.add(
        &cat,
        p(DCT, "description"),
        Object::Zh(format!("{}各部门、各区县依法开放的公共数据目录，由 Tongshu 通数平台提供。", city.name)),
    );
    let publisher = iris.org(&city.bureau_slug);
    g.add(&cat, p(DCT, "publisher"), Object::Iri(publisher));
    let home = format!("{base}/");
    g.add(&cat, p(FOAF, "homepage"), Object::Iri(home.clone()));
    let zh = format!("{EU}language/ZHO");
    g.add(&cat, p(DCT, "language"), Object::Iri(zh.clone()));
    let scheme = format!("{base}/topics");
    g.add(&cat, p(DCAT, "themeTaxonomy"), Object::Iri(scheme));
    if let Some(latest) = datasets.iter().map(|d| d.entry.updated_at).max() {
        g.add(&cat, p(DCT, "modified"), date_time(latest));
    }
    for d in datasets {
        g.add(&cat, p(DCAT, "dataset"), Object::Iri(iris.dataset(d)));
    }
    g.a(&home, p(FOAF, "Document"));
    g.a(&zh, p(DCT, "LinguisticSystem"));
    add_agent(&mut g, &iris, &city.bureau_slug, &city.bureau);
    let mut used: Vec<&str> = datasets.iter().map(|d| d.topic.0).collect();
    used.sort();
    used.dedup();
    add_topics(&mut g, &iris, &used, city);
    let mut agents: Vec<(&str, &str)> =
        datasets.iter().map(|d| (d.org.slug.as_str(), d.org.name.as_str())).filter(|(s, _)| *s != "dsjj").collect();
    agents.sort();
    agents.dedup();
    for (slug, name) in agents {
        add_agent(&mut g, &iris, slug, name);
    }
    for d in datasets {
        add_dataset(&mut g, &iris, d);
    }
    g
}

/// One dataset with its publisher and theme.
pub fn dataset(d: &Dataset, base: &str, city: &City) -> Graph {
    let iris = Iris { base };
    let mut g = Graph::default();
    add_dataset(&mut g, &iris, d);
    add_agent(&mut g, &iris, &d.org.slug, &d.org.name);
    add_topics(&mut g, &iris, &[d.topic.0], city);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_iris_are_escaped() {
        assert_eq!(literal("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(iri("http://x/a b<c>"), "http://x/a%20b%3Cc%3E");
        assert_eq!(curie("http://www.w3.org/ns/dcat#Dataset"), "dcat:Dataset");
        let mut g = Graph::default();
        g.a("http://x/d", p(DCAT, "Dataset"));
        g.add("http://x/d", p(DCT, "title"), Object::Zh("人口".into()));
        g.add("http://x/d", p(DCAT, "keyword"), Object::Zh("一".into()));
        g.add("http://x/d", p(DCAT, "keyword"), Object::Zh("二".into()));
        assert!(g.to_turtle().contains("<http://x/d>\n    rdf:type dcat:Dataset ;\n    dct:title \"人口\"@zh ;"));
        let j = g.to_jsonld();
        assert_eq!(j["@graph"][0]["@type"], "dcat:Dataset");
        assert_eq!(j["@graph"][0]["dcat:keyword"].as_array().unwrap().len(), 2);
    }
}
