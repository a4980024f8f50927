//! What a query word may also mean: the synonyms administrators keep, and the Chinese words
//! of the index that a pinyin spelling (full, `shebao`, or initials, `sb`) stands for.
//!
//! Both apply at query time. Synonyms are replaced as a whole ([`Expansions::set_synonyms`]),
//! so a new one takes effect at the next search, without reindexing; the pinyin vocabulary
//! grows as documents are indexed (a word that leaves the index only costs a term that
//! matches nothing).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pinyin::ToPinyinMulti;

/// One synonym rule. Without targets, every term finds the others (`社保, 社会保险`); with
/// targets, each term also finds the targets but not the other way round
/// (`离婚, 结婚 => 婚姻登记`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SynonymRule {
    pub terms: Vec<String>,
    pub targets: Vec<String>,
}

/// At most this many pinyin readings of one word are indexed (heteronyms multiply).
const MAX_READINGS: usize = 8;
/// At most this many words a pinyin prefix stands for.
const MAX_PREFIX_WORDS: usize = 6;

/// Chinese words by their pinyin.
#[derive(Default)]
struct Vocab {
    /// Full pinyin without separators (`shehuibaoxian`) → words.
    full: BTreeMap<String, BTreeSet<String>>,
    /// Initials (`shbx`) → words.
    initials: HashMap<String, BTreeSet<String>>,
}

impl Vocab {
    fn add(&mut self, word: &str) {
        let n = word.chars().count();
        if !(2..=12).contains(&n) || !word.chars().all(is_han) {
            return;
        }
        for (full, initials) in readings(word) {
            self.full.entry(full).or_default().insert(word.to_owned());
            self.initials.entry(initials).or_default().insert(word.to_owned());
        }
    }

    /// The words `spelling` is the full pinyin or the initials of, and (`prefix`) the words
    /// whose full pinyin starts with it.
    fn lookup(&self, spelling: &str, prefix: bool, out: &mut BTreeSet<String>) {
        if let Some(w) = self.full.get(spelling) {
            out.extend(w.iter().cloned());
        }
        if let Some(w) = self.initials.get(spelling) {
            out.extend(w.iter().cloned());
        }
        if prefix && spelling.len() >= 3 {
            let mut n = 0;
            for (key, words) in self.full.range(spelling.to_owned()..) {
                if !key.starts_with(spelling) || n >= MAX_PREFIX_WORDS {
                    break;
                }
                for w in words {
                    if out.insert(w.clone()) {
                        n += 1;
                    }
                }
            }
        }
    }
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// The readings of a word: (full pinyin, initials) pairs, heteronyms included up to
/// [`MAX_READINGS`] (the common reading first).
fn readings(word: &str) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), String::new())];
    for multi in word.to_pinyin_multi() {
        let Some(multi) = multi else { return Vec::new() };
        // Distinct readings, `ü` typed as `v` (as input methods do) or as `u`.
        let mut options: Vec<String> = Vec::new();
        for p in multi.into_iter().map(|p| p.plain()) {
            for o in [p.replace('ü', "v"), p.replace('ü', "u")] {
                if !options.contains(&o) && options.len() < 3 {
                    options.push(o);
                }
            }
        }
        let mut next = Vec::new();
        for (full, initials) in &out {
            for o in &options {
                if next.len() >= MAX_READINGS {
                    break;
                }
                let first = o.chars().next().unwrap_or_default();
                next.push((format!("{full}{o}"), format!("{initials}{first}")));
            }
        }
        out = next;
    }
    out.dedup();
    out
}

/// Whether a query word may be a pinyin spelling.
pub(crate) fn may_be_pinyin(word: &str) -> bool {
    word.len() >= 2 && word.len() <= 40 && word.bytes().all(|b| b.is_ascii_lowercase())
}

/// The synonyms and the pinyin vocabulary of an index.
#[derive(Default)]
pub(crate) struct Expansions {
    /// Term (lower case) → the terms it also finds.
    synonyms: HashMap<String, Vec<String>>,
    /// The longest term, in characters.
    longest: usize,
    /// Words of indexed titles and keywords.
    indexed: Vocab,
    /// The synonym terms (rebuilt with them).
    terms: Vocab,
}

impl Expansions {
    pub(crate) fn set_synonyms(&mut self, rules: &[SynonymRule]) {
        let mut synonyms: HashMap<String, Vec<String>> = HashMap::new();
        let mut terms = Vocab::default();
        let norm = |t: &String| t.trim().to_lowercase();
        for r in rules {
            let from: Vec<String> = r.terms.iter().map(norm).filter(|t| !t.is_empty()).collect();
            let to: Vec<String> = if r.targets.is_empty() {
                from.clone()
            } else {
                r.targets.iter().map(norm).filter(|t| !t.is_empty()).collect()
            };
            for t in from.iter().chain(&to) {
                terms.add(t);
            }
            for f in &from {
                let e = synonyms.entry(f.clone()).or_default();
                for t in &to {
                    if t != f && !e.contains(t) {
                        e.push(t.clone());
                    }
                }
            }
        }
        synonyms.retain(|_, v| !v.is_empty());
        self.longest = synonyms.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        self.synonyms = synonyms;
        self.terms = terms;
    }

    pub(crate) fn index_words<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        for w in words {
            self.indexed.add(w);
        }
    }

    /// What `term` (lower case) also finds.
    pub(crate) fn synonyms_of(&self, term: &str) -> &[String] {
        self.synonyms.get(term).map(Vec::as_slice).unwrap_or_default()
    }

    /// The longest synonym term in characters (0: none).
    pub(crate) fn longest_term(&self) -> usize {
        self.longest
    }

    /// The Chinese words a pinyin spelling stands for (at most a handful, known words
    /// first), none when it is not a spelling of any.
    pub(crate) fn pinyin_words(&self, spelling: &str, prefix: bool) -> Vec<String> {
        if !may_be_pinyin(spelling) {
            return Vec::new();
        }
        let mut found = BTreeSet::new();
        self.terms.lookup(spelling, prefix, &mut found);
        self.indexed.lookup(spelling, prefix, &mut found);
        found.into_iter().take(12).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_give_full_pinyin_and_initials_with_heteronyms() {
        let r = readings("社保");
        assert_eq!(r[0], ("shebao".to_owned(), "sb".to_owned()));
        assert!(readings("银行").iter().any(|(f, _)| f == "yinhang"), "{:?}", readings("银行"));
        assert!(readings("abc").is_empty());
        let travel = readings("旅行社");
        assert!(
            travel.iter().any(|(f, _)| f == "lvxingshe") && travel.iter().any(|(f, _)| f == "luxingshe"),
            "{travel:?}"
        );
    }

    #[test]
    fn spellings_find_words_and_synonyms_are_directed() {
        let mut e = Expansions::default();
        e.index_words(["社会保险", "婚姻", "登记"]);
        e.set_synonyms(&[
            SynonymRule { terms: vec!["社保".into(), "社会保险".into()], targets: vec![] },
            SynonymRule { terms: vec!["离婚".into()], targets: vec!["婚姻登记".into()] },
        ]);
        assert_eq!(e.pinyin_words("shebao", false), ["社保"]);
        assert!(e.pinyin_words("sb", false).contains(&"社保".to_owned()));
        assert!(e.pinyin_words("shehuib", true).contains(&"社会保险".to_owned()));
        assert!(e.pinyin_words("shehuib", false).is_empty());
        assert_eq!(e.synonyms_of("社保"), ["社会保险"]);
        assert_eq!(e.synonyms_of("社会保险"), ["社保"]);
        assert_eq!(e.synonyms_of("离婚"), ["婚姻登记"]);
        assert!(e.synonyms_of("婚姻登记").is_empty(), "one way");
        assert_eq!(e.longest_term(), 4);
        e.set_synonyms(&[]);
        assert!(e.synonyms_of("社保").is_empty(), "replaced as a whole");
    }
}
