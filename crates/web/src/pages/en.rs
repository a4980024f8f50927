//! English for the pages: Chinese wording → English, looked up by the templates' `t()`
//! function when the visitor chose English (the `tongshu_lang` cookie, set by `/lang`).
//! Wording without an entry stays Chinese, so a missing entry never breaks a page.

/// The English of `zh`, if there is one.
pub fn english(zh: &str) -> Option<&'static str> {
    EN.binary_search_by(|(k, _)| (*k).cmp(zh)).ok().map(|i| EN[i].1)
}

/// Sorted by the Chinese (checked by a test).
static EN: &[(&str, &str)] = &[
    ("API 调用示例", "API examples"),
    ("CKAN 兼容接口（datastore_search）：", "CKAN-compatible API (datastore_search):"),
    ("DCAT-AP 描述（Turtle）", "DCAT-AP description (Turtle)"),
    ("Python（ckanapi）：", "Python (ckanapi):"),
    ("下载", "Download"),
    ("下载与接口", "Downloads and API"),
    ("个数据集", "datasets"),
    ("临沂市大数据局 · 通数公共数据平台", "Linyi Big Data Bureau · Tongshu public data platform"),
    ("临沂市政务信息资源目录、共享与开放平台", "Linyi's government data catalog, sharing and open data platform"),
    ("主导航", "Main navigation"),
    ("主题", "Topic"),
    ("举报与纠错", "Report an error"),
    ("元数据", "Metadata"),
    ("元数据接口", "Metadata API"),
    ("共", "Total"),
    ("区县", "District"),
    ("发布时间", "Published"),
    ("应用成果", "Showcase"),
    ("开放属性", "Openness"),
    ("开放数据", "Open data"),
    ("开放统计", "Statistics"),
    ("我的互动", "My posts"),
    ("排序", "Sort"),
    ("搜索", "Search"),
    ("搜索开放数据", "Search open data"),
    ("数据提供方", "Publisher"),
    ("数据需求", "Data requests"),
    ("数据项", "Fields"),
    ("数据预览", "Preview"),
    ("整表下载：", "Whole table:"),
    ("更新周期", "Update frequency"),
    ("最近更新", "Last updated"),
    ("条记录", "records"),
    (
        "没有找到相关数据集。试试更短的关键词，或清除筛选。",
        "No datasets found. Try shorter words, or clear the filters.",
    ),
    ("注册", "Register"),
    ("清除全部筛选", "Clear all filters"),
    ("版本记录", "Versions"),
    ("登录", "Sign in"),
    ("相关数据集", "Related datasets"),
    ("统计", "Statistics"),
    ("许可协议", "Licence"),
    ("评价", "Ratings"),
    ("质量评分", "Quality score"),
    ("资源代码", "Resource code"),
    ("资源格式", "Format"),
    ("资源目录", "Catalog"),
    ("跳到正文", "Skip to content"),
    ("退出", "Sign out"),
    ("首页", "Home"),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_is_sorted_and_lookups_find_entries() {
        assert!(super::EN.windows(2).all(|w| w[0].0 < w[1].0), "EN must be sorted by its Chinese");
        assert_eq!(super::english("开放数据"), Some("Open data"));
        assert_eq!(super::english("没有的词"), None);
    }
}
