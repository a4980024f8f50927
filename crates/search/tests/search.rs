use tongshu_search::{SearchDoc, SearchIndex, SearchQuery, Sort};

fn doc(id: i64, title: &str, org: &str, district: &str, updated: i64, downloads: u64) -> SearchDoc {
    SearchDoc {
        id,
        title: title.into(),
        summary: format!("{org}提供的{title}，按月更新。"),
        keywords: vec![],
        items: vec!["统一社会信用代码".into(), "姓名".into()],
        organization: org.into(),
        facets: vec![("organization", org.into()), ("district", district.into()), ("format", "数据库".into())],
        updated,
        downloads,
        calls: 0,
    }
}

fn index() -> SearchIndex {
    let idx = SearchIndex::new().unwrap();
    idx.upsert([
        doc(1, "常住人口信息", "临沂市公安局", "兰山区", 100, 5),
        doc(2, "企业登记信息", "临沂市市场监督管理局", "罗庄区", 300, 50),
        doc(3, "人口出生统计", "临沂市卫生健康委员会", "兰山区", 200, 20),
        SearchDoc {
            keywords: vec!["GDP growth".into()],
            ..doc(4, "地区生产总值季度数据", "临沂市统计局", "河东区", 50, 1)
        },
    ])
    .unwrap();
    idx
}

fn ids(idx: &SearchIndex, q: SearchQuery) -> Vec<i64> {
    let mut ids: Vec<i64> = idx.search(&q).unwrap().hits.iter().map(|h| h.id).collect();
    if q.sort == Sort::Relevance {
        ids.sort();
    }
    ids
}

fn text(t: &str) -> SearchQuery {
    SearchQuery { text: t.into(), limit: 10, ..Default::default() }
}

#[test]
fn chinese_words_match_inside_longer_words_and_every_word_must_match() {
    let idx = index();
    assert_eq!(ids(&idx, text("人口")), [1, 3]);
    assert_eq!(ids(&idx, text("人口统计")), [3], "both words");
    assert_eq!(ids(&idx, text("公安局")), [1], "the provider's name is searched");
    assert_eq!(ids(&idx, text("统一社会信用代码")), [1, 2, 3, 4], "item names are searched");
    let r = idx.search(&text("人口")).unwrap();
    assert_eq!(r.total, 2);
    assert!(!r.relaxed);
    let first = r.hits.iter().find(|h| h.id == 1).unwrap();
    assert!(first.title_html.contains("<mark>人口</mark>"), "{}", first.title_html);
}

#[test]
fn typing_a_prefix_or_a_typo_still_finds_and_no_full_match_relaxes() {
    let idx = index();
    assert_eq!(ids(&idx, text("企")), [2], "a prefix of 企业");
    assert_eq!(ids(&idx, text("growht")), [4], "one transposed letter");
    let r = idx.search(&text("人口 火星")).unwrap();
    assert!(r.relaxed, "no entry has both words");
    assert_eq!(r.total, 2);
    let none = idx.search(&text("火星")).unwrap();
    assert_eq!((none.total, none.relaxed), (0, false));
}

#[test]
fn facets_count_the_matches_and_filters_narrow_them() {
    let idx = index();
    let r = idx
        .search(&SearchQuery { facets: vec!["district".into(), "organization".into()], limit: 10, ..text("") })
        .unwrap();
    assert_eq!(r.total, 4, "an empty query matches everything");
    assert_eq!(r.facets["district"][0], ("兰山区".to_string(), 2));
    assert_eq!(r.facets["organization"].len(), 4);
    let q = SearchQuery { filters: vec![("district".into(), "兰山区".into())], ..text("人口") };
    assert_eq!(ids(&idx, q), [1, 3]);
    let q = SearchQuery {
        filters: vec![("district".into(), "兰山区".into()), ("district".into(), "罗庄区".into())],
        ..text("信息")
    };
    assert_eq!(ids(&idx, q), [1, 2], "values of one dimension are alternatives");
    let q = SearchQuery {
        filters: vec![("district".into(), "兰山区".into()), ("organization".into(), "临沂市公安局".into())],
        ..text("")
    };
    assert_eq!(ids(&idx, q), [1], "dimensions all hold");
    assert!(idx.search(&SearchQuery { facets: vec!["colour".into()], ..text("") }).is_err());
}

#[test]
fn sorting_and_paging() {
    let idx = index();
    let by = |sort| ids(&idx, SearchQuery { sort, ..text("") });
    assert_eq!(by(Sort::Newest), [2, 3, 1, 4]);
    assert_eq!(by(Sort::Downloads), [2, 3, 1, 4]);
    let page = SearchQuery { sort: Sort::Newest, offset: 1, limit: 2, ..text("") };
    let r = idx.search(&page).unwrap();
    assert_eq!((r.total, r.hits.iter().map(|h| h.id).collect::<Vec<_>>()), (4, vec![3, 1]));
}

#[test]
fn changes_are_searchable_at_once() {
    let idx = index();
    idx.upsert([doc(1, "户籍人口信息", "临沂市公安局", "兰山区", 400, 5)]).unwrap();
    assert_eq!(idx.len(), 4, "replaced, not added");
    assert_eq!(ids(&idx, text("户籍")), [1]);
    assert_eq!(ids(&idx, text("常住")), Vec::<i64>::new());
    idx.remove(&[1, 99]).unwrap();
    assert_eq!(ids(&idx, text("人口")), [3]);
    let escaped = SearchIndex::new().unwrap();
    escaped.upsert([doc(7, "<b>人口</b>", "x", "y", 0, 0)]).unwrap();
    let h = &escaped.search(&text("人口")).unwrap().hits[0];
    assert!(!h.title_html.contains("<b>"), "titles are escaped: {}", h.title_html);
}
