//! Full-text search over the public catalog: tantivy with jieba Chinese word segmentation.
//!
//! The index lives in memory and is rebuilt from the metadata store at start (10,000 entries
//! take well under a second); the portal keeps it current as entries are listed, changed or
//! delisted. Documents are plain [`SearchDoc`]s, so this crate knows nothing of the catalog.
//!
//! Query semantics, chosen to feel like a portal's search box:
//! - the query text is cut into words the way jieba reads it; every word must match some
//!   field (title, keywords, summary, items, organization), titles weighing most;
//! - the index holds jieba's search-mode words (sub-words too), so `人口` finds `常住人口信息`;
//! - the last word also matches as a prefix (results while typing), and Latin words of four
//!   letters or more match with one typo;
//! - when no entry has every word, entries with any of them are returned instead
//!   ([`SearchResults::relaxed`]) rather than nothing;
//! - a word (or run of words) that is a synonym term also matches the terms it stands for
//!   (`社保` → `社会保险`), and a Latin word that spells Chinese words of titles or keywords
//!   in pinyin (`shebao`, initials `sb`, a prefix while typing) matches those words
//!   ([`expand`]); both at query time, so a new synonym needs no reindexing.

mod expand;

use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};

use expand::Expansions;
pub use expand::SynonymRule;

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{LowerCaser, TextAnalyzer, TokenStream};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

/// The facet dimensions every document may carry.
pub const FACETS: [&str; 7] = ["organization", "district", "topic", "format", "open", "cycle", "tags"];

/// The tokenizer name the text fields use.
const JIEBA: &str = "jieba";

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("unknown facet {0:?} (known: organization, district, topic, format, open, cycle, tags)")]
    UnknownFacet(String),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// One searchable entry.
#[derive(Debug, Clone, Default)]
pub struct SearchDoc {
    pub id: i64,
    pub title: String,
    pub summary: String,
    pub keywords: Vec<String>,
    /// Names of the entry's items (columns).
    pub items: Vec<String>,
    /// The provider's name, searchable.
    pub organization: String,
    /// Facet values: (dimension from [`FACETS`], value). A dimension may repeat (tags).
    pub facets: Vec<(&'static str, String)>,
    /// Last change, seconds since the epoch (for "newest").
    pub updated: i64,
    pub downloads: u64,
    pub calls: u64,
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    Newest,
    Downloads,
    Calls,
}

/// One search.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    /// (dimension, value) filters: values of one dimension are alternatives, dimensions
    /// must all hold.
    pub filters: Vec<(String, String)>,
    /// Dimensions to count values of among the matches.
    pub facets: Vec<String>,
    pub sort: Sort,
    pub offset: usize,
    pub limit: usize,
}

/// One matching entry, with its title and summary highlighted (HTML, escaped, matches in
/// `<mark>`).
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
    pub title_html: String,
    pub summary_html: String,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Per requested dimension, values and how many matches have each, most first.
    pub facets: BTreeMap<String, Vec<(String, u64)>>,
    /// No entry had every word; these have some of them.
    pub relaxed: bool,
}

struct Fields {
    id: Field,
    title: Field,
    summary: Field,
    keywords: Field,
    items: Field,
    organization: Field,
    facets: [Field; FACETS.len()],
    updated: Field,
    downloads: Field,
    calls: Field,
}

/// The search index.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    /// jieba's precise cut, for query text.
    query_words: TextAnalyzer,
    /// jieba's search-mode cut (as documents are indexed), for the parts of query words.
    sub_words: TextAnalyzer,
    /// Synonyms and the pinyin vocabulary.
    expansions: RwLock<Expansions>,
}

/// One unit of a query: a word or a run of words that is a synonym term, with the
/// alternatives it may match. Each alternative is words (with their parts) that must all
/// match; the first is what was typed.
struct Unit {
    alternatives: Vec<Vec<(String, Vec<String>)>>,
}

/// How much an alternative that was not typed weighs against one that was.
const EXPANSION_BOOST: f32 = 0.8;
/// At most this many alternatives per query unit.
const MAX_ALTERNATIVES: usize = 12;

fn analyzer(search_mode: bool) -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::with_search_mode(search_mode)).filter(LowerCaser).build()
}

impl SearchIndex {
    /// An empty index in memory.
    pub fn new() -> Result<Self> {
        let mut b = Schema::builder();
        let text = |stored: bool| {
            let o = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(JIEBA)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            );
            if stored { o.set_stored() } else { o }
        };
        let f = Fields {
            id: b.add_i64_field("id", INDEXED | STORED | FAST),
            title: b.add_text_field("title", text(true)),
            summary: b.add_text_field("summary", text(true)),
            keywords: b.add_text_field("keywords", text(false)),
            items: b.add_text_field("items", text(false)),
            organization: b.add_text_field("organization", text(false)),
            facets: FACETS.map(|d| b.add_facet_field(&facet_field(d), FacetOptions::default())),
            updated: b.add_i64_field("updated", FAST),
            downloads: b.add_u64_field("downloads", FAST),
            calls: b.add_u64_field("calls", FAST),
        };
        let index = Index::create_in_ram(b.build());
        index.tokenizers().register(JIEBA, analyzer(true));
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = index.writer_with_num_threads(1, 30_000_000)?;
        Ok(Self {
            reader,
            writer: Mutex::new(writer),
            f,
            query_words: analyzer(false),
            sub_words: analyzer(true),
            expansions: RwLock::default(),
        })
    }

    /// Replaces the synonym rules; the next search applies them.
    pub fn set_synonyms(&self, rules: &[SynonymRule]) {
        self.expansions.write().unwrap_or_else(|e| e.into_inner()).set_synonyms(rules);
    }

    /// Adds or replaces documents (by id); they are searchable when this returns.
    pub fn upsert(&self, docs: impl IntoIterator<Item = SearchDoc>) -> Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut vocab: Vec<String> = Vec::new();
        for d in docs {
            for text in std::iter::once(&d.title).chain(&d.keywords) {
                vocab.extend(self.cut(&self.sub_words, text));
            }
            w.delete_term(Term::from_field_i64(self.f.id, d.id));
            let mut doc = TantivyDocument::default();
            doc.add_i64(self.f.id, d.id);
            doc.add_text(self.f.title, &d.title);
            doc.add_text(self.f.summary, &d.summary);
            for k in &d.keywords {
                doc.add_text(self.f.keywords, k);
            }
            for i in &d.items {
                doc.add_text(self.f.items, i);
            }
            doc.add_text(self.f.organization, &d.organization);
            for (dim, value) in &d.facets {
                let i = facet_index(dim)?;
                doc.add_facet(self.f.facets[i], Facet::from_path([value.as_str()]));
            }
            doc.add_i64(self.f.updated, d.updated);
            doc.add_u64(self.f.downloads, d.downloads);
            doc.add_u64(self.f.calls, d.calls);
            w.add_document(doc)?;
        }
        w.commit()?;
        self.reader.reload()?;
        self.expansions.write().unwrap_or_else(|e| e.into_inner()).index_words(vocab.iter().map(String::as_str));
        Ok(())
    }

    /// Removes documents by id (absent ids are fine).
    pub fn remove(&self, ids: &[i64]) -> Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            w.delete_term(Term::from_field_i64(self.f.id, *id));
        }
        w.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// How many documents the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The words of `text` as queries cut them, each with the shorter words jieba finds in
    /// it (`人口统计` → `人口`, `统计`), which documents may hold instead.
    pub fn words(&self, text: &str) -> Vec<(String, Vec<String>)> {
        self.cut(&self.query_words, text)
            .into_iter()
            .map(|w| {
                let parts = self.cut(&self.sub_words, &w).into_iter().filter(|p| *p != w).collect();
                (w, parts)
            })
            .collect()
    }

    /// The distinct words of `text` as `a` cuts them (lower case, without punctuation).
    fn cut(&self, a: &TextAnalyzer, text: &str) -> Vec<String> {
        let mut a = a.clone();
        let mut stream = a.token_stream(text);
        let mut out: Vec<String> = Vec::new();
        while let Some(t) = stream.next() {
            let w = t.text.trim();
            if !w.is_empty() && w.chars().any(char::is_alphanumeric) && !out.iter().any(|o| o == w) {
                out.push(w.to_owned());
            }
        }
        out
    }

    /// The query's units: its words, where a run of words that is a synonym term counts as
    /// one, each with what it also matches (synonyms; for a pinyin spelling, the words it
    /// spells and their synonyms).
    fn units(&self, text: &str) -> Vec<Unit> {
        let words = self.words(text);
        let ex = self.expansions.read().unwrap_or_else(|e| e.into_inner());
        let longest = ex.longest_term();
        let mut units = Vec::new();
        let mut i = 0;
        while i < words.len() {
            // The longest run of words from here that is a synonym term.
            let mut run = None;
            if longest > 0 {
                let mut joined = String::new();
                for (j, (w, _)) in words.iter().enumerate().skip(i) {
                    joined.push_str(w);
                    if joined.chars().count() > longest {
                        break;
                    }
                    if !ex.synonyms_of(&joined).is_empty() {
                        run = Some((j + 1, joined.clone()));
                    }
                }
            }
            let (end, term) = run.unwrap_or_else(|| (i + 1, words[i].0.clone()));
            let last = end == words.len();
            let mut alternatives = vec![words[i..end].to_vec()];
            let mut also: Vec<String> = ex.synonyms_of(&term).to_vec();
            if end == i + 1 {
                for w in ex.pinyin_words(&term, last) {
                    also.push(w.clone());
                    also.extend(ex.synonyms_of(&w).iter().cloned());
                }
            }
            let mut more: Vec<Vec<(String, Vec<String>)>> = also.iter().map(|t| self.words(t)).collect();
            // A word that is no term but has parts that are (`结婚登记`: `结婚` + `登记`): the
            // parts with each such part replaced by what it stands for.
            if end == i + 1 && ex.synonyms_of(&term).is_empty() {
                let parts = &words[i].1;
                for (k, p) in parts.iter().enumerate() {
                    for s in ex.synonyms_of(p) {
                        let mut alt: Vec<(String, Vec<String>)> = Vec::new();
                        for (j, q) in parts.iter().enumerate() {
                            if j == k {
                                alt.extend(self.words(s));
                            } else {
                                alt.push((q.clone(), Vec::new()));
                            }
                        }
                        more.push(alt);
                    }
                }
            }
            for alt in more {
                if !alt.is_empty() && !alternatives.contains(&alt) && alternatives.len() < MAX_ALTERNATIVES {
                    alternatives.push(alt);
                }
            }
            units.push(Unit { alternatives });
            i = end;
        }
        units
    }

    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let units = self.units(&q.text);
        let filter = self.filter(&q.filters)?;
        let mut relaxed = false;
        let mut query = self.text_query(&units, Occur::Must, filter.as_ref().map(|f| f.box_clone()));
        let searcher = self.reader.searcher();
        let mut total = searcher.search(&*query, &Count)?;
        if total == 0 && units.len() > 1 {
            query = self.text_query(&units, Occur::Should, filter);
            total = searcher.search(&*query, &Count)?;
            relaxed = total > 0;
        }
        let addresses: Vec<(f32, DocAddress)> = if q.limit == 0 {
            Vec::new()
        } else {
            let top = TopDocs::with_limit(q.limit).and_offset(q.offset);
            match q.sort {
                Sort::Relevance => searcher.search(&*query, &top.order_by_score())?,
                Sort::Newest => searcher
                    .search(&*query, &top.order_by_fast_field::<i64>("updated", Order::Desc))?
                    .into_iter()
                    .map(|(_, a)| (0.0, a))
                    .collect(),
                Sort::Downloads | Sort::Calls => {
                    let field = if q.sort == Sort::Downloads { "downloads" } else { "calls" };
                    searcher
                        .search(&*query, &top.order_by_fast_field::<u64>(field, Order::Desc))?
                        .into_iter()
                        .map(|(_, a)| (0.0, a))
                        .collect()
                }
            }
        };
        let snippets = |field: Field, max: usize| -> Result<SnippetGenerator> {
            let mut g = SnippetGenerator::create(&searcher, &*query, field)?;
            g.set_max_num_chars(max);
            Ok(g)
        };
        let (title_gen, summary_gen) = (snippets(self.f.title, 200)?, snippets(self.f.summary, 160)?);
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, addr) in addresses {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let id = doc.get_first(self.f.id).and_then(|v| v.as_i64()).unwrap_or_default();
            let text_of = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let highlighted = |g: &SnippetGenerator, field: Field| {
                let mut s = g.snippet_from_doc(&doc);
                s.set_snippet_prefix_postfix("<mark>", "</mark>");
                if s.is_empty() { escape(&text_of(field)) } else { s.to_html() }
            };
            let title_html = highlighted(&title_gen, self.f.title);
            let summary_html = highlighted(&summary_gen, self.f.summary);
            hits.push(Hit { id, score, title_html, summary_html });
        }
        let mut facets = BTreeMap::new();
        for dim in &q.facets {
            let i = facet_index(dim)?;
            let mut c = FacetCollector::for_field(facet_field(FACETS[i]));
            c.add_facet(Facet::root());
            let counts = searcher.search(&*query, &c)?;
            let mut values: Vec<(String, u64)> = counts
                .get(Facet::root())
                .map(|(facet, n)| (facet.to_path().last().map(|s| s.to_string()).unwrap_or_default(), n))
                .collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            facets.insert(dim.clone(), values);
        }
        Ok(SearchResults { total, hits, facets, relaxed })
    }

    /// The filters as one query: alternatives within a dimension, all dimensions required.
    fn filter(&self, filters: &[(String, String)]) -> Result<Option<Box<dyn Query>>> {
        let mut by_dim: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (dim, value) in filters {
            by_dim.entry(facet_index(dim)?).or_default().push(value);
        }
        if by_dim.is_empty() {
            return Ok(None);
        }
        let clauses = by_dim
            .into_iter()
            .map(|(i, values)| {
                let alternatives: Vec<(Occur, Box<dyn Query>)> = values
                    .into_iter()
                    .map(|v| {
                        let term = Term::from_facet(self.f.facets[i], &Facet::from_path([v]));
                        (Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>)
                    })
                    .collect();
                (Occur::Must, Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>)
            })
            .collect();
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }

    /// Each unit must (or should) match through one of its alternatives; in an
    /// alternative, each word must match some text field, or all its parts must. The last
    /// word typed also matches as a prefix, and Latin words with one typo. No units: every
    /// document.
    fn text_query(&self, units: &[Unit], each: Occur, filter: Option<Box<dyn Query>>) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (n, unit) in units.iter().enumerate() {
            let last_unit = n + 1 == units.len();
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (a, words) in unit.alternatives.iter().enumerate() {
                let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for (k, (w, parts)) in words.iter().enumerate() {
                    let prefix = a == 0 && last_unit && k + 1 == words.len();
                    let mut either = vec![(Occur::Should, self.word_query(w, prefix))];
                    if !parts.is_empty() {
                        let each_part: Vec<(Occur, Box<dyn Query>)> =
                            parts.iter().map(|p| (Occur::Must, self.word_query(p, false))).collect();
                        either.push((Occur::Should, Box::new(BooleanQuery::new(each_part))));
                    }
                    all.push((Occur::Must, Box::new(BooleanQuery::new(either))));
                }
                let q: Box<dyn Query> = Box::new(BooleanQuery::new(all));
                let q: Box<dyn Query> = if a == 0 { q } else { Box::new(BoostQuery::new(q, EXPANSION_BOOST)) };
                alternatives.push((Occur::Should, q));
            }
            clauses.push((each, Box::new(BooleanQuery::new(alternatives))));
        }
        let words: Box<dyn Query> =
            if clauses.is_empty() { Box::new(tantivy::query::AllQuery) } else { Box::new(BooleanQuery::new(clauses)) };
        match filter {
            None => words,
            Some(f) => Box::new(BooleanQuery::new(vec![(Occur::Must, words), (Occur::Must, f)])),
        }
    }

    /// One word in any text field (titles weighing most), as a prefix too when `prefix`,
    /// with one typo when it is a Latin word of four letters or more.
    fn word_query(&self, w: &str, prefix: bool) -> Box<dyn Query> {
        let fields = [
            (self.f.title, 3.0),
            (self.f.keywords, 2.0),
            (self.f.summary, 1.0),
            (self.f.items, 1.0),
            (self.f.organization, 1.0),
        ];
        let latin = w.is_ascii() && w.chars().count() >= 4;
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in fields {
            let term = Term::from_field_text(field, w);
            let exact = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
            alternatives.push((Occur::Should, Box::new(BoostQuery::new(Box::new(exact), boost))));
            if prefix {
                alternatives.push((Occur::Should, Box::new(FuzzyTermQuery::new_prefix(term.clone(), 0, true))));
            }
            if latin {
                alternatives.push((Occur::Should, Box::new(FuzzyTermQuery::new(term, 1, true))));
            }
        }
        Box::new(BooleanQuery::new(alternatives))
    }
}

/// The index field of a facet dimension.
fn facet_field(dim: &str) -> String {
    format!("facet_{dim}")
}

fn facet_index(dim: &str) -> Result<usize> {
    FACETS.iter().position(|d| *d == dim).ok_or_else(|| SearchError::UnknownFacet(dim.to_owned()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
