//! Browser tests: Playwright (Python) drives Debian's Chromium against the real server, as a
//! visitor would: search in Chinese, filter by a facet, open a dataset, see the preview,
//! download the rows; register, create an app, call the API with its key, post a data
//! request and a rating. Screenshots go to `target/screenshots/` for people to look at.

use crate::ckan::{FIRMS, with_table};
use crate::support::spawn_app;

const SCRIPT: &str = r##"
import sys, os
from playwright.sync_api import sync_playwright, expect
site, name, shots = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(shots, exist_ok=True)
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

const MEMBER: &str = r##"
import sys, os, json, urllib.request
from playwright.sync_api import sync_playwright, expect
site, name, table, shots = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site + "/")
    page.get_by_role("link", name="注册").click()
    page.get_by_label("用户名").fill("browser.dev")
    page.get_by_label("昵称或单位名称").fill("浏览器开发者")
    page.get_by_label("密码", exact=True).fill("Browser2026")
    page.get_by_label("确认密码").fill("Browser2026")
    page.screenshot(path=f"{shots}/register.png")
    page.get_by_role("button", name="注册并登录").click()
    expect(page.get_by_text("注册成功")).to_be_visible()
    # Developer centre: create an app, get its key, call the row API with it.
    page.get_by_label("应用名称").fill("企业查询小程序")
    page.get_by_label("应用简介（可选）").fill("按名称查询企业")
    page.get_by_role("button", name="创建应用并获取密钥").click()
    key = page.locator("#new-key").inner_text().strip()
    assert key.startswith("tsk_"), key
    page.screenshot(path=f"{shots}/developer.png", full_page=True)
    req = urllib.request.Request(f"{site}/api/v1/open/tables/{table}/rows?limit=2", headers={"Authorization": "Bearer " + key})
    body = json.load(urllib.request.urlopen(req))
    assert len(body["rows"]) == 2 and body["total"] == 3, body
    page.reload()
    expect(page.locator("tbody tr").first.locator("td").nth(4)).to_have_text("1")
    # A data request, then a rating of the dataset.
    page.get_by_role("link", name="数据需求").click()
    page.get_by_label("需求名称").fill("开放公交实时到站数据")
    page.get_by_label("数据提供部门（可选）").select_option(index=1)
    page.get_by_label("需求说明（用途、字段、更新频率）").fill("用于开发到站提醒应用，希望每分钟更新。")
    page.get_by_role("button", name="提交需求").click()
    expect(page.get_by_text("需求已提交")).to_be_visible()
    page.screenshot(path=f"{shots}/requests.png", full_page=True)
    page.goto(site + "/datasets/" + name)
    page.get_by_label("评分").select_option("4")
    page.get_by_label("评价内容").fill("字段齐全，更新及时。")
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_text("评价已提交")).to_be_visible()
    page.get_by_role("link", name="我的互动").click()
    expect(page.locator("table")).to_contain_text("开放公交实时到站数据")
    expect(page.locator("table")).to_contain_text("字段齐全")
    page.screenshot(path=f"{shots}/inbox.png", full_page=True)
    page.goto(site + "/stats")
    expect(page.locator("svg.chart").first).to_be_visible()
    page.screenshot(path=f"{shots}/stats.png", full_page=True)
    browser.close()
print("ok")
"##;

/// Whether Playwright and Chromium are here (they must be under CI).
fn browser_ready() -> bool {
    let probe = std::process::Command::new("python3").args(["-c", "import playwright.sync_api"]).output();
    let ready = probe.is_ok_and(|o| o.status.success()) && std::path::Path::new("/usr/bin/chromium").exists();
    if !ready {
        assert!(std::env::var_os("CI").is_none(), "CI must have Playwright and Chromium (scripts/test installs them)");
        eprintln!("skipping: Playwright for Python or /usr/bin/chromium is missing");
    }
    ready
}

/// What every script may use: Chromium's flags, and `sign_in` (a page signed in to `site`).
const PRELUDE: &str = r##"
flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
def sign_in(browser, user, password):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    return page
"##;

async fn run_script(script: &'static str, args: Vec<String>) {
    // The prelude goes after the script's imports and arguments (`site, … = sys.argv…`).
    let mut lines: Vec<&str> = script.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("site,")).map_or(0, |i| i + 1);
    lines.insert(at, PRELUDE);
    let script = lines.join("\n");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").arg("-c").arg(&script).args(&args).output().unwrap()
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

const SHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/screenshots");

#[tokio::test]
async fn a_member_registers_gets_a_key_calls_the_api_and_posts_a_request_in_chromium() {
    if !browser_ready() {
        return;
    }
    let app = spawn_app().await;
    let (name, table) = with_table(&app, "open", "企业", FIRMS, "browser_member").await;
    run_script(MEMBER, vec![format!("http://{}", app.addr), name, table, SHOTS.into()]).await;
}

#[tokio::test]
async fn a_visitor_searches_filters_opens_a_dataset_and_downloads_it_in_chromium() {
    if !browser_ready() {
        return;
    }
    let app = spawn_app().await;
    let (name, _) = with_table(&app, "open", "企业", FIRMS, "browser_firms").await;
    run_script(SCRIPT, vec![format!("http://{}", app.addr), name, SHOTS.into()]).await;
}

const SHARING: &str = r##"
import sys, os
from playwright.sync_api import sync_playwright, expect
site, entry, table, shots = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
    # The insurance bureau finds the entry in the sharing catalog and applies.
    ybj = sign_in(browser, "consumer.ybj", "Consumer@2026")
    ybj.get_by_role("link", name="数据共享").click()
    expect(ybj.get_by_role("heading", name="共享目录")).to_be_visible()
    ybj.goto(site + "/sharing/apply/" + entry)
    ybj.get_by_label("用途").fill("参保人员身份核验")
    ybj.get_by_label("法律法规或政策依据（必填）").fill("《社会保险法》")
    for item in ["姓名", "公民身份号码", "联系电话"]:
        ybj.get_by_label(item, exact=True).check()
    ybj.get_by_role("button", name="提交申请").click()
    ybj.wait_for_url("**/sharing/requests")
    expect(ybj.get_by_text("审核中")).to_be_visible()
    ybj.screenshot(path=f"{shots}/sharing-requests.png", full_page=True)
    # The public security bureau's officer approves without the mobile number.
    gaj = sign_in(browser, "officer.gaj", "Officer@2026")
    gaj.goto(site + "/sharing/requests")
    card = gaj.locator("article").filter(has_text="参保人员身份核验")
    card.get_by_label("联系电话", exact=True).uncheck()
    card.get_by_role("button", name="同意", exact=True).click()
    gaj.wait_for_url("**/sharing/requests")
    expect(gaj.get_by_text("没有待审核的申请。")).to_be_visible()
    # The consumer sees the grant and calls the interface from its page.
    ybj.goto(site + "/sharing/grants")
    expect(ybj.get_by_text("有效", exact=True)).to_be_visible()
    ybj.get_by_role("link", name=table).click()
    expect(ybj.locator("table")).to_contain_text("keep:6:4")
    ybj.get_by_role("button", name="调用").click()
    out = ybj.locator("#console-out")
    expect(out).to_contain_text("200")
    text = out.inner_text()
    assert "********" in text and "13812345678" not in text and "联系电话" not in text, text
    ybj.screenshot(path=f"{shots}/sharing-interface.png", full_page=True)
    # A wrong address: the consumer objects from the interface's page ...
    ybj.get_by_text("提出数据异议").click()
    ybj.get_by_label("哪条记录（如 公民身份号码=…）").fill("公民身份号码=371302198502021234")
    ybj.get_by_label("信息项").select_option("姓名")
    ybj.get_by_label("应为").fill("李四")
    ybj.get_by_label("依据（证明材料、登记信息等）").fill("户籍登记簿")
    ybj.get_by_role("button", name="提交异议").click()
    ybj.wait_for_url("**/sharing/supervision")
    expect(ybj.get_by_text("待处理")).to_be_visible()
    # ... and the provider answers it with the version that carries the correction.
    gaj.goto(site + "/sharing/supervision")
    gaj.get_by_label("更正所在版本（不予更正则留空）").fill("0")
    gaj.get_by_label("处理意见").fill("已核实更正")
    gaj.locator("form[action^='/sharing/objections/']").get_by_role("button", name="答复").click()
    gaj.wait_for_url("**/sharing/supervision")
    expect(gaj.get_by_text("已更正")).to_be_visible()
    gaj.screenshot(path=f"{shots}/sharing-supervision.png", full_page=True)
    browser.close()
print("ok")
"##;

#[tokio::test]
async fn departments_apply_approve_and_call_an_interface_in_chromium() {
    if !browser_ready() {
        return;
    }
    let app = spawn_app().await;
    let (entry_id, table, _) = crate::exchange::provider_table(&app).await;
    run_script(SHARING, vec![format!("http://{}", app.addr), entry_id.to_string(), table, SHOTS.into()]).await;
}

const PROJECTS: &str = r##"
import sys, os, tempfile
from playwright.sync_api import sync_playwright, expect
site, shots = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp()
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
    # A department proposes a project from the portfolio page ...
    gaj = sign_in(browser, "officer.gaj", "Officer@2026")
    gaj.goto(site + "/projects")
    gaj.get_by_text("申报新项目").click()
    gaj.get_by_label("项目名称").fill("雪亮工程视频共享平台")
    gaj.get_by_label("预算（元）").fill("３,２００,０００")
    gaj.get_by_label("资金来源").fill("市级财政资金")
    gaj.get_by_label("建设目标").fill("汇聚公共视频资源，按需共享")
    gaj.get_by_label("拟建系统（每行一个）").fill("视频共享服务系统")
    gaj.get_by_role("button", name="申报", exact=True).click()
    expect(gaj.get_by_text("项目已申报")).to_be_visible()
    expect(gaj.locator("#gates")).to_contain_text("documents.proposal")
    # ... attaches its proposal (the page's script uploads the file) ...
    doc = os.path.join(work, "雪亮工程申报书.pdf")
    open(doc, "wb").write(b"%PDF-1.4 proposal")
    gaj.locator("#attach").get_by_label("文档类型").select_option("proposal")
    gaj.locator("#attach").get_by_label("文件").set_input_files(doc)
    gaj.get_by_role("button", name="上传到本阶段").click()
    expect(gaj.get_by_text("文档已上传")).to_be_visible()
    expect(gaj.locator("#documents")).to_contain_text("雪亮工程申报书.pdf")
    # ... registers that it uses no shared data, with the reason, and submits.
    gaj.locator("#data").get_by_label("不使用共享数据的理由").fill("视频由本部门采集")
    gaj.get_by_role("button", name="保存登记").click()
    expect(gaj.get_by_text("数据共享登记已保存")).to_be_visible()
    gaj.locator("#step").get_by_label("办理事项").select_option("submit")
    gaj.get_by_role("button", name="办理", exact=True).click()
    expect(gaj.get_by_text("已办理")).to_be_visible()
    expect(gaj.locator("#stage")).to_have_text("专家评审")
    gaj.screenshot(path=f"{shots}/project.png", full_page=True)
    # The bureau imports a messy spreadsheet of systems and reads the report of refused rows.
    admin = sign_in(browser, "admin", "Admin@2026")
    admin.goto(site + "/systems")
    sheet = os.path.join(work, "系统清单.csv")
    open(sheet, "w", encoding="gbk").write("系统名称,系统类型,主管部门,年运维费用（万元）\n"
        "临沂公安政务微博,政务微博,临沂市公安局,１.５\n殡葬管理系统,飞船,临沂市民政局,3\n")
    admin.locator("#import").get_by_label("导入系统清单（XLSX 或 CSV）").set_input_files(sheet)
    admin.get_by_role("button", name="导入", exact=True).click()
    report = admin.locator("#import-report")
    expect(report).to_contain_text("登记 1 个系统，未导入 1 行")
    expect(report).to_contain_text("第 3 行")
    admin.screenshot(path=f"{shots}/systems-import.png", full_page=True)
    admin.get_by_role("link", name="刷新清单").click()
    expect(admin.locator("#systems")).to_contain_text("临沂公安政务微博")
    browser.close()
print("ok")
"##;

#[tokio::test]
async fn a_department_proposes_attaches_and_submits_and_the_bureau_imports_systems_in_chromium() {
    if !browser_ready() {
        return;
    }
    let app = spawn_app().await;
    run_script(PROJECTS, vec![format!("http://{}", app.addr), SHOTS.into()]).await;
}
