//! Browser tests: Playwright (Python) drives Debian's Chromium against the real server, as a
//! visitor would: search in Chinese, filter by a facet, open a dataset, see the preview,
//! download the rows. Screenshots go to `target/screenshots/` for people to look at.

use crate::ckan::{FIRMS, with_table};
use crate::support::spawn_app;

const SCRIPT: &str = r##"
import sys, os
from playwright.sync_api import sync_playwright, expect
site, name, shots = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(shots, exist_ok=True)
flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.goto(site + "/")
    # Search in Chinese from the home page's open-data box, with the keyboard.
    page.get_by_label("搜索开放数据").fill("企业")
    page.get_by_label("搜索开放数据").press("Enter")
    page.wait_for_url("**/datasets?q=*")
    expect(page.locator("mark").first).to_have_text("企业")
    total = int(page.locator("#total").inner_text())
    assert total > 0, total
    page.screenshot(path=f"{shots}/search.png")
    # Filter by a facet: only unconditionally open datasets.
    page.get_by_role("link", name="无条件开放").first.click()
    expect(page.locator("a[aria-current=true]")).to_have_count(1)
    narrowed = int(page.locator("#total").inner_text())
    assert 0 < narrowed <= total, (narrowed, total)
    # Open the dataset that has a table, see its preview and download its rows.
    page.goto(site + "/datasets/" + name)
    expect(page.locator("table.preview")).to_be_visible()
    expect(page.locator("table.preview tbody tr")).to_have_count(3)
    page.screenshot(path=f"{shots}/dataset.png", full_page=True)
    with page.expect_download() as d:
        page.get_by_role("link", name="CSV", exact=True).click()
    path = d.value.path()
    text = open(path, encoding="utf-8").read()
    assert text.startswith("统一社会信用代码,"), text[:80]
    assert text.count("\n") == 4, text
    browser.close()
print("ok")
"##;

#[tokio::test]
async fn a_visitor_searches_filters_opens_a_dataset_and_downloads_it_in_chromium() {
    let probe = std::process::Command::new("python3").args(["-c", "import playwright.sync_api"]).output();
    let ready = probe.is_ok_and(|o| o.status.success()) && std::path::Path::new("/usr/bin/chromium").exists();
    if !ready {
        assert!(std::env::var_os("CI").is_none(), "CI must have Playwright and Chromium (scripts/test installs them)");
        eprintln!("skipping: Playwright for Python or /usr/bin/chromium is missing");
        return;
    }
    let app = spawn_app().await;
    let (name, _) = with_table(&app, "open", "企业", FIRMS, "browser_firms").await;
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/screenshots");
    let site = format!("http://{}", app.addr);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(["-c", SCRIPT, &site, &name, shots]).output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "browser: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
